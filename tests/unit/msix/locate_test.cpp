#include <catch2/catch.hpp>

#include "msix_machine.hpp"
#include "vdev/msix.hpp"

using namespace natsume;
using namespace natsume::test;

namespace {

bool locate_with(uint16_t control, uint32_t table, uint32_t pba, msix::Location& loc) {
    MsixMachine m;
    set_msix_regs(m.hw, control, table, pba);
    const pci::Function* f = m.fn(PCIE_DEV);
    REQUIRE(f != nullptr);
    return msix::locate(*f, m.a, MSI_X, loc);
}

}  // namespace

TEST_CASE("locate finds the PCIe device's table and PBA in BAR2", "[msix][locate]") {
    MsixMachine m;
    const pci::Function* f = m.fn(PCIE_DEV);
    REQUIRE(f != nullptr);
    CHECK(f->cap_msix == MSI_X);
    msix::Location loc{};
    REQUIRE(msix::locate(*f, m.a, MSI_X, loc));
    CHECK(loc.cap_offset == MSI_X);
    CHECK(loc.table_entries == 8);
    CHECK(loc.table_bar == 2);
    CHECK(loc.table_offset == 0x2000u);
    CHECK(loc.table_address == PCIE_BAR2 + 0x2000u);
    CHECK(loc.table_bytes == 128u);
    CHECK(loc.pba_bar == 2);
    CHECK(loc.pba_offset == 0x3000u);
    CHECK(loc.pba_address == PCIE_BAR2 + 0x3000u);
    CHECK(loc.pba_bytes == 8u);
    CHECK(loc.table_first_page == PCIE_BAR2 + 0x2000u);
    CHECK(loc.table_page_count == 1u);
    CHECK_FALSE(loc.pba_in_table_pages);
    // locate only reads config space.
    CHECK(m.hw.writes.empty());

    CHECK(msix::offset_in_table(loc, loc.table_address) == 0u);
    CHECK(msix::offset_in_table(loc, loc.table_address + 127) == 127u);
    CHECK(msix::offset_in_table(loc, loc.table_address + 128) == msix::NOT_IN_TABLE);
    CHECK(msix::offset_in_table(loc, loc.table_address - 4) == msix::NOT_IN_TABLE);
    CHECK(msix::in_table_pages(loc, loc.table_address + 0xFFC));
    CHECK_FALSE(msix::in_table_pages(loc, loc.table_address + 0x1000));
    CHECK_FALSE(msix::in_table_pages(loc, loc.table_address - 1));
}

TEST_CASE("a PBA in the table's page is passed through, not emulated", "[msix][locate]") {
    msix::Location loc{};
    REQUIRE(locate_with(0x0007, 0x0100 | MSIX_BIR, 0x0800 | MSIX_BIR, loc));
    CHECK(loc.table_first_page == PCIE_BAR2);
    CHECK(loc.table_page_count == 1u);
    CHECK(loc.pba_in_table_pages);
    CHECK(msix::in_table_pages(loc, loc.pba_address));
    // The trapped access at the PBA, and at a register before the table, are not the table's.
    CHECK(msix::offset_in_table(loc, loc.pba_address) == msix::NOT_IN_TABLE);
    CHECK(msix::offset_in_table(loc, PCIE_BAR2) == msix::NOT_IN_TABLE);
    msix::Table t;
    REQUIRE(t.init(loc.table_entries, msi::Route{1}) == msix::Error::Ok);
    const uint32_t pba_rel = static_cast<uint32_t>(loc.pba_address - loc.table_address);
    CHECK(t.write(pba_rel, 8, 0).kind == msix::Action::Kind::NotInTable);
    CHECK_FALSE(t.contains(pba_rel));
}

TEST_CASE("a table crossing a page boundary traps every page it touches", "[msix][locate]") {
    msix::Location loc{};
    // 256 entries = 4 KiB starting half-way into a page: two pages.
    REQUIRE(locate_with(0x00FF, 0x0800 | MSIX_BIR, 0x3000 | MSIX_BIR, loc));
    CHECK(loc.table_entries == 256);
    CHECK(loc.table_bytes == 4096u);
    CHECK(loc.pba_bytes == 32u);
    CHECK(loc.table_first_page == PCIE_BAR2);
    CHECK(loc.table_page_count == 2u);
    CHECK_FALSE(loc.pba_in_table_pages);
    // A 64-bit BAR above 4 GiB: the BIR names its lower slot.
    REQUIRE(locate_with(0x07FF, 0x10000 | 0, 0x20000 | 0, loc));
    CHECK(loc.table_entries == 2048);
    CHECK(loc.table_address == PCIE_BAR + 0x10000);
    CHECK(loc.table_page_count == 8u);
    CHECK(loc.pba_bytes == 256u);
}

TEST_CASE("locate refuses what cannot be trapped safely", "[msix][locate]") {
    msix::Location loc{};
    CHECK_FALSE(locate_with(0x0007, 0x2000 | 1, 0x3000 | 2, loc));  // upper half of the 64-bit BAR
    CHECK_FALSE(locate_with(0x0007, 0x2000 | 3, 0x3000 | 2, loc));  // no BAR in slot 3
    CHECK_FALSE(locate_with(0x0007, 0x2000 | 7, 0x3000 | 2, loc));  // reserved BIR
    CHECK_FALSE(locate_with(0x0007, 0x2000 | 2, 0x3000 | 5, loc));  // PBA: no BAR
    CHECK_FALSE(locate_with(0x0007, 0x3F90 | 2, 0x3000 | 2, loc));  // table runs past the 16 KiB BAR
    CHECK_FALSE(locate_with(0x007F, 0x0000 | 2, 0x3FF8 | 2, loc));  // 128 entries: a 16-byte PBA past the end
    CHECK(locate_with(0x0007, 0x3F80 | 2, 0x3FF8 | 2, loc));        // exactly at the end: fine

    MsixMachine m;
    const pci::Function* f = m.fn(PCIE_DEV);
    REQUIRE(f != nullptr);
    CHECK_FALSE(msix::locate(*f, m.a, MSI, loc));   // not an MSI-X capability
    CHECK_FALSE(msix::locate(*f, m.a, 0x10, loc));  // inside the header
    // A function whose BARs were not sized has nothing to map.
    pci::Function unsized = *f;
    unsized.bar_count     = 0;
    CHECK_FALSE(msix::locate(unsized, m.a, MSI_X, loc));
}

TEST_CASE("only naturally aligned 4- and 8-byte accesses reach the table pages; the PBA is read-only",
          "[msix][locate][hostile]") {
    msix::Location loc{};
    REQUIRE(locate_with(0x0007, 0x0100 | MSIX_BIR, 0x0800 | MSIX_BIR, loc));  // PBA in the table's page
    const uint64_t entry = loc.table_address;
    CHECK(msix::access_refusal(loc, entry, 4, true) == nullptr);
    CHECK(msix::access_refusal(loc, entry + 8, 8, true) == nullptr);
    CHECK(msix::access_refusal(loc, entry, 1, false) != nullptr);      // byte
    CHECK(msix::access_refusal(loc, entry, 2, true) != nullptr);       // word
    CHECK(msix::access_refusal(loc, entry + 2, 4, true) != nullptr);   // unaligned
    CHECK(msix::access_refusal(loc, entry + 4, 8, false) != nullptr);  // qword across two dwords of an entry
    CHECK(msix::access_refusal(loc, entry, 16, true) != nullptr);      // wider than a qword
    CHECK(msix::access_refusal(loc, loc.pba_address, 8, false) == nullptr);
    CHECK(msix::access_refusal(loc, loc.pba_address, 8, true) != nullptr);
    CHECK(msix::access_refusal(loc, loc.pba_address + 4, 4, true) != nullptr);
    // The last dword of the trapped page is fine; nothing may run into the next page.
    const uint64_t last = loc.table_first_page + 0xffc;
    CHECK(msix::access_refusal(loc, last, 4, false) == nullptr);
    CHECK(msix::access_refusal(loc, last + 4, 4, false) != nullptr);
}
