#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "bytes.hpp"
#include "hypervisor/lib/elf.hpp"

using namespace natsume;
using test::Bytes;
using test::get;
using test::put;

namespace {

constexpr size_t RAM_SIZE = 4u << 20;
constexpr uint8_t POISON  = 0xAA;

struct Phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz;
};

// Writes an ELF64 header and program headers (phdrs right after the header)
// into a file of the given size.
Bytes make_elf(const std::vector<Phdr>& phdrs, uint64_t entry, size_t size) {
    Bytes b(size, 0);
    const uint8_t ident[] = {0x7F, 'E', 'L', 'F', 2, 1, 1, 0};
    std::memcpy(b.data(), ident, sizeof ident);
    put<uint16_t>(b, 16, 2);   // ET_EXEC
    put<uint16_t>(b, 18, 62);  // EM_X86_64
    put<uint32_t>(b, 20, 1);
    put<uint64_t>(b, 24, entry);
    put<uint64_t>(b, 32, 64);
    put<uint16_t>(b, 52, 64);
    put<uint16_t>(b, 54, 56);
    put<uint16_t>(b, 56, static_cast<uint16_t>(phdrs.size()));
    for (size_t i = 0; i < phdrs.size(); ++i) {
        const size_t at = 64 + i * 56;
        const Phdr& p   = phdrs[i];
        put<uint32_t>(b, at, p.type);
        put<uint32_t>(b, at + 4, p.flags);
        put<uint64_t>(b, at + 8, p.offset);
        put<uint64_t>(b, at + 16, p.vaddr);
        put<uint64_t>(b, at + 24, p.paddr);
        put<uint64_t>(b, at + 32, p.filesz);
        put<uint64_t>(b, at + 40, p.memsz);
        put<uint64_t>(b, at + 48, 0x1000);
    }
    return b;
}

constexpr uint32_t RX = elf::FLAG_READ | elf::FLAG_EXECUTE, RW = elf::FLAG_READ | elf::FLAG_WRITE;
constexpr size_t PHDR0 = 64, PHDR1 = 64 + 56;

// Text at 1 MiB (16 bytes), data at 1 MiB + 4 KiB (8 file bytes, 8 KiB in memory),
// and a PT_GNU_STACK that must be ignored.
Bytes tiny_elf() {
    Bytes b = make_elf({{1, RX, 0x100, 0x100000, 0x100000, 16, 16},
                        {1, RW, 0x200, 0x101000, 0x101000, 8, 0x2000},
                        {0x6474E551, RW, 0, 0, 0, 0, 0}},
                       0x100004, 0x300);
    for (size_t i = 0; i < 16; ++i) b[0x100 + i] = static_cast<uint8_t>(0x90 + i);
    for (size_t i = 0; i < 8; ++i) b[0x200 + i] = static_cast<uint8_t>(0x10 + i);
    return b;
}

elf::Error parse(const Bytes& b, elf::Image& img) { return elf::parse(b.data(), b.size(), img); }

elf::Error parse_patched(Bytes b, size_t off, uint64_t v, size_t width = 8) {
    if (width == 8) put<uint64_t>(b, off, v);
    if (width == 4) put<uint32_t>(b, off, static_cast<uint32_t>(v));
    if (width == 2) put<uint16_t>(b, off, static_cast<uint16_t>(v));
    if (width == 1) b[off] = static_cast<uint8_t>(v);
    elf::Image img;
    return parse(b, img);
}

Bytes read_file(const char* path) {
    std::ifstream f(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// Every segment's file bytes are in RAM at paddr, the rest of it is zero.
void check_loaded(const elf::Image& img, const Bytes& file, const Bytes& ram) {
    for (size_t i = 0; i < img.segment_count; ++i) {
        const elf::Segment& s = img.segments[i];
        INFO("segment " << i);
        CHECK(std::equal(file.begin() + static_cast<long>(s.offset),
                         file.begin() + static_cast<long>(s.offset + s.file_size),
                         ram.begin() + static_cast<long>(s.paddr)));
        CHECK(std::all_of(ram.begin() + static_cast<long>(s.paddr + s.file_size),
                          ram.begin() + static_cast<long>(s.paddr + s.mem_size), [](uint8_t c) { return c == 0; }));
    }
}

}  // namespace

TEST_CASE("elf: a hand-made image parses into its PT_LOAD segments", "[elf]") {
    elf::Image img;
    REQUIRE(parse(tiny_elf(), img) == elf::Error::Ok);
    CHECK(img.entry == 0x100004);
    CHECK(img.entry_paddr == 0x100004);
    REQUIRE(img.segment_count == 2);
    CHECK(img.segments[0].paddr == 0x100000);
    CHECK(img.segments[0].offset == 0x100);
    CHECK(img.segments[0].flags == RX);
    CHECK(img.segments[1].file_size == 8);
    CHECK(img.segments[1].mem_size == 0x2000);
    CHECK(img.lowest == 0x100000);
    CHECK(img.highest == 0x103000);
}

TEST_CASE("elf: entry is translated from virtual to physical", "[elf]") {
    Bytes b = make_elf({{1, RX, 0x100, 0xFFFFFFFF80100000ull, 0x100000, 16, 16}}, 0xFFFFFFFF80100008ull, 0x200);
    elf::Image img;
    REQUIRE(parse(b, img) == elf::Error::Ok);
    CHECK(img.entry_paddr == 0x100008);
}

TEST_CASE("elf: identification and header fields are checked", "[elf]") {
    const Bytes b = tiny_elf();
    elf::Image img;
    CHECK(elf::parse(nullptr, 100, img) == elf::Error::NullPointer);
    CHECK(elf::parse(b.data(), 63, img) == elf::Error::TooSmall);
    CHECK(parse_patched(b, 1, 'X', 1) == elf::Error::BadMagic);
    CHECK(parse_patched(b, 4, 1, 1) == elf::Error::NotElf64);  // ELFCLASS32
    CHECK(parse_patched(b, 5, 2, 1) == elf::Error::NotLittleEndian);
    CHECK(parse_patched(b, 6, 0, 1) == elf::Error::BadVersion);
    CHECK(parse_patched(b, 20, 2, 4) == elf::Error::BadVersion);
    CHECK(parse_patched(b, 16, 3, 2) == elf::Error::NotExecutable);    // ET_DYN (PIE)
    CHECK(parse_patched(b, 16, 1, 2) == elf::Error::NotExecutable);    // ET_REL
    CHECK(parse_patched(b, 18, 3, 2) == elf::Error::WrongMachine);     // EM_386
    CHECK(parse_patched(b, 18, 0xB7, 2) == elf::Error::WrongMachine);  // EM_AARCH64
}

TEST_CASE("elf: the program header table must lie inside the file", "[elf]") {
    const Bytes b = tiny_elf();
    CHECK(parse_patched(b, 32, 0x300, 8) == elf::Error::PhdrsOutsideFile);
    CHECK(parse_patched(b, 32, 0x300 - 56 * 3 + 1, 8) == elf::Error::PhdrsOutsideFile);
    CHECK(parse_patched(b, 32, ~0ull - 8, 8) == elf::Error::PhdrsOutsideFile);  // would wrap
    CHECK(parse_patched(b, 56, 0xFFFF, 2) == elf::Error::PhdrsOutsideFile);
    CHECK(parse_patched(b, 54, 32, 2) == elf::Error::BadPhdrSize);
    CHECK(parse_patched(b, 56, 0, 2) == elf::Error::NoLoadableSegments);
}

TEST_CASE("elf: segment ranges are checked against the file and for overflow", "[elf]") {
    const Bytes b = tiny_elf();
    CHECK(parse_patched(b, PHDR1 + 8, 0x2F9, 8) == elf::Error::SegmentOutsideFile);
    CHECK(parse_patched(b, PHDR1 + 8, ~0ull - 4, 8) == elf::Error::SegmentOutsideFile);  // offset + size wraps
    CHECK(parse_patched(b, PHDR1 + 32, 0x101, 8) == elf::Error::SegmentOutsideFile);
    CHECK(parse_patched(b, PHDR0 + 32, 17, 8) == elf::Error::FileSizeExceedsMemSize);
    CHECK(parse_patched(b, PHDR1 + 24, 0xFFFFFFFFFFFFF000ull, 8) == elf::Error::SegmentOverflow);
    CHECK(parse_patched(b, PHDR1 + 16, 0xFFFFFFFFFFFFF000ull, 8) == elf::Error::SegmentOverflow);
    CHECK(parse_patched(b, PHDR1 + 40, ~0ull, 8) == elf::Error::SegmentOverflow);
}

TEST_CASE("elf: the entry must be in a loaded executable segment", "[elf]") {
    const Bytes b = tiny_elf();
    CHECK(parse_patched(b, 24, 0x100010, 8) == elf::Error::EntryNotExecutable);  // one past text
    CHECK(parse_patched(b, 24, 0x101000, 8) == elf::Error::EntryNotExecutable);  // data segment
    CHECK(parse_patched(b, 24, 0, 8) == elf::Error::EntryNotExecutable);
    CHECK(parse_patched(b, PHDR0 + 4, elf::FLAG_READ, 4) == elf::Error::EntryNotExecutable);
}

TEST_CASE("elf: more than 16 loadable segments are rejected", "[elf]") {
    std::vector<Phdr> ph;
    for (uint64_t i = 0; i < 17; ++i) ph.push_back({1, RX, 0, 0x100000 + i * 0x1000, 0x100000 + i * 0x1000, 0, 16});
    elf::Image img;
    CHECK(parse(make_elf(ph, 0x100000, 0x1000), img) == elf::Error::TooManySegments);
    ph.pop_back();
    REQUIRE(parse(make_elf(ph, 0x100000, 0x1000), img) == elf::Error::Ok);
    CHECK(img.segment_count == 16);
    // Empty PT_LOADs take no slot.
    ph.push_back({1, RW, 0, 0x200000, 0x200000, 0, 0});
    CHECK(parse(make_elf(ph, 0x100000, 0x1000), img) == elf::Error::Ok);
}

TEST_CASE("elf: placement inside partition RAM", "[elf]") {
    elf::Image img;
    REQUIRE(parse(tiny_elf(), img) == elf::Error::Ok);
    CHECK(elf::check_placement(img, 0x100000, RAM_SIZE) == elf::Error::Ok);
    CHECK(elf::check_placement(img, 0x100000, 0x103000) == elf::Error::Ok);
    CHECK(elf::check_placement(img, 0x100001, RAM_SIZE) == elf::Error::SegmentBelowMinimum);
    CHECK(elf::check_placement(img, 0x100000, 0x102FFF) == elf::Error::SegmentAboveLimit);
    CHECK(elf::check_placement(img, 0, 0x1000) == elf::Error::SegmentAboveLimit);

    Bytes b = tiny_elf();
    put<uint64_t>(b, PHDR1 + 24, 0x10000F);  // data paddr overlaps the text's last byte
    REQUIRE(parse(b, img) == elf::Error::Ok);
    CHECK(elf::check_placement(img, 0x100000, RAM_SIZE) == elf::Error::SegmentsOverlap);
    put<uint64_t>(b, PHDR1 + 24, 0x100010);  // adjacent is fine
    REQUIRE(parse(b, img) == elf::Error::Ok);
    CHECK(elf::check_placement(img, 0x100000, RAM_SIZE) == elf::Error::Ok);
}

TEST_CASE("elf: load copies file bytes and zeroes bss in a 4 MiB RAM", "[elf]") {
    const Bytes b = tiny_elf();
    elf::Image img;
    REQUIRE(parse(b, img) == elf::Error::Ok);
    Bytes ram(RAM_SIZE, POISON);
    REQUIRE(elf::load(img, b.data(), b.size(), ram.data(), ram.size()) == elf::Error::Ok);
    check_loaded(img, b, ram);
    CHECK(ram[0x100000] == 0x90);
    CHECK(ram[0x10000F] == 0x9F);
    CHECK(ram[0x101007] == 0x17);
    CHECK(ram[0x102FFF] == 0);
    // Bytes around the segments are untouched.
    CHECK(ram[0x0FFFFF] == POISON);
    CHECK(ram[0x100010] == POISON);
    CHECK(ram[0x100FFF] == POISON);
    CHECK(ram[0x103000] == POISON);
}

TEST_CASE("elf: load re-checks its bounds", "[elf]") {
    const Bytes b = tiny_elf();
    elf::Image img;
    REQUIRE(parse(b, img) == elf::Error::Ok);
    Bytes ram(0x103000, POISON);
    CHECK(elf::load(img, b.data(), b.size(), ram.data(), 0x102FFF) == elf::Error::DestinationTooSmall);
    CHECK(ram[0x100000] == POISON);  // nothing written on failure
    CHECK(elf::load(img, b.data(), b.size(), nullptr, 0x103000) == elf::Error::NullPointer);
    CHECK(elf::load(img, b.data(), 0x207, ram.data(), ram.size()) == elf::Error::SegmentOutsideFile);
    elf::Image tampered        = img;
    tampered.segments[1].paddr = ~0ull - 0x100;
    CHECK(elf::load(tampered, b.data(), b.size(), ram.data(), ram.size()) == elf::Error::DestinationTooSmall);
    tampered                       = img;
    tampered.segments[0].file_size = 0x100;
    CHECK(elf::load(tampered, b.data(), b.size(), ram.data(), ram.size()) == elf::Error::FileSizeExceedsMemSize);
    REQUIRE(elf::load(img, b.data(), b.size(), ram.data(), ram.size()) == elf::Error::Ok);
    check_loaded(img, b, ram);
}

TEST_CASE("elf: a real static executable from the host toolchain", "[elf]") {
    const Bytes b = read_file(NATSUME_SAMPLE_ELF);
    REQUIRE(b.size() > 64);
    elf::Image img;
    REQUIRE(parse(b, img) == elf::Error::Ok);
    CHECK(img.entry == 0x200000);  // -Ttext=0x200000, _start is the only function
    CHECK(img.entry_paddr == 0x200000);
    REQUIRE(img.segment_count >= 2);
    bool has_bss = false;
    for (size_t i = 0; i < img.segment_count; ++i) has_bss |= img.segments[i].mem_size > img.segments[i].file_size;
    CHECK(has_bss);
    CHECK(img.lowest >= 0x100000);
    CHECK(img.highest <= RAM_SIZE);
    REQUIRE(elf::check_placement(img, 0x100000, RAM_SIZE) == elf::Error::Ok);

    Bytes ram(RAM_SIZE, POISON);
    REQUIRE(elf::load(img, b.data(), b.size(), ram.data(), ram.size()) == elf::Error::Ok);
    check_loaded(img, b, ram);
    const std::string marker = "natsume-elf-sample";
    CHECK(std::search(ram.begin(), ram.end(), marker.begin(), marker.end()) != ram.end());
    const uint64_t data0 = 0x1122334455667788ull;
    const auto* d        = reinterpret_cast<const uint8_t*>(&data0);
    CHECK(std::search(ram.begin(), ram.end(), d, d + 8) != ram.end());
}

TEST_CASE("elf: every truncation of the real executable is caught", "[elf][robust]") {
    const Bytes full = read_file(NATSUME_SAMPLE_ELF);
    elf::Image img;
    REQUIRE(parse(full, img) == elf::Error::Ok);
    // The last byte the parser needs: end of the phdr table or of any segment's file bytes.
    uint64_t needed = get<uint64_t>(full, 32) + uint64_t{get<uint16_t>(full, 56)} * get<uint16_t>(full, 54);
    for (size_t i = 0; i < img.segment_count; ++i)
        needed = std::max(needed, img.segments[i].offset + img.segments[i].file_size);
    for (size_t n = 0; n <= full.size(); n += (n < 512 ? 1 : 61)) {
        const Bytes cut(full.begin(), full.begin() + static_cast<long>(n));  // exact-size heap copy
        INFO("size " << n);
        CHECK((parse(cut, img) == elf::Error::Ok) == (n >= needed));
    }
}

TEST_CASE("elf: every error has its own sentence", "[elf]") {
    std::vector<std::string> seen;
    for (int i = 0; i <= static_cast<int>(elf::Error::DestinationTooSmall); ++i) {
        const std::string s = elf::to_string(static_cast<elf::Error>(i));
        CHECK(s.size() > 10);
        CHECK(std::find(seen.begin(), seen.end(), s) == seen.end());
        seen.push_back(s);
    }
}
