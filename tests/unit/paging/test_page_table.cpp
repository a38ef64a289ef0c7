#include <array>
#include <catch2/catch.hpp>
#include <deque>
#include <map>
#include <stdint.h>
#include <vector>

#include "hypervisor/arch/x86/page_table.hpp"

using namespace natsume::x86;

namespace {

// Fake physical memory: tables live at fake physical addresses from BASE up, and
// every store is recorded with the physical address of the slot it wrote.
class FakeMemory {
public:
    static constexpr uint64_t BASE = 0x7000'0000;

    explicit FakeMemory(size_t max_tables = 1024) : max_tables_(max_tables) {}

    uint64_t alloc_table() {
        if (tables_.size() >= max_tables_) return 0;
        tables_.emplace_back();  // value-initialised: zeroed
        return BASE + (tables_.size() - 1) * PAGE_4K;
    }

    uint64_t* table(uint64_t phys) {
        REQUIRE(phys >= BASE);
        REQUIRE((phys - BASE) % PAGE_4K == 0);
        size_t i = (phys - BASE) / PAGE_4K;
        REQUIRE(i < tables_.size());
        return tables_[i].data();
    }

    void store(uint64_t* slot, uint64_t v) {
        uint64_t where = phys_of(slot);
        stores.push_back({where, v});
        *slot = v;
    }

    size_t tables_used() const { return tables_.size(); }

    // Non-zero slots in all tables, by physical address.
    std::map<uint64_t, uint64_t> live_entries() const {
        std::map<uint64_t, uint64_t> live;
        for (size_t t = 0; t < tables_.size(); ++t)
            for (size_t i = 0; i < 512; ++i)
                if (tables_[t][i] != 0) live[BASE + t * PAGE_4K + i * 8] = tables_[t][i];
        return live;
    }

    uint64_t slot_value(uint64_t table_phys, size_t index) { return table(table_phys)[index]; }

    struct Store {
        uint64_t slot_phys;
        uint64_t value;
    };
    std::vector<Store> stores;

private:
    uint64_t phys_of(const uint64_t* slot) const {
        for (size_t t = 0; t < tables_.size(); ++t) {
            const uint64_t* first = tables_[t].data();
            if (slot >= first && slot < first + 512)
                return BASE + t * PAGE_4K + static_cast<uint64_t>(slot - first) * 8;
        }
        FAIL("store outside any page table");
        return 0;
    }

    size_t max_tables_;
    std::deque<std::array<uint64_t, 512>> tables_;  // deque: growth never moves a table
};

// Every slot written exactly once, and with its final value.
void check_one_store_per_entry(const FakeMemory& mem) {
    std::map<uint64_t, uint64_t> seen;
    for (const auto& s : mem.stores) {
        INFO("slot 0x" << std::hex << s.slot_phys);
        CHECK(seen.count(s.slot_phys) == 0);
        seen[s.slot_phys] = s.value;
    }
    CHECK(seen == mem.live_entries());
}

size_t count_stores(const FakeMemory& mem, uint64_t mask, uint64_t bits) {
    size_t n = 0;
    for (const auto& s : mem.stores) n += (s.value & mask) == bits;
    return n;
}

constexpr Attr RW_DATA{true, true, false, false, Cache::WB};
constexpr Attr RWX{true, true, true, false, Cache::WB};

}  // namespace

TEST_CASE("IA-32e identity map of 4 GiB uses 2 MiB pages", "[paging]") {
    FakeMemory mem;
    PageTable<Pte, FakeMemory> pt(mem);
    REQUIRE(pt.init() == MapError::Ok);
    REQUIRE(pt.root() == FakeMemory::BASE);
    REQUIRE(pt.map(0, 0, 4 * PAGE_1G, RW_DATA) == MapError::Ok);

    CHECK(mem.tables_used() == 6);  // PML4, PDPT, 4 page directories
    CHECK(mem.stores.size() == 1 + 4 + 2048);
    check_one_store_per_entry(mem);

    // non-leaf entries: address | P | RW | US, nothing else
    uint64_t pml4e = mem.slot_value(pt.root(), 0);
    CHECK(pml4e == ((FakeMemory::BASE + PAGE_4K) | Pte::PRESENT | Pte::WRITABLE | Pte::USER));
    uint64_t pdpte3 = mem.slot_value(FakeMemory::BASE + PAGE_4K, 3);
    CHECK(pdpte3 == ((FakeMemory::BASE + 5 * PAGE_4K) | 0x7));

    // every leaf: exactly address | P | RW | PS | NX
    const uint64_t leaf_bits = Pte::PRESENT | Pte::WRITABLE | Pte::LARGE | Pte::NO_EXECUTE;
    for (unsigned d = 0; d < 4; ++d)
        for (size_t i = 0; i < 512; ++i) {
            uint64_t expect_pa = (uint64_t{d} << 30) | (uint64_t{i} << 21);
            uint64_t e         = mem.slot_value(FakeMemory::BASE + (2 + d) * PAGE_4K, i);
            if (e != (expect_pa | leaf_bits)) { FAIL_CHECK("PD " << d << " entry " << i << " = 0x" << std::hex << e); }
        }

    for (uint64_t va : {uint64_t{0}, uint64_t{0x1234'5678}, uint64_t{0xFFFF'FFFF}, uint64_t{0xFEE0'0000}}) {
        uint64_t pa = 1;
        Attr a{};
        REQUIRE(pt.translate(va, pa, a));
        CHECK(pa == va);
        CHECK(a == RW_DATA);
    }
    uint64_t pa;
    Attr a;
    CHECK_FALSE(pt.translate(4 * PAGE_1G, pa, a));
    CHECK_FALSE(pt.translate(VA_LIMIT, pa, a));
}

TEST_CASE("EPT: 32 MiB partition at 0x4000000 uses 2 MiB pages", "[paging][ept]") {
    FakeMemory mem;
    PageTable<EptEntry, FakeMemory> ept(mem);
    REQUIRE(ept.init() == MapError::Ok);
    const uint64_t gpa = 0x400'0000, hpa = 0x1'2000'0000, size = 32ull << 20;
    REQUIRE(ept.map(gpa, hpa, size, RWX) == MapError::Ok);

    CHECK(mem.tables_used() == 3);
    CHECK(mem.stores.size() == 1 + 1 + 16);
    check_one_store_per_entry(mem);

    CHECK(mem.slot_value(ept.root(), 0) == ((FakeMemory::BASE + PAGE_4K) | 0x7));
    CHECK(mem.slot_value(FakeMemory::BASE + PAGE_4K, 0) == ((FakeMemory::BASE + 2 * PAGE_4K) | 0x7));
    for (size_t i = 0; i < 512; ++i) {
        uint64_t e = mem.slot_value(FakeMemory::BASE + 2 * PAGE_4K, i);
        if (i < 32 || i >= 48) {
            CHECK(e == 0);
            continue;
        }
        // exactly address | RWX | WB (6 << 3) | large
        CHECK(e == ((hpa + (i - 32) * PAGE_2M) | 0x7 | (6u << 3) | EptEntry::LARGE));
        CHECK((e & 0x1F'F000) == 0);              // reserved bits 20:12 of a 2 MiB leaf
        CHECK((e & 0xFFF0'0000'0000'0000) == 0);  // bits 63:52
        CHECK((e & EptEntry::IGNORE_PAT) == 0);
    }

    uint64_t pa;
    Attr a;
    REQUIRE(ept.translate(gpa + 0x12'3456, pa, a));
    CHECK(pa == hpa + 0x12'3456);
    CHECK(a == RWX);
    REQUIRE(ept.translate(gpa + size - 1, pa, a));
    CHECK(pa == hpa + size - 1);
    CHECK_FALSE(ept.translate(gpa - 1, pa, a));
    CHECK_FALSE(ept.translate(gpa + size, pa, a));
}

TEST_CASE("make_eptp: WB, 4-level walk, no A/D", "[paging][ept]") {
    CHECK(make_eptp(0x1234'5000) == 0x1234'501E);
    CHECK((make_eptp(0x1234'5000) & 0x40) == 0);
    CHECK(make_eptp(0x000F'FFFF'FFFF'F000) == 0x000F'FFFF'FFFF'F01E);
    STATIC_REQUIRE(make_eptp(0) == 0x1E);
}

TEST_CASE("a 4 KiB-aligned range gets 4 KiB pages at its edges", "[paging]") {
    FakeMemory mem;
    PageTable<EptEntry, FakeMemory> ept(mem);
    REQUIRE(ept.init() == MapError::Ok);
    // [0x1FF000, 0x601000): 4 KiB, 2 MiB, 2 MiB, 4 KiB
    REQUIRE(ept.map(0x1F'F000, 0x1F'F000, 0x40'2000, RWX) == MapError::Ok);

    CHECK(mem.tables_used() == 5);  // PML4, PDPT, PD, two page tables
    CHECK(mem.stores.size() == 8);
    check_one_store_per_entry(mem);
    CHECK(count_stores(mem, EptEntry::LARGE | 0x7, EptEntry::LARGE | 0x7) == 2);

    uint64_t pa;
    Attr a;
    for (uint64_t va = 0x1F'F000; va < 0x60'1000; va += PAGE_4K) {
        REQUIRE(ept.translate(va, pa, a));
        CHECK(pa == va);
    }
    CHECK_FALSE(ept.translate(0x1F'E000, pa, a));
    CHECK_FALSE(ept.translate(0x60'1000, pa, a));

    // a 4 KiB leaf has no large bit and no stray bits
    uint64_t pt_first = mem.slot_value(FakeMemory::BASE + 2 * PAGE_4K, 0) & EptEntry::ADDRESS_MASK;
    CHECK(mem.slot_value(pt_first, 511) == (0x1F'F000 | 0x7 | (6u << 3)));
}

TEST_CASE("va and pa with different 2 MiB offsets get only 4 KiB pages", "[paging]") {
    FakeMemory mem;
    PageTable<Pte, FakeMemory> pt(mem);
    REQUIRE(pt.init() == MapError::Ok);
    REQUIRE(pt.map(0x20'0000, 0x20'1000, 4 * PAGE_2M, RW_DATA) == MapError::Ok);
    CHECK(mem.stores.size() == 1 + 1 + 4 + 2048);  // 4 page tables, 2048 PTEs
    CHECK(count_stores(mem, Pte::LARGE, Pte::LARGE) == 0);
    check_one_store_per_entry(mem);
    uint64_t pa;
    Attr a;
    REQUIRE(pt.translate(0x20'0000 + 3 * PAGE_2M + 0x5678, pa, a));
    CHECK(pa == 0x20'1000 + 3 * PAGE_2M + 0x5678);
}

TEST_CASE("allow_large_pages(false) maps with 4 KiB pages only", "[paging]") {
    FakeMemory mem;
    PageTable<EptEntry, FakeMemory> ept(mem);
    REQUIRE(ept.init() == MapError::Ok);
    ept.allow_large_pages(false);
    REQUIRE(ept.map(0, 0, PAGE_2M, RWX) == MapError::Ok);
    CHECK(mem.stores.size() == 1 + 1 + 1 + 512);
    CHECK(count_stores(mem, EptEntry::LARGE, EptEntry::LARGE) == 0);
    check_one_store_per_entry(mem);
}

TEST_CASE("mapping over an existing mapping is refused and writes nothing", "[paging]") {
    FakeMemory mem;
    PageTable<Pte, FakeMemory> pt(mem);
    REQUIRE(pt.init() == MapError::Ok);
    REQUIRE(pt.map(0, 0, 4 * PAGE_2M, RW_DATA) == MapError::Ok);
    REQUIRE(pt.map(0x100'0000, 0x100'0000, PAGE_4K, RW_DATA) == MapError::Ok);
    const size_t before = mem.stores.size();

    SECTION("4 KiB inside a 2 MiB page") { CHECK(pt.map(0x3'0000, 0x900'0000, PAGE_4K, RW_DATA) == MapError::Overlap); }
    SECTION("2 MiB over a page table holding a 4 KiB page") {
        CHECK(pt.map(0x100'0000, 0x100'0000, PAGE_2M, RW_DATA) == MapError::Overlap);
    }
    SECTION("the same 4 KiB page twice") {
        CHECK(pt.map(0x100'0000, 0x500'0000, PAGE_4K, RW_DATA) == MapError::Overlap);
    }
    SECTION("a range whose tail overlaps: the head is not mapped either") {
        CHECK(pt.map(0x60'0000 - 2 * PAGE_2M - PAGE_4K, 0x4000'0000, PAGE_4K, RW_DATA) == MapError::Overlap);
        CHECK(pt.map(0x100'0000 - PAGE_2M, 0x4000'0000, PAGE_2M + 2 * PAGE_4K, RW_DATA) == MapError::Overlap);
        uint64_t pa;
        Attr a;
        CHECK_FALSE(pt.translate(0x100'0000 - PAGE_2M, pa, a));
        CHECK(count_stores(mem, Pte::ADDRESS_MASK, 0x4000'0000) == 0);
    }
    // refused maps may link a page table for their 4 KiB part, never a leaf
    for (size_t i = before; i < mem.stores.size(); ++i)
        CHECK((mem.stores[i].value & Pte::ADDRESS_MASK) >= FakeMemory::BASE);
    check_one_store_per_entry(mem);
}

TEST_CASE("running out of table memory is refused cleanly", "[paging]") {
    SECTION("no root") {
        FakeMemory mem(0);
        PageTable<EptEntry, FakeMemory> ept(mem);
        CHECK(ept.init() == MapError::OutOfMemory);
        CHECK(ept.root() == 0);
        CHECK(ept.map(0, 0, PAGE_4K, RWX) == MapError::NoRoot);
        uint64_t pa;
        Attr a;
        CHECK_FALSE(ept.translate(0, pa, a));
        CHECK(mem.stores.empty());
    }
    SECTION("no page table for the 4 KiB tail: no leaf written at all") {
        FakeMemory mem(3);  // PML4, PDPT, PD
        PageTable<EptEntry, FakeMemory> ept(mem);
        REQUIRE(ept.init() == MapError::Ok);
        CHECK(ept.map(0, 0, 2 * PAGE_2M + PAGE_4K, RWX) == MapError::OutOfMemory);
        CHECK(count_stores(mem, EptEntry::LARGE, EptEntry::LARGE) == 0);
        CHECK(mem.stores.size() == 2);  // only the PML4E and PDPTE linking empty tables
        uint64_t pa;
        Attr a;
        CHECK_FALSE(ept.translate(0, pa, a));
        CHECK_FALSE(ept.translate(2 * PAGE_2M, pa, a));
        // the 2 MiB part alone still fits and reuses the linked tables
        CHECK(ept.map(0, 0, 2 * PAGE_2M, RWX) == MapError::Ok);
        CHECK(mem.stores.size() == 4);
        check_one_store_per_entry(mem);
    }
    SECTION("out of memory in the middle of the walk") {
        FakeMemory mem(2);  // PML4, PDPT
        PageTable<Pte, FakeMemory> pt(mem);
        REQUIRE(pt.init() == MapError::Ok);
        CHECK(pt.map(0x4000'0000, 0, PAGE_2M, RW_DATA) == MapError::OutOfMemory);
        CHECK(mem.stores.size() == 1);
        check_one_store_per_entry(mem);
    }
}

TEST_CASE("invalid requests are refused before any store", "[paging]") {
    FakeMemory mem;
    PageTable<Pte, FakeMemory> pt(mem);
    REQUIRE(pt.init() == MapError::Ok);

    CHECK(pt.map(0x800, 0, PAGE_4K, RW_DATA) == MapError::Unaligned);
    CHECK(pt.map(0, 0x10, PAGE_4K, RW_DATA) == MapError::Unaligned);
    CHECK(pt.map(0, 0, 0x1800, RW_DATA) == MapError::Unaligned);
    CHECK(pt.map(~uint64_t{0} - PAGE_4K + 1, 0, 2 * PAGE_4K, RW_DATA) == MapError::Overflow);
    CHECK(pt.map(0, ~uint64_t{0} - PAGE_4K + 1, 2 * PAGE_4K, RW_DATA) == MapError::Overflow);
    CHECK(pt.map(VA_LIMIT, 0, PAGE_4K, RW_DATA) == MapError::OutOfRange);
    CHECK(pt.map(VA_LIMIT - PAGE_4K, 0, 2 * PAGE_4K, RW_DATA) == MapError::OutOfRange);
    CHECK(pt.map(0, PA_LIMIT, PAGE_4K, RW_DATA) == MapError::OutOfRange);
    CHECK(pt.map(0, 0, PAGE_4K, Attr{false, true, false, false, Cache::WB}) == MapError::BadAttr);
    CHECK(pt.map(0, 0, 0, RW_DATA) == MapError::Ok);
    CHECK(mem.stores.empty());

    // the top page below 2^48 is fine
    CHECK(pt.map(VA_LIMIT - PAGE_4K, 0, PAGE_4K, RW_DATA) == MapError::Ok);
    uint64_t pa = 1;
    Attr a;
    REQUIRE(pt.translate(VA_LIMIT - 1, pa, a));
    CHECK(pa == PAGE_4K - 1);

    FakeMemory emem;
    PageTable<EptEntry, FakeMemory> ept(emem);
    REQUIRE(ept.init() == MapError::Ok);
    CHECK(ept.map(0, 0, PAGE_4K, Attr{false, true, false, false, Cache::WB}) == MapError::BadAttr);
    CHECK(ept.map(0, 0, PAGE_4K, Attr{false, false, false, false, Cache::WB}) == MapError::BadAttr);
    CHECK(emem.stores.empty());
    CHECK(ept.map(0, 0, PAGE_4K, Attr{false, false, true, false, Cache::WB}) == MapError::Ok);
}

TEST_CASE("attributes: exact entry bits and translate round trip", "[paging]") {
    struct Case {
        Attr attr;
        uint64_t pte_bits;  // IA-32e 4 KiB leaf, without the address
        uint64_t ept_bits;  // EPT 4 KiB leaf, without the address
    };
    const Case cases[] = {
        {{true, false, false, false, Cache::WB}, Pte::PRESENT | Pte::NO_EXECUTE, 0x1 | (6u << 3)},
        {{true, true, false, false, Cache::WB}, 0x3 | Pte::NO_EXECUTE, 0x3 | (6u << 3)},
        {{true, true, true, false, Cache::WB}, 0x3, 0x7 | (6u << 3)},
        {{true, false, true, true, Cache::WB}, 0x5, 0x5 | (6u << 3)},
        {{true, true, false, false, Cache::UC}, 0x3 | Pte::PCD | Pte::PWT | Pte::NO_EXECUTE, 0x3},
        {{true, true, true, true, Cache::UC}, 0x7 | Pte::PCD | Pte::PWT, 0x7},
    };
    for (const Case& c : cases) {
        const uint64_t va = 0x7F'1234'5000, pa = 0xF'EDCB'A000;
        FakeMemory pmem, emem;
        PageTable<Pte, FakeMemory> pt(pmem);
        PageTable<EptEntry, FakeMemory> ept(emem);
        REQUIRE(pt.init() == MapError::Ok);
        REQUIRE(ept.init() == MapError::Ok);
        REQUIRE(pt.map(va, pa, PAGE_4K, c.attr) == MapError::Ok);
        REQUIRE(ept.map(va, pa, PAGE_4K, c.attr) == MapError::Ok);
        REQUIRE(pmem.stores.size() == 4);
        REQUIRE(emem.stores.size() == 4);
        CHECK(pmem.stores.back().value == (pa | c.pte_bits));
        CHECK(emem.stores.back().value == (pa | c.ept_bits));

        uint64_t out = 0;
        Attr got{};
        REQUIRE(pt.translate(va + 0xABC, out, got));
        CHECK(out == pa + 0xABC);
        CHECK(got == c.attr);
        REQUIRE(ept.translate(va + 0xABC, out, got));
        CHECK(out == pa + 0xABC);
        Attr ept_expect = c.attr;
        ept_expect.user = false;  // EPT has no user bit
        CHECK(got == ept_expect);
    }
}

TEST_CASE("translate sees 1 GiB leaves written by others", "[paging]") {
    FakeMemory mem;
    PageTable<Pte, FakeMemory> pt(mem);
    REQUIRE(pt.init() == MapError::Ok);
    REQUIRE(pt.map(0, 0, PAGE_4K, RW_DATA) == MapError::Ok);  // builds PML4E -> PDPT
    uint64_t pdpt = mem.slot_value(pt.root(), 0) & Pte::ADDRESS_MASK;
    mem.store(mem.table(pdpt) + 1, 0x8000'0000 | Pte::PRESENT | Pte::LARGE);
    uint64_t pa;
    Attr a;
    REQUIRE(pt.translate(PAGE_1G + 0x1234'5678, pa, a));
    CHECK(pa == 0x8000'0000 + 0x1234'5678);
    CHECK(pt.map(PAGE_1G + PAGE_2M, 0, PAGE_4K, RW_DATA) == MapError::Overlap);
}

TEST_CASE("MapError strings", "[paging]") {
    CHECK(std::string(to_string(MapError::Overlap)) == "range overlaps an existing mapping");
    CHECK(std::string(to_string(static_cast<MapError>(200))) == "unknown map error");
}
