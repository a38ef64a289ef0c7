#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <string>

#include "bytes.hpp"
#include "hypervisor/lib/multiboot2.hpp"

using namespace natsume;
using test::append;
using test::Bytes;

namespace {

// Builds a multiboot2 information block the way GRUB lays it out.
struct Mb2Builder {
    Bytes b = Bytes(8, 0);

    void pad() {
        while (b.size() % 8 != 0) b.push_back(0);
    }
    Mb2Builder& tag(uint32_t type, const Bytes& payload, bool padded = true) {
        append<uint32_t>(b, type);
        append<uint32_t>(b, static_cast<uint32_t>(8 + payload.size()));
        b.insert(b.end(), payload.begin(), payload.end());
        if (padded) pad();
        return *this;
    }
    Mb2Builder& string_tag(uint32_t type, const std::string& s) {
        Bytes p;
        test::append_str(p, s);
        return tag(type, p);
    }
    Mb2Builder& module(uint32_t start, uint32_t end, const std::string& cmdline) {
        Bytes p;
        append<uint32_t>(p, start);
        append<uint32_t>(p, end);
        test::append_str(p, cmdline);
        return tag(3, p);
    }
    Mb2Builder& mmap(const std::vector<mb2::MemoryRange>& ranges, uint32_t entry_size = 24) {
        Bytes p;
        append<uint32_t>(p, entry_size);
        append<uint32_t>(p, 0);
        for (const auto& r : ranges) {
            const size_t at = p.size();
            append<uint64_t>(p, r.base);
            append<uint64_t>(p, r.length);
            append<uint32_t>(p, r.type);
            p.resize(at + entry_size, 0);
        }
        return tag(6, p);
    }
    Bytes finish(uint32_t end_size = 8) {
        append<uint32_t>(b, 0);
        append<uint32_t>(b, end_size);
        b.resize(b.size() + (end_size - 8), 0);
        test::put<uint32_t>(b, 0, static_cast<uint32_t>(b.size()));
        return b;
    }
};

Bytes rsdp_bytes(size_t n, uint8_t fill) { return Bytes(n, fill); }

Bytes full_block() {
    Mb2Builder m;
    m.string_tag(1, "console=com1 loglevel=3");
    m.string_tag(2, "GRUB 2.06");
    m.tag(4, [] {
        Bytes p;
        append<uint32_t>(p, 639);
        append<uint32_t>(p, 523264);
        return p;
    }());
    m.mmap({{0, 0x9FC00, 1}, {0x9FC00, 0x400, 2}, {0x100000, 0x1FF00000, 1}, {0xFEC00000, 0x1000, 2}});
    m.module(0x400000, 0x401000, "partitions.bin");
    m.module(0x500000, 0x580123, "rtos.elf prio=1  quiet");
    m.tag(99, Bytes{1, 2, 3, 4, 5});  // unknown tag, payload not a multiple of 8
    m.tag(14, rsdp_bytes(20, 0xA1));
    m.tag(15, rsdp_bytes(36, 0xB2));
    m.tag(12, [] {
        Bytes p;
        append<uint64_t>(p, 0x7F000000ull);
        return p;
    }());
    return m.finish();
}

mb2::Error parse_bytes(const Bytes& b, mb2::Info& info) { return mb2::parse(b.data(), b.size(), info); }

}  // namespace

TEST_CASE("mb2: a GRUB-like block parses into every field", "[mb2]") {
    const Bytes b = full_block();
    static mb2::Info info;
    REQUIRE(parse_bytes(b, info) == mb2::Error::Ok);
    CHECK(std::string(info.cmdline) == "console=com1 loglevel=3");
    CHECK(std::string(info.bootloader_name) == "GRUB 2.06");
    CHECK(info.has_basic_meminfo);
    CHECK(info.mem_lower_kib == 639);
    CHECK(info.mem_upper_kib == 523264);
    CHECK(info.info_size == b.size());
    REQUIRE(info.memory_count == 4);
    CHECK(info.memory[2].base == 0x100000);
    CHECK(info.memory[2].length == 0x1FF00000);
    CHECK(info.memory[2].type == mb2::MEMORY_AVAILABLE);
    CHECK(info.memory[3].type == mb2::MEMORY_RESERVED);
    REQUIRE(info.module_count == 2);
    CHECK(info.modules[1].start == 0x500000);
    CHECK(info.modules[1].end == 0x580123);
    REQUIRE(info.rsdp_v1 != nullptr);
    CHECK(info.rsdp_v1_len == 20);
    CHECK(info.rsdp_v1[0] == 0xA1);
    REQUIRE(info.rsdp_v2 != nullptr);
    CHECK(info.rsdp_v2_len == 36);
    CHECK(info.rsdp_v2[35] == 0xB2);
    CHECK(info.efi64_system_table == 0x7F000000ull);
    // Pointers lead into the block, not into copies.
    CHECK(reinterpret_cast<const uint8_t*>(info.cmdline) > b.data());
    CHECK(reinterpret_cast<const uint8_t*>(info.cmdline) < b.data() + b.size());
}

TEST_CASE("mb2: absent command line and name read as empty strings", "[mb2]") {
    const Bytes b = Mb2Builder{}.finish();
    CHECK(b.size() == 16);
    static mb2::Info info;
    REQUIRE(parse_bytes(b, info) == mb2::Error::Ok);
    REQUIRE(info.cmdline != nullptr);
    CHECK(info.cmdline[0] == '\0');
    REQUIRE(info.bootloader_name != nullptr);
    CHECK(info.module_count == 0);
    CHECK(info.memory_count == 0);
    CHECK(info.rsdp_v1 == nullptr);
    CHECK(info.rsdp_v2 == nullptr);
}

TEST_CASE("mb2: modules are found by the exact first word of their command line", "[mb2]") {
    const Bytes b = full_block();
    static mb2::Info info;
    REQUIRE(parse_bytes(b, info) == mb2::Error::Ok);
    const mb2::Module* rtos = mb2::find_module(info, "rtos.elf");
    REQUIRE(rtos == &info.modules[1]);
    CHECK(std::string(mb2::module_args(*rtos)) == "prio=1  quiet");
    const mb2::Module* parts = mb2::find_module(info, "partitions.bin");
    REQUIRE(parts == &info.modules[0]);
    CHECK(std::string(mb2::module_args(*parts)).empty());
    CHECK(mb2::find_module(info, "rtos") == nullptr);
    CHECK(mb2::find_module(info, "rtos.elf2") == nullptr);
    CHECK(mb2::find_module(info, "rtos.elf prio=1") == nullptr);
    CHECK(mb2::find_module(info, "") == nullptr);
    CHECK(mb2::find_module(info, nullptr) == nullptr);
}

TEST_CASE("mb2: the block header is checked against the buffer", "[mb2]") {
    Bytes b = full_block();
    static mb2::Info info;
    CHECK(mb2::parse(nullptr, 64, info) == mb2::Error::NullInfo);
    CHECK(mb2::parse(b.data(), 4, info) == mb2::Error::BufferTooSmall);
    CHECK(mb2::parse(b.data(), b.size() - 8, info) == mb2::Error::TotalSizeExceedsBuffer);
    Bytes small = b;
    test::put<uint32_t>(small, 0, 8);
    CHECK(parse_bytes(small, info) == mb2::Error::TotalSizeTooSmall);
}

TEST_CASE("mb2: a misaligned block or tag is rejected", "[mb2]") {
    const Bytes b = full_block();
    Bytes shifted(b.size() + 8);
    std::memcpy(shifted.data() + 4, b.data(), b.size());
    static mb2::Info info;
    CHECK(mb2::parse(shifted.data() + 4, b.size(), info) == mb2::Error::Misaligned);

    // A 13-byte tag followed by the end tag without padding: the parser looks
    // for the next tag at the aligned offset 24 and finds it cut off.
    Mb2Builder m;
    m.string_tag(1, "12345").b.resize(8 + 13);
    Bytes unpadded = m.b;
    append<uint32_t>(unpadded, 0);
    append<uint32_t>(unpadded, 8);
    test::put<uint32_t>(unpadded, 0, static_cast<uint32_t>(unpadded.size()));
    CHECK(parse_bytes(unpadded, info) == mb2::Error::TagHeaderTruncated);
}

TEST_CASE("mb2: the end tag must be present and exactly 8 bytes", "[mb2]") {
    static mb2::Info info;
    CHECK(parse_bytes(Mb2Builder{}.finish(16), info) == mb2::Error::BadEndTag);

    Mb2Builder m;
    m.string_tag(1, "x");
    Bytes no_end = m.b;
    test::put<uint32_t>(no_end, 0, static_cast<uint32_t>(no_end.size()));
    CHECK(parse_bytes(no_end, info) == mb2::Error::MissingEndTag);
}

TEST_CASE("mb2: tag sizes must fit between 8 and total_size", "[mb2]") {
    static mb2::Info info;
    Bytes b = full_block();
    // First tag (cmdline) at offset 8; its size field is at 12.
    Bytes tiny = b;
    test::put<uint32_t>(tiny, 12, 4);
    CHECK(parse_bytes(tiny, info) == mb2::Error::TagTooSmall);
    Bytes huge = b;
    test::put<uint32_t>(huge, 12, 0xFFFFFFF0u);
    CHECK(parse_bytes(huge, info) == mb2::Error::TagExceedsTotalSize);
    // total_size cutting the block in the middle of a tag.
    Bytes cut = b;
    test::put<uint32_t>(cut, 0, 20);
    CHECK(parse_bytes(cut, info) == mb2::Error::TagExceedsTotalSize);
    // The cmdline tag spans [8, 40); a total_size of 44 leaves half a header.
    REQUIRE(test::get<uint32_t>(b, 12) == 32);
    test::put<uint32_t>(cut, 0, 44);
    CHECK(parse_bytes(cut, info) == mb2::Error::TagHeaderTruncated);
}

TEST_CASE("mb2: strings must end inside their tag", "[mb2]") {
    static mb2::Info info;
    Mb2Builder m;
    m.tag(1, Bytes{'a', 'b', 'c', 'd'});
    CHECK(parse_bytes(m.finish(), info) == mb2::Error::StringNotTerminated);

    Mb2Builder mod;
    Bytes p;
    append<uint32_t>(p, 0x1000);
    append<uint32_t>(p, 0x2000);
    p.push_back('x');
    mod.tag(3, p);
    CHECK(parse_bytes(mod.finish(), info) == mb2::Error::StringNotTerminated);
}

TEST_CASE("mb2: module ranges and count are checked", "[mb2]") {
    static mb2::Info info;
    CHECK(parse_bytes(Mb2Builder{}.module(0x2000, 0x1000, "bad").finish(), info) == mb2::Error::ModuleBadRange);
    Mb2Builder many;
    for (int i = 0; i < 32; ++i) many.module(0x100000u * i, 0x100000u * i + 16, "m" + std::to_string(i));
    Mb2Builder too_many    = many;
    const Bytes many_block = many.finish();  // info points into it
    CHECK(parse_bytes(many_block, info) == mb2::Error::Ok);
    CHECK(info.module_count == 32);
    CHECK(mb2::find_module(info, "m31") == &info.modules[31]);
    too_many.module(0, 1, "one-more");
    CHECK(parse_bytes(too_many.finish(), info) == mb2::Error::TooManyModules);
}

TEST_CASE("mb2: memory map layout is validated", "[mb2]") {
    static mb2::Info info;
    // A larger entry_size (future versions) is honoured.
    CHECK(parse_bytes(Mb2Builder{}.mmap({{0, 0x1000, 1}, {0x1000, 0x1000, 3}}, 32).finish(), info) == mb2::Error::Ok);
    CHECK(info.memory_count == 2);
    CHECK(info.memory[1].type == mb2::MEMORY_ACPI_RECLAIMABLE);
    CHECK(parse_bytes(Mb2Builder{}.mmap({{0, 0x1000, 1}}, 20).finish(), info) == mb2::Error::MemoryMapBadEntrySize);
    CHECK(parse_bytes(Mb2Builder{}.mmap({{0, 0x1000, 1}}, 28).finish(), info) == mb2::Error::MemoryMapBadEntrySize);
    Mb2Builder ragged;
    ragged.mmap({{0, 0x1000, 1}});
    // Grow the tag by 8 bytes of junk that is not a whole entry.
    const size_t tag_at = 8;
    test::put<uint32_t>(ragged.b, tag_at + 4, test::get<uint32_t>(ragged.b, tag_at + 4) + 8);
    ragged.b.resize(ragged.b.size() + 8, 0);
    CHECK(parse_bytes(ragged.finish(), info) == mb2::Error::MemoryMapBadLength);
    CHECK(parse_bytes(Mb2Builder{}.mmap({{0xFFFFFFFFFFFFF000ull, 0x2000, 1}}).finish(), info) ==
          mb2::Error::MemoryRangeOverflow);
    std::vector<mb2::MemoryRange> lots(129, {0, 0x1000, 1});
    CHECK(parse_bytes(Mb2Builder{}.mmap(lots).finish(), info) == mb2::Error::TooManyMemoryRanges);
    lots.resize(128);
    CHECK(parse_bytes(Mb2Builder{}.mmap(lots).finish(), info) == mb2::Error::Ok);
    CHECK(info.memory_count == 128);
}

TEST_CASE("mb2: tags that may appear once are rejected twice", "[mb2]") {
    static mb2::Info info;
    CHECK(parse_bytes(Mb2Builder{}.string_tag(1, "a").string_tag(1, "b").finish(), info) == mb2::Error::DuplicateTag);
    CHECK(parse_bytes(Mb2Builder{}.mmap({}).mmap({}).finish(), info) == mb2::Error::DuplicateTag);
    CHECK(parse_bytes(Mb2Builder{}.tag(14, Bytes(20)).tag(14, Bytes(20)).finish(), info) == mb2::Error::DuplicateTag);
}

TEST_CASE("mb2: truncation and random corruption never read outside the buffer", "[mb2][robust]") {
    const Bytes good = full_block();
    static mb2::Info info;
    // Every shorter total_size inside an exact-size buffer (the sanitizer
    // catches any read past it); only the full size can be valid.
    for (size_t n = 8; n < good.size(); n += 8) {
        Bytes cut(good.begin(), good.begin() + static_cast<long>(n));
        test::put<uint32_t>(cut, 0, static_cast<uint32_t>(n));
        CHECK(parse_bytes(cut, info) != mb2::Error::Ok);
    }
    std::mt19937 rng(12345);
    size_t ok = 0;
    for (int round = 0; round < 4000; ++round) {
        Bytes b         = good;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; ++f) b[rng() % b.size()] = static_cast<uint8_t>(rng());
        const mb2::Error e = parse_bytes(b, info);
        if (e == mb2::Error::Ok) {
            ++ok;
            REQUIRE(info.cmdline != nullptr);
            REQUIRE(info.module_count <= mb2::MAX_MODULES);
            REQUIRE(info.memory_count <= mb2::MAX_MEMORY_RANGES);
        }
    }
    CHECK(ok > 0);  // corruption inside payloads is legitimately accepted
}

TEST_CASE("mb2: every error has its own sentence", "[mb2]") {
    std::vector<std::string> seen;
    for (int i = 0; i <= static_cast<int>(mb2::Error::TooManyMemoryRanges); ++i) {
        const std::string s = mb2::to_string(static_cast<mb2::Error>(i));
        CHECK(s.size() > 10);
        CHECK(std::find(seen.begin(), seen.end(), s) == seen.end());
        seen.push_back(s);
    }
}
