#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <vector>

#include "hypervisor/lib/guest_paging.hpp"

using namespace natsume::gpt;

namespace {

constexpr uint64_t P = 1, RW = 2, US = 4, PS = 1ull << 7, XD = 1ull << 63;

// Guest RAM of `size` bytes; reads outside it fail, and every read is
// counted so tests can see the walk's shape.
struct FakeMemory {
    std::vector<uint8_t> ram;
    std::vector<uint64_t> reads;
    explicit FakeMemory(size_t size) : ram(size, 0) {}

    void put64(uint64_t gpa, uint64_t v) { std::memcpy(&ram.at(gpa), &v, 8); }
    void put(uint64_t gpa, const std::vector<uint8_t>& bytes) {
        (void)ram.at(gpa + bytes.size() - 1);  // throws if the bytes do not fit
        std::memcpy(&ram[gpa], bytes.data(), bytes.size());
    }

    static bool read64(void* ctx, uint64_t gpa, uint64_t& v) {
        auto* m = static_cast<FakeMemory*>(ctx);
        REQUIRE(gpa % 8 == 0);  // the walker promises aligned reads
        m->reads.push_back(gpa);
        if (gpa + 8 > m->ram.size()) return false;
        std::memcpy(&v, &m->ram[gpa], 8);
        return true;
    }
    PhysRead reader() { return {&FakeMemory::read64, this}; }
};

uint64_t idx(uint64_t linear, int level) { return (linear >> (12 + 9 * (level - 1))) & 0x1FF; }

// Tables at fixed addresses: PML4 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000.
constexpr uint64_t PML4 = 0x1000, PDPT = 0x2000, PD = 0x3000, PT = 0x4000;

void map_4k(FakeMemory& m, uint64_t linear, uint64_t gpa, uint64_t flags = P | RW) {
    m.put64(PML4 + 8 * idx(linear, 4), PDPT | P | RW | US);
    m.put64(PDPT + 8 * idx(linear, 3), PD | P | RW | US);
    m.put64(PD + 8 * idx(linear, 2), PT | P | RW | US);
    m.put64(PT + 8 * idx(linear, 1), gpa | flags);
}

}  // namespace

TEST_CASE("4 KiB page translation keeps the page offset", "[gpt]") {
    FakeMemory m(1 << 20);
    const uint64_t lin = 0x0000'7F12'3456'7ABCull;
    map_4k(m, lin, 0x80000);
    uint64_t gpa = 0;
    REQUIRE(translate(PML4, lin, m.reader(), gpa) == Error::Ok);
    CHECK(gpa == 0x80ABC);
    CHECK(m.reads.size() == 4);
    CHECK(m.reads[0] == PML4 + 8 * idx(lin, 4));
}

TEST_CASE("PCID bits and bit 63 of CR3 do not move the PML4", "[gpt]") {
    FakeMemory m(1 << 20);
    map_4k(m, 0x5000, 0x9000);
    uint64_t gpa = 0;
    REQUIRE(translate(PML4 | 0xFFF | (1ull << 63), 0x5123, m.reader(), gpa) == Error::Ok);
    CHECK(gpa == 0x9123);
}

TEST_CASE("2 MiB and 1 GiB pages", "[gpt]") {
    FakeMemory m(1 << 20);
    const uint64_t lin2m = 0x4060'0000ull + 0x12345;  // PDPT index 1, PD index 3
    m.put64(PML4, PDPT | P | RW);
    m.put64(PDPT + 8 * 1, PD | P | RW);
    m.put64(PD + 8 * 3, 0x1'2340'0000ull | P | RW | PS | (1ull << 12) /* PAT */);
    Walk w{};
    REQUIRE(walk(PML4, lin2m, m.reader(), w) == Error::Ok);
    CHECK(w.gpa == 0x1'2340'0000ull + 0x12345);
    CHECK(w.page_size == (2u << 20));

    const uint64_t lin1g = 0x0000'0080'0000'0000ull + 0x3ABC'DEF0ull;  // PML4 index 1
    m.put64(PML4 + 8, 0x5000 | P);
    m.put64(0x5000, 0x40'0000'0000ull | P | PS);  // 1 GiB page at 256 GiB
    REQUIRE(walk(PML4, lin1g, m.reader(), w) == Error::Ok);
    CHECK(w.gpa == 0x40'0000'0000ull + 0x3ABC'DEF0ull);
    CHECK(w.page_size == (1u << 30));
    CHECK_FALSE(w.writable);
}

TEST_CASE("access rights accumulate over the walk", "[gpt]") {
    FakeMemory m(1 << 20);
    map_4k(m, 0x7000, 0xA000, P | RW | US);
    Walk w{};
    REQUIRE(walk(PML4, 0x7000, m.reader(), w) == Error::Ok);
    CHECK(w.writable);
    CHECK(w.user);
    CHECK(w.executable);
    m.put64(PD, PT | P | XD);  // PDE: read-only, supervisor, no execute
    REQUIRE(walk(PML4, 0x7000, m.reader(), w) == Error::Ok);
    CHECK_FALSE(w.writable);
    CHECK_FALSE(w.user);
    CHECK_FALSE(w.executable);
}

TEST_CASE("non-present entries at every level", "[gpt]") {
    const uint64_t lin = 0x20'0000'5000ull;
    for (int level = 4; level >= 1; --level) {
        FakeMemory m(1 << 20);
        map_4k(m, lin, 0x9000);
        const uint64_t tables[] = {0, PT, PD, PDPT, PML4};
        m.put64(tables[level] + 8 * idx(lin, level), 0xDEAD000);  // P = 0, other bits set
        uint64_t gpa = 0;
        INFO("level " << level);
        CHECK(translate(PML4, lin, m.reader(), gpa) == Error::NotPresent);
    }
}

TEST_CASE("non-canonical addresses are refused before any read", "[gpt]") {
    FakeMemory m(1 << 20);
    uint64_t gpa = 0;
    CHECK(translate(PML4, 0x0000'8000'0000'0000ull, m.reader(), gpa) == Error::NonCanonical);
    CHECK(translate(PML4, 0xFFFF'7FFF'FFFF'FFFFull, m.reader(), gpa) == Error::NonCanonical);
    CHECK(translate(PML4, 0x1234'0000'0000'0000ull, m.reader(), gpa) == Error::NonCanonical);
    CHECK(m.reads.empty());
    // The top half is canonical and walks PML4 entry 511.
    const uint64_t high = 0xFFFF'FFFF'8000'1000ull;
    map_4k(m, high, 0x6000);
    REQUIRE(translate(PML4, high + 0x10, m.reader(), gpa) == Error::Ok);
    CHECK(gpa == 0x6010);
}

TEST_CASE("reserved bits are refused", "[gpt]") {
    SECTION("PS in a PML4 entry") {
        FakeMemory m(1 << 20);
        m.put64(PML4, PDPT | P | PS);
        uint64_t gpa = 0;
        CHECK(translate(PML4, 0x1000, m.reader(), gpa) == Error::ReservedBit);
    }
    SECTION("bits 20:13 of a 2 MiB entry") {
        FakeMemory m(1 << 20);
        m.put64(PML4, PDPT | P);
        m.put64(PDPT, PD | P);
        m.put64(PD, 0x20'0000 | (1ull << 13) | P | PS);
        uint64_t gpa = 0;
        CHECK(translate(PML4, 0x1000, m.reader(), gpa) == Error::ReservedBit);
    }
    SECTION("bits 29:13 of a 1 GiB entry") {
        FakeMemory m(1 << 20);
        m.put64(PML4, PDPT | P);
        m.put64(PDPT, 0x4000'0000 | (1ull << 29) | P | PS);
        uint64_t gpa = 0;
        CHECK(translate(PML4, 0x1000, m.reader(), gpa) == Error::ReservedBit);
    }
    SECTION("address bits above MAXPHYADDR") {
        FakeMemory m(1 << 20);
        map_4k(m, 0x1000, 1ull << 40);
        uint64_t gpa = 0;
        CHECK(translate(PML4, 0x1000, m.reader(), gpa, 39) == Error::ReservedBit);
        CHECK(translate(PML4, 0x1000, m.reader(), gpa, 46) == Error::Ok);
        CHECK(gpa == (1ull << 40));
    }
    SECTION("ignored bits 62:52 are not reserved") {
        FakeMemory m(1 << 20);
        map_4k(m, 0x1000, 0x3000, P | (0x7FFull << 52));
        uint64_t gpa = 0;
        CHECK(translate(PML4, 0x1000, m.reader(), gpa, 36) == Error::Ok);
        CHECK(gpa == 0x3000);
    }
}

TEST_CASE("a table outside guest memory fails the read", "[gpt]") {
    FakeMemory m(1 << 20);
    m.put64(PML4, 0x7000'0000ull | P);  // PDPT beyond RAM
    uint64_t gpa = 0;
    CHECK(translate(PML4, 0x1000, m.reader(), gpa) == Error::ReadFailed);
    PhysRead none{nullptr, nullptr};
    CHECK(translate(PML4, 0x1000, none, gpa) == Error::ReadFailed);
}

TEST_CASE("fetch crosses a page boundary into a different frame", "[gpt]") {
    FakeMemory m(1 << 20);
    const uint64_t rip = 0x40'0FFA;  // 6 bytes left on the first page
    map_4k(m, 0x40'0000, 0x8'0000);
    map_4k(m, 0x40'1000, 0x2'3000);  // next page maps far away
    m.put(0x8'0FFA, {0x48, 0xC7, 0x07, 0x00, 0x00, 0x00});
    m.put(0x2'3000, {0x80, 0xC3, 0x90});
    uint8_t out[9] = {};
    size_t got     = 0;
    REQUIRE(fetch(PML4, rip, out, sizeof out, m.reader(), got) == Error::Ok);
    CHECK(got == 9);
    const uint8_t want[9] = {0x48, 0xC7, 0x07, 0x00, 0x00, 0x00, 0x80, 0xC3, 0x90};
    CHECK(std::memcmp(out, want, 9) == 0);
}

TEST_CASE("fetch stops at a non-present page and reports the readable prefix", "[gpt]") {
    FakeMemory m(1 << 20);
    map_4k(m, 0x40'0000, 0x8'0000);
    m.put(0x8'0FFD, {0x89, 0x37, 0xC3});
    uint8_t out[15] = {};
    size_t got      = 0;
    CHECK(fetch(PML4, 0x40'0FFD, out, sizeof out, m.reader(), got) == Error::NotPresent);
    CHECK(got == 3);
    CHECK(out[0] == 0x89);
    CHECK(out[2] == 0xC3);
}

TEST_CASE("fetch within one page reads unaligned bytes exactly", "[gpt]") {
    FakeMemory m(1 << 20);
    map_4k(m, 0x1000, 0x9000);
    std::vector<uint8_t> pattern(32);
    for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<uint8_t>(0xA0 + i);
    m.put(0x9000, pattern);
    uint8_t out[5] = {};
    size_t got     = 0;
    REQUIRE(fetch(PML4, 0x1003, out, sizeof out, m.reader(), got) == Error::Ok);
    CHECK(got == 5);
    for (size_t i = 0; i < 5; ++i) CHECK(out[i] == 0xA3 + i);
    REQUIRE(fetch(PML4, 0x1003, out, 0, m.reader(), got) == Error::Ok);
    CHECK(got == 0);
}
