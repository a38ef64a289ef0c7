#include <catch2/catch.hpp>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <string>

#include "blob_fixture.hpp"
#include "common/config/validate.hpp"

using natsume::config::Report;
using natsume::config::validate_blob;
using natsume::test::Blob;

namespace {

std::string run(Blob& b, size_t size) {
    Report r;
    bool ok = validate_blob(b.bytes(), size, r);
    return ok ? std::string("OK") : std::string(r.text);
}

std::string run(Blob& b) { return run(b, b.size); }

// A Linux partition (64 MiB of RAM, the minimum) on `cores`.
void make_linux(natsume_config_partition& p, std::initializer_list<uint32_t> cores) {
    p.kind       = NATSUME_KIND_LINUX;
    p.ram_size   = NATSUME_LINUX_RAM_MIN;
    p.core_count = 0;
    for (uint32_t c : cores) p.cores[p.core_count++] = c;
}

struct Corruption {
    const char* what;
    std::function<void(Blob&)> edit;
    bool reseal;           // fix the CRC afterwards so the edited field is what fails
    const char* expected;  // fragment of the report
};

}  // namespace

TEST_CASE("validate_blob accepts well-formed blobs", "[config][validate]") {
    for (uint32_t n : {1u, 2u, NATSUME_CONFIG_MAX_PARTITIONS}) {
        Blob b(n);
        INFO(n << " partitions");
        CHECK(run(b) == "OK");
    }
    Blob b;
    CHECK(run(b, b.size + 100) == "OK");  // trailing bytes are ignored
}

TEST_CASE("validate_blob rejects every kind of corruption", "[config][validate]") {
    const Corruption cases[] = {
        {"bad magic", [](Blob& b) { b.header().magic ^= 1; }, true, "this is not a compiled partition file"},
        {"version", [](Blob& b) { b.header().version = 1; }, true, "version is 1 but this build reads version 4"},
        {"header size", [](Blob& b) { b.header().header_size = 60; }, true, "header_size is 60, expected 72"},
        {"partition size", [](Blob& b) { b.header().partition_size = 1; }, true, "partition_size is 1, expected 632"},
        {"no partitions", [](Blob& b) { b.header().partition_count = 0; }, true, "partition_count is 0"},
        {"too many partitions", [](Blob& b) { b.header().partition_count = 17; }, true, "partition_count is 17"},
        {"total size", [](Blob& b) { b.header().total_size += 4; }, true,
         "total_size is 1340 but the header, 2 partitions and 0 channels"},
        {"crc", [](Blob& b) { b.part(1).cmdline[0] = 'X'; }, false, "the file is corrupt"},
        {"machine name unterminated", [](Blob& b) { std::memset(b.header().name, 'a', 32); }, true,
         "machine name is not NUL-terminated"},
        {"machine name empty", [](Blob& b) { b.header().name[0] = 0; }, true, "machine name is empty"},
        {"name unterminated", [](Blob& b) { std::memset(b.part(1).name, 'a', 32); }, true,
         "partition 1: name is not NUL-terminated within 32 bytes"},
        {"name empty", [](Blob& b) { b.part(0).name[0] = 0; }, true, "partition 0: name is empty"},
        {"name charset", [](Blob& b) { b.part(1).name[0] = 'G'; }, true,
         "partition 1: name has the character code 71 at offset 0; use only a-z"},
        {"duplicate name", [](Blob& b) { std::strcpy(b.part(1).name, "rt0"); }, true,
         "partition 'rt0': the name is used by two partitions"},
        {"image unterminated", [](Blob& b) { std::memset(b.part(0).image, 'x', 64); }, true,
         "partition 'rt0': image is not NUL-terminated within 64 bytes"},
        {"image empty", [](Blob& b) { b.part(1).image[0] = 0; }, true, "partition 'gp0': image is empty"},
        {"cmdline unterminated", [](Blob& b) { std::memset(b.part(0).cmdline, 'x', 256); }, true,
         "partition 'rt0': cmdline is not NUL-terminated within 256 bytes"},
        {"no core",
         [](Blob& b) {
             b.part(0).core_count = 0;
             b.part(0).cores[0]   = 0;
         },
         true, "partition 'rt0': has no core; give it at least one core"},
        {"multi-core kernel",
         [](Blob& b) {
             b.part(0).core_count = 2;
             b.part(0).cores[1]   = 3;
         },
         true,
         "partition 'rt0': has 2 cores, but the project's kernel runs on one core; multi-core partitions are for kind "
         "= \"linux\", give this one exactly one core"},
        {"linux core twice",
         [](Blob& b) {
             make_linux(b.part(1), {2, 3, 2});
         },
         true, "partition 'gp0': core 2 is listed twice; list each core once"},
        {"linux core count over format",
         [](Blob& b) {
             make_linux(b.part(1), {2, 3});
             b.part(1).core_count = NATSUME_CONFIG_MAX_CORES + 1;
         },
         true, "partition 'gp0': core_count is 9, more than the 8 slots of the file format"},
        {"linux unused core slot",
         [](Blob& b) {
             make_linux(b.part(1), {2, 3});
             b.part(1).cores[2] = 4;
         },
         true, "partition 'gp0': unused core slot 2 holds 4, must be 0"},
        {"linux apic id",
         [](Blob& b) {
             make_linux(b.part(1), {2, 256});
         },
         true, "partition 'gp0': core 256 is not a valid local APIC ID"},
        {"linux second core shared",
         [](Blob& b) {
             make_linux(b.part(1), {2, 1});
         },
         true, "partition 'gp0': core 1 is also given to partition 'rt0'; a core belongs to one partition only"},
        {"core of a linux partition's second slot shared",
         [](Blob& b) {
             make_linux(b.part(0), {1, 2});
             b.part(0).ram_base = 0x08000000;  // rt0 [1, 2] at 0x8000000, gp0 [2] at 0x6000000
         },
         true, "partition 'gp0': core 2 is also given to partition 'rt0'"},
        {"core count over format", [](Blob& b) { b.part(0).core_count = 9; }, true, "core_count is 9"},
        {"apic id", [](Blob& b) { b.part(1).cores[0] = 256; }, true,
         "partition 'gp0': core 256 is not a valid local APIC ID"},
        {"unused core slot", [](Blob& b) { b.part(1).cores[5] = 4; }, true, "unused core slot 5 holds 4, must be 0"},
        {"shared core", [](Blob& b) { b.part(1).cores[0] = 1; }, true,
         "partition 'gp0': core 1 is also given to partition 'rt0'"},
        {"ram base misaligned", [](Blob& b) { b.part(0).ram_base = 0x4100000; }, true,
         "partition 'rt0': ram base 0x4100000 is not 2 MiB aligned; use 0x4000000 or 0x4200000"},
        {"ram size misaligned", [](Blob& b) { b.part(1).ram_size = 0x2100000; }, true,
         "ram size 0x2100000 is not a multiple of 2 MiB; use 0x2000000 or 0x2200000"},
        {"ram too small", [](Blob& b) { b.part(1).ram_size = 0x200000; }, true,
         "ram size 0x200000 is below the minimum of 4 MiB"},
        {"ram zero", [](Blob& b) { b.part(1).ram_size = 0; }, true, "ram size 0x0 is below the minimum"},
        {"ram wraps", [](Blob& b) { b.part(1).ram_base = 0xffffffffffe00000ull; }, true,
         "runs past the end of the address space"},
        {"ram overlap", [](Blob& b) { b.part(1).ram_base = 0x5000000; }, true,
         "partition 'gp0': ram 0x5000000+0x2000000 overlaps partition 'rt0' (0x4000000+0x2000000)"},
        {"lapic unknown", [](Blob& b) { b.part(0).lapic_mode = 0; }, true, "lapic mode 0 is unknown"},
        {"flags", [](Blob& b) { b.part(1).flags = 0xc; }, true,
         "partition 'gp0': flags is 0xc; only 0x1 (share SMT siblings), 0x2 (unisolated DMA) and 0x4 (L1D flush) are "
         "defined"},
        {"kind unknown", [](Blob& b) { b.part(1).kind = 8; }, true,
         "partition 'gp0': kind is 8; only 0 (natsume) and 1 (linux) are defined"},
        {"linux ram", [](Blob& b) { b.part(1).kind = NATSUME_KIND_LINUX; }, true,
         "partition 'gp0': is a Linux partition with 32 MiB of RAM; Linux needs at least 64 MiB"},
        {"initramfs for an elf guest", [](Blob& b) { std::memcpy(b.part(1).initramfs, "initrd", 7); }, true,
         "partition 'gp0': names an initramfs, but only a Linux partition (kind linux) boots one"},
        {"initramfs unterminated",
         [](Blob& b) {
             b.part(1).kind = NATSUME_KIND_LINUX;
             std::memset(b.part(1).initramfs, 'x', sizeof b.part(1).initramfs);
         },
         true, "partition 'gp0': initramfs is not NUL-terminated within 64 bytes"},
        // DMA windows.
        {"dma base without size", [](Blob& b) { b.part(0).dma_base = 0x8000000; }, true,
         "partition 'rt0': dma window has base 0x8000000 but size 0; give both or neither"},
        {"dma base misaligned",
         [](Blob& b) {
             b.part(0).dma_base = 0x8100000;
             b.part(0).dma_size = 0x800000;
         },
         true, "partition 'rt0': dma base 0x8100000 is not 2 MiB aligned; use 0x8000000 or 0x8200000"},
        {"dma size misaligned",
         [](Blob& b) {
             b.part(0).dma_base = 0x8000000;
             b.part(0).dma_size = 0x1000;
         },
         true, "partition 'rt0': dma size 0x1000 is not a multiple of 2 MiB; use 0x200000"},
        {"dma wraps",
         [](Blob& b) {
             b.part(0).dma_base = 0xffffffffffe00000ull;
             b.part(0).dma_size = 0x400000;
         },
         true, "dma window 0xffffffffffe00000+0x400000 runs past the end of the address space"},
        {"dma inside guest ram",
         [](Blob& b) {
             b.part(0).dma_base = 0x1000000;
             b.part(0).dma_size = 0x200000;
         },
         true,
         "partition 'rt0': dma window 0x1000000+0x200000 starts inside the guest RAM (0x0+0x2000000): the window "
         "appears at its host address, put it at or above 0x2000000"},
        {"dma over own ram",
         [](Blob& b) {
             b.part(0).dma_base = 0x4000000;
             b.part(0).dma_size = 0x200000;
         },
         true, "partition 'rt0': dma window 0x4000000+0x200000 overlaps its own ram 0x4000000+0x2000000"},
        {"dma over other ram",
         [](Blob& b) {
             b.part(1).dma_base = 0x5e00000;
             b.part(1).dma_size = 0x200000;
         },
         true,
         "partition 'gp0': dma window 0x5e00000+0x200000 overlaps the ram of partition 'rt0' (0x4000000+0x2000000)"},
        {"ram over other dma",
         [](Blob& b) {
             b.part(0).dma_base = 0x6000000;
             b.part(0).dma_size = 0x200000;
         },
         true,
         "partition 'gp0': ram 0x6000000+0x2000000 overlaps the dma window of partition 'rt0' (0x6000000+0x200000)"},
        {"dma over dma",
         [](Blob& b) {
             b.part(0).dma_base = 0x8000000;
             b.part(0).dma_size = 0x800000;
             b.part(1).dma_base = 0x8600000;
             b.part(1).dma_size = 0x800000;
         },
         true,
         "partition 'gp0': dma window 0x8600000+0x800000 overlaps the dma window of partition 'rt0' "
         "(0x8000000+0x800000)"},
        // Devices.
        {"device count", [](Blob& b) { b.part(1).device_count = 9; }, true,
         "partition 'gp0': device_count is 9, more than the 8 slots of the file format"},
        {"reserved2", [](Blob& b) { b.part(1).reserved2 = 2; }, true, "partition 'gp0': reserved2 field is 0x2"},
        {"device flags", [](Blob& b) { b.add_device(0, NATSUME_BDF(0, 2, 0)).flags = 6; }, true,
         "partition 'rt0': device 00:02.0 has flags 0x6; only 0x1 (no DMA) and 0x2 (IDE secondary channel) are "
         "defined"},
        {"IDE channel outside Linux",
         [](Blob& b) { b.add_device(0, NATSUME_BDF(0, 1, 1)).flags = NATSUME_DEVICE_IDE_SECONDARY; }, true,
         "partition 'rt0': device 00:01.1 names an IDE channel for Linux, but the partition is not kind linux"},
        {"device reserved", [](Blob& b) { b.add_device(0, NATSUME_BDF(0, 2, 0)).reserved = 1; }, true,
         "partition 'rt0': device 00:02.0: reserved field is 0x1, must be 0"},
        {"vendor without device",
         [](Blob& b) { b.add_device(1, NATSUME_BDF(0x1a, 0x1f, 7), NATSUME_GSI_AUTO, 0x8086); }, true,
         "partition 'gp0': device 1a:1f.7 expects id 8086:ffff; give vendor and device together"},
        {"gsi range", [](Blob& b) { b.add_device(0, NATSUME_BDF(0, 2, 0), 256); }, true,
         "partition 'rt0': device 00:02.0: INTx GSI 256 is out of range (0 to 255, or automatic)"},
        {"device twice in one partition",
         [](Blob& b) {
             b.add_device(0, NATSUME_BDF(0, 2, 0));
             b.add_device(0, NATSUME_BDF(0, 2, 0));
         },
         true, "partition 'rt0': device 00:02.0 is given twice"},
        {"unused device slot", [](Blob& b) { b.part(0).devices[3].intx_gsi = 1; }, true,
         "partition 'rt0': unused device slot 3 is not zero"},
        {"device in two partitions",
         [](Blob& b) {
             b.add_device(0, NATSUME_BDF(0, 3, 0));
             b.add_device(1, NATSUME_BDF(0, 4, 0));
             b.add_device(1, NATSUME_BDF(0, 3, 0));
         },
         true, "device 00:03.0 is given to both 'rt0' and 'gp0': a device belongs to one partition"},
    };
    for (const auto& c : cases) {
        Blob b;
        c.edit(b);
        if (c.reseal) b.seal();
        INFO(c.what);
        std::string got = run(b);
        CHECK_THAT(got, Catch::Contains(c.expected));
    }
}

TEST_CASE("validate_blob accepts a Linux partition of 1 to 8 cores", "[config][validate][smp]") {
    Blob two;
    make_linux(two.part(1), {2, 3});
    two.seal();
    CHECK(run(two) == "OK");
    Blob eight;
    make_linux(eight.part(1), {9, 2, 3, 4, 5, 6, 7, 8});
    eight.seal();
    CHECK(run(eight) == "OK");
    Blob one;
    make_linux(one.part(1), {2});
    one.seal();
    CHECK(run(one) == "OK");
}

TEST_CASE("validate_blob accepts both LAPIC modes", "[config][validate]") {
    Blob b;
    b.part(0).lapic_mode = NATSUME_LAPIC_TRAPPED;
    b.seal();
    CHECK(run(b) == "OK");
}

TEST_CASE("validate_blob accepts devices and DMA windows", "[config][validate]") {
    Blob b;
    b.part(0).dma_base = 0x8000000;
    b.part(0).dma_size = 0x800000;
    b.part(1).dma_base = 0x8800000;  // adjacent windows do not overlap
    b.part(1).dma_size = 0x800000;
    b.add_device(0, NATSUME_BDF(0, 2, 0), NATSUME_GSI_AUTO, 0x8086, 0x100e);
    b.add_device(1, NATSUME_BDF(0, 3, 0), 11, NATSUME_DEVICE_ANY_ID, NATSUME_DEVICE_ANY_ID, NATSUME_DEVICE_NO_DMA);
    b.add_device(1, NATSUME_BDF(0xff, 31, 7), 255);  // the highest BDF and GSI
    for (uint16_t dev = 8; dev < 8 + NATSUME_CONFIG_MAX_DEVICES - 1; ++dev)
        b.add_device(0, NATSUME_BDF(1, dev, 0), 11);  // a full partition, and GSIs may be shared
    b.seal();
    CHECK(b.part(0).device_count == NATSUME_CONFIG_MAX_DEVICES);
    CHECK(run(b) == "OK");
}

TEST_CASE("validate_blob rejects short, truncated and misaligned buffers", "[config][validate]") {
    Blob b;
    CHECK_THAT(run(b, 10), Catch::Contains("10 bytes, smaller than its 72-byte header"));
    CHECK_THAT(run(b, b.size - 1),
               Catch::Contains("total_size is 1336 but only 1335 bytes were loaded; the file is truncated"));

    std::vector<uint64_t> storage(b.words.size() + 1);
    auto* shifted = reinterpret_cast<uint8_t*>(storage.data()) + 4;
    std::memcpy(shifted, b.bytes(), b.size);
    Report r;
    CHECK_FALSE(validate_blob(shifted, b.size, r));
    CHECK_THAT(std::string(r.text), Catch::Contains("not 8-byte aligned"));
}

TEST_CASE("validate_blob reports a message that fits and ends", "[config][validate]") {
    Blob b;
    b.part(1).ram_base = 0xfffffffffc000000ull;
    b.part(1).ram_size = 0x4000000;
    b.part(0).ram_base = 0xfffffffffa000000ull;
    b.part(0).ram_size = 0x4000000;
    b.seal();
    Report r;
    CHECK_FALSE(validate_blob(b.bytes(), b.size, r));
    std::string s(r.text);
    CHECK(s.size() < sizeof r.text);
    CHECK_THAT(s, Catch::Contains("overlaps partition 'rt0' (0xfffffffffa000000+0x4000000)"));
}

TEST_CASE("validate_blob accepts channels between two partitions", "[config][validate][channel]") {
    for (uint32_t n : {1u, 2u, 8u}) {
        Blob b(2, n);
        INFO(n << " channels");
        CHECK(run(b) == "OK");
    }
    Blob dma(2, 1);
    dma.chan(0).flags = NATSUME_CHANNEL_BACKEND_DMA;
    dma.seal();
    CHECK(run(dma) == "OK");
}

TEST_CASE("validate_blob refuses every misplaced or malformed channel, naming it and the key",
          "[config][validate][channel]") {
    using natsume::config::ChannelField;
    struct ChannelCase {
        const char* what;
        std::function<void(Blob&)> edit;
        const char* expected;
        ChannelField field;
    };
    const ChannelCase cases[] = {
        {"empty name", [](Blob& b) { b.chan(1).name[0] = 0; }, "channel 1: name is empty", ChannelField::Name},
        {"name charset", [](Blob& b) { b.chan(1).name[0] = 'V'; }, "channel 1: name may contain only",
         ChannelField::Name},
        {"duplicate name", [](Blob& b) { std::strcpy(b.chan(1).name, "vif0"); }, "used by two channels",
         ChannelField::Name},
        {"unknown flag", [](Blob& b) { b.chan(0).flags = 0x80; }, "channel 'vif0': flags 0x80 has unknown bits",
         ChannelField::Memory},
        {"size 0", [](Blob& b) { b.chan(0).size = 0; }, "size is 0; a channel is at least 2 MiB", ChannelField::Memory},
        {"base misaligned", [](Blob& b) { b.chan(0).base += 0x1000; }, "base 0xa001000 is not 2 MiB aligned",
         ChannelField::Memory},
        {"size misaligned", [](Blob& b) { b.chan(0).size = 0x201000; }, "size 0x201000 is not a multiple of 2 MiB",
         ChannelField::Memory},
        {"no such partition", [](Blob& b) { b.chan(0).ends[NATSUME_CHANNEL_BACKEND].partition = 2; },
         "channel 'vif0': backend is partition 2, but the file has 2 partitions", ChannelField::Backend},
        {"end reserved", [](Blob& b) { b.chan(0).ends[0].reserved = 1; }, "frontend has a reserved field",
         ChannelField::Frontend},
        {"one partition", [](Blob& b) { b.chan(0).ends[NATSUME_CHANNEL_BACKEND].partition = 0; },
         "frontend and backend are both 'rt0'", ChannelField::Backend},
        {"gpa in RAM", [](Blob& b) { b.chan(0).ends[0].gpa = 0x01000000; },
         "frontend 'rt0' sees it at 0x1000000, inside its guest RAM", ChannelField::Frontend},
        {"gpa misaligned", [](Blob& b) { b.chan(0).ends[1].gpa = 0x40001000; },
         "backend 'gp0' sees it at 0x40001000, which is not 2 MiB aligned", ChannelField::Backend},
        {"gpa past the APIC window", [](Blob& b) { b.chan(0).ends[1].gpa = 0xFE000000; }, "past 0xfe000000",
         ChannelField::Backend},
        {"gpa over the dma window",
         [](Blob& b) {
             b.part(0).dma_base = 0x40000000;
             b.part(0).dma_size = 0x200000;
         },
         "frontend 'rt0' sees it at 0x40000000+0x200000, over its dma window", ChannelField::Frontend},
        {"memory over RAM", [](Blob& b) { b.chan(0).base = 0x05000000; }, "overlaps the ram of 'rt0'",
         ChannelField::Memory},
        {"memory over another channel", [](Blob& b) { b.chan(1).base = b.chan(0).base; }, "overlaps channel 'vif0'",
         ChannelField::Memory},
        {"seen twice at one address", [](Blob& b) { b.chan(1).ends[1].gpa = b.chan(0).ends[1].gpa; },
         "partition 'gp0' sees it at 0x40000000+0x200000, over channel 'vif0'", ChannelField::Backend},
    };
    for (const ChannelCase& c : cases) {
        Blob b(2, 2);
        c.edit(b);
        b.seal();
        INFO(c.what);
        Report r;
        REQUIRE_FALSE(validate_blob(b.bytes(), b.size, r));
        CHECK_THAT(std::string(r.text), Catch::Contains(c.expected));
        CHECK(r.field == c.field);
        CHECK(r.channel != natsume::config::NO_CHANNEL);
    }
}

TEST_CASE("validate_blob refuses a channel table of the wrong shape", "[config][validate][channel]") {
    Blob size(2, 1);
    size.header().channel_size = 80;
    size.seal();
    CHECK_THAT(run(size), Catch::Contains("channel_size is 80, expected 88"));
    Blob many(2, 1);
    many.header().channel_count = NATSUME_CONFIG_MAX_CHANNELS + 1;
    many.seal();
    CHECK_THAT(run(many), Catch::Contains("channel_count is 17"));
    Blob nine(2, 9);  // rt0 and gp0 are each a side of nine
    CHECK_THAT(run(nine), Catch::Contains("is a side of more than 8 channels"));
    Report r;
    Blob part(2, 0);
    part.part(1).name[0] = 0;
    part.seal();
    REQUIRE_FALSE(validate_blob(part.bytes(), part.size, r));
    CHECK(r.channel == natsume::config::NO_CHANNEL);  // a partition's refusal names no channel
}
