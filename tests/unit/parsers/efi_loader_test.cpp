// natsume.efi's pure parts: the loader file, the multiboot2 block it writes
// (read back by the hypervisor's own parser) and the memory map it hands over.
#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "hypervisor/efi/info_builder.hpp"
#include "hypervisor/efi/loader_config.hpp"
#include "hypervisor/efi/memory_map.hpp"
#include "hypervisor/lib/multiboot2.hpp"

using namespace natsume;

namespace {

struct Parsed {
    bool ok;
    efi::LoaderConfig cfg;
    efi::ConfigError err;
};

Parsed parse(const std::string& text) {
    static Parsed p;  // large: keep it off the stack
    p.ok = efi::parse_loader_config(text.data(), text.size(), p.cfg, p.err);
    return p;
}

void refused(const std::string& text, unsigned line, const std::string& words) {
    const Parsed& p = parse(text);
    INFO(text);
    REQUIRE_FALSE(p.ok);
    CHECK(p.err.line == line);
    CHECK_THAT(std::string(p.err.text), Catch::Contains(words));
}

struct Descriptor {
    uint32_t type;
    uint64_t base, pages, attribute;
};

std::vector<uint8_t> efi_map(const std::vector<Descriptor>& ds, size_t dsize = 48) {
    // Room for a whole descriptor even when dsize claims less (the refusal case).
    std::vector<uint8_t> m(ds.size() * dsize + 48, 0xcc);
    for (size_t i = 0; i < ds.size(); ++i) {
        uint8_t* d = m.data() + i * dsize;
        std::memcpy(d, &ds[i].type, 4);
        std::memcpy(d + 8, &ds[i].base, 8);
        std::memcpy(d + 24, &ds[i].pages, 8);
        std::memcpy(d + 32, &ds[i].attribute, 8);
    }
    return m;
}

struct Translated {
    efi::MapError error;
    std::vector<mb2::MemoryRange> ranges;
};

Translated translate(const std::vector<Descriptor>& ds, const std::vector<efi::Span>& keep, size_t out_cap = 128,
                     size_t dsize = 48) {
    auto m = efi_map(ds, dsize);
    std::vector<mb2::MemoryRange> scratch(512), out(out_cap);
    size_t n        = 0;
    efi::MapError e = efi::translate(m.data(), ds.size() * dsize, dsize, keep.data(), keep.size(), scratch.data(),
                                     scratch.size(), out.data(), out.size(), n);
    out.resize(n);
    return {e, out};
}

}  // namespace

TEST_CASE("efi loader file: the three directives, comments, CRLF and both separators") {
    const Parsed& p = parse(
        "# natsume.efi\r\n"
        "hypervisor /natsume/natsume.elf\r\n"
        "\n"
        "  cmdline   acpi-dump console=x  \n"
        "module \\natsume\\natsume-config.bin natsume-config\n"
        "module /natsume/rt0.elf rt0 a=1 b=2\n");
    REQUIRE(p.ok);
    CHECK(std::string(p.cfg.hypervisor) == "\\natsume\\natsume.elf");
    CHECK(std::string(p.cfg.cmdline) == "acpi-dump console=x");
    REQUIRE(p.cfg.module_count == 2);
    CHECK(std::string(p.cfg.modules[0].path) == "\\natsume\\natsume-config.bin");
    CHECK(std::string(p.cfg.modules[0].cmdline) == "natsume-config");
    CHECK(p.cfg.modules[0].line == 5);
    CHECK(std::string(p.cfg.modules[1].cmdline) == "rt0 a=1 b=2");
    CHECK(p.cfg.modules[1].line == 6);
}

TEST_CASE("efi loader file: every mistake is refused with its line") {
    refused("", 0, "no 'hypervisor PATH' line");
    refused("# only a comment\n", 0, "no 'hypervisor PATH' line");
    refused("hypervisor /a.elf\nhypervisor /b.elf\n", 2, "a second 'hypervisor' line");
    refused("hypervisor /a.elf\ncmdline x\ncmdline y\n", 3, "a second 'cmdline' line");
    refused("hypervisor /a.elf\ninitrd /x\n", 2, "unknown directive 'initrd'");
    refused("hypervisor a.elf\n", 1, "the path 'a.elf' is not absolute");
    refused("hypervisor\n", 1, "a path is missing");
    refused("hypervisor /a.elf extra\n", 1, "words after the hypervisor's path");
    refused("hypervisor /a.elf\nmodule /m.bin\n", 2, "the module has no name");
    refused("hypervisor /a.elf\nmodule\n", 2, "a path is missing");
    refused("hypervisor /a.elf\n" + std::string("module /") + std::string(300, 'p') + " x\n", 2, "path is too long");
    refused("hypervisor /a.elf\ncmdline " + std::string(1100, 'c') + "\n", 2, "command line is too long");
    refused(std::string("hypervisor /a.elf\n\0\n", 20), 2, "a NUL byte");
    std::string many = "hypervisor /a.elf\n";
    for (int i = 0; i < 33; ++i) many += "module /m" + std::to_string(i) + " m" + std::to_string(i) + "\n";
    refused(many, 34, "more than 32 modules");
    refused(std::string(70 * 1024, '#'), 0, "larger than 64 KiB");
}

TEST_CASE("efi boot information: what the builder writes, the hypervisor's parser reads") {
    alignas(8) uint8_t buf[4096];
    efi::InfoBuilder b(buf, sizeof buf);
    b.string(mb2::TAG_CMDLINE, "acpi-dump");
    b.string(mb2::TAG_BOOTLOADER_NAME, "natsume.efi");
    b.module(0x7d0000, 0x7d0510, "natsume-config");
    b.module(0x1d6ac000, 0x1d78e400, "guest-kernel x=1");
    const mb2::MemoryRange ranges[] = {{0, 0xa0000, mb2::MEMORY_AVAILABLE},
                                       {0x200000, 0x5d1000, mb2::MEMORY_RESERVED},
                                       {0x1f77e000, 0x80000, mb2::MEMORY_ACPI_RECLAIMABLE}};
    b.memory_map(ranges, 3);
    b.efi64_system_table(0x1f9ee018);
    uint8_t rsdp_v2[36] = {'R', 'S', 'D', ' ', 'P', 'T', 'R', ' '};
    rsdp_v2[15]         = 2;
    b.rsdp(mb2::TAG_ACPI_NEW, rsdp_v2, sizeof rsdp_v2);
    const size_t n = b.finish();
    REQUIRE(n > 0);
    REQUIRE(n % 8 == 0);

    mb2::Info info;
    REQUIRE(mb2::parse(buf, n, info) == mb2::Error::Ok);
    CHECK(info.info_size == n);
    CHECK(std::string(info.cmdline) == "acpi-dump");
    CHECK(std::string(info.bootloader_name) == "natsume.efi");
    REQUIRE(info.module_count == 2);
    CHECK(info.modules[1].start == 0x1d6ac000);
    CHECK(info.modules[1].end == 0x1d78e400);
    CHECK(std::string(mb2::module_args(info.modules[1])) == "x=1");
    REQUIRE(mb2::find_module(info, "natsume-config") != nullptr);
    REQUIRE(info.memory_count == 3);
    CHECK(info.memory[1].base == 0x200000);
    CHECK(info.memory[1].type == mb2::MEMORY_RESERVED);
    CHECK(info.memory[2].type == mb2::MEMORY_ACPI_RECLAIMABLE);
    CHECK(info.efi64_system_table == 0x1f9ee018);
    REQUIRE(info.rsdp_v2 != nullptr);
    CHECK(info.rsdp_v2_len == 36);
    CHECK(info.rsdp_v1 == nullptr);
}

TEST_CASE("efi boot information: a block that does not fit is refused, never cut") {
    alignas(8) uint8_t buf[64];
    efi::InfoBuilder b(buf, sizeof buf);
    b.string(mb2::TAG_CMDLINE, std::string(40, 'x').c_str());
    b.module(1, 2, "this module line does not fit");
    CHECK(b.finish() == 0);
    efi::InfoBuilder tiny(buf, 4);
    CHECK(tiny.finish() == 0);
}

TEST_CASE("efi memory map: types translated, neighbours merged, sorted") {
    using namespace efi;
    auto t = translate({{EFI_BOOT_SERVICES_DATA, 0x100000, 0x100, 0},
                        {EFI_CONVENTIONAL, 0, 0xa0, 0},
                        {EFI_CONVENTIONAL, 0x200000, 0x100, 0},
                        {EFI_LOADER_CODE, 0x300000, 0x10, 0},
                        {EFI_ACPI_RECLAIM, 0x310000, 0x10, 0},
                        {EFI_ACPI_NVS, 0x320000, 0x10, 0},
                        {EFI_RUNTIME_DATA, 0x330000, 0x10, 0},
                        {EFI_UNUSABLE, 0x340000, 0x10, 0},
                        {EFI_CONVENTIONAL, 0x350000, 0x10, EFI_MEMORY_SP},
                        {EFI_MAPPED_IO, 0xfec00000, 1, 0}},
                       {});
    REQUIRE(t.error == MapError::Ok);
    REQUIRE(t.ranges.size() == 8);
    CHECK(t.ranges[0].base == 0);
    CHECK(t.ranges[0].type == mb2::MEMORY_AVAILABLE);
    CHECK(t.ranges[1].base == 0x100000);  // boot services data + conventional + loader code merged
    CHECK(t.ranges[1].length == 0x210000);
    CHECK(t.ranges[1].type == mb2::MEMORY_AVAILABLE);
    CHECK(t.ranges[2].type == mb2::MEMORY_ACPI_RECLAIMABLE);
    CHECK(t.ranges[3].type == mb2::MEMORY_NVS);
    CHECK(t.ranges[4].type == mb2::MEMORY_RESERVED);  // runtime services data
    CHECK(t.ranges[5].type == mb2::MEMORY_BAD);
    CHECK(t.ranges[6].type == mb2::MEMORY_RESERVED);  // specific-purpose memory is not general RAM
    CHECK(t.ranges[7].base == 0xfec00000);
    CHECK(t.ranges[7].type == mb2::MEMORY_RESERVED);
}

TEST_CASE("efi memory map: the loader's allocations are cut out as reserved") {
    using namespace efi;
    auto t = translate({{EFI_CONVENTIONAL, 0x100000, 0x1000, 0}},
                       {{0x200000, 0x5d1000}, {0x7d1000, 0x1000}, {0x800000, 0x10000}});
    REQUIRE(t.error == MapError::Ok);
    REQUIRE(t.ranges.size() == 5);
    const uint64_t expect[][3] = {{0x100000, 0x100000, mb2::MEMORY_AVAILABLE},
                                  {0x200000, 0x5d2000, mb2::MEMORY_RESERVED},  // image and the module after it
                                  {0x7d2000, 0x2e000, mb2::MEMORY_AVAILABLE},
                                  {0x800000, 0x10000, mb2::MEMORY_RESERVED},
                                  {0x810000, 0x8f0000, mb2::MEMORY_AVAILABLE}};
    for (size_t i = 0; i < 5; ++i) {
        INFO(i);
        CHECK(t.ranges[i].base == expect[i][0]);
        CHECK(t.ranges[i].length == expect[i][1]);
        CHECK(t.ranges[i].type == expect[i][2]);
    }
    // An empty span (an empty module rounded to nothing) cuts nothing and leaves no empty range.
    auto empty = translate({{EFI_CONVENTIONAL, 0x100000, 0x100, 0}}, {{0x180000, 0}});
    REQUIRE(empty.ranges.size() == 1);
    CHECK(empty.ranges[0].length == 0x100000);
    CHECK(empty.ranges[0].type == mb2::MEMORY_AVAILABLE);
    // An allocation at a range's edge leaves no empty piece.
    auto edge = translate({{EFI_LOADER_DATA, 0x200000, 0x10, 0}}, {{0x200000, 0x10000}});
    REQUIRE(edge.ranges.size() == 1);
    CHECK(edge.ranges[0].type == mb2::MEMORY_RESERVED);
}

TEST_CASE("efi memory map: malformed or oversized maps are refused") {
    using namespace efi;
    CHECK(translate({{EFI_CONVENTIONAL, 0, 1, 0}}, {}, 128, 32).error == MapError::BadDescriptorSize);
    CHECK(translate({{EFI_CONVENTIONAL, 0xfffffffffffff000ull, 2, 0}}, {}).error == MapError::RangeOverflow);
    std::vector<Descriptor> alternating;
    for (uint64_t i = 0; i < 200; ++i)
        alternating.push_back({i % 2 ? EFI_CONVENTIONAL : EFI_RUNTIME_DATA, i * 0x1000, 1, 0});
    CHECK(translate(alternating, {}).error == MapError::TooManyRanges);
    // Descriptors larger than the structure (firmware may extend it) are stepped over.
    auto wide = translate({{EFI_CONVENTIONAL, 0, 0x10, 0}, {EFI_ACPI_NVS, 0x10000, 1, 0}}, {}, 128, 64);
    REQUIRE(wide.error == MapError::Ok);
    CHECK(wide.ranges.size() == 2);
}
