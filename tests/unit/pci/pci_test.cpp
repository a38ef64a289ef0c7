#include <catch2/catch.hpp>
#include <cstring>
#include <memory>
#include <string>

#include "test_machine.hpp"

using namespace natsume;
using namespace natsume::test;

namespace {

struct Machine {
    FakeConfigSpace hw;
    std::unique_ptr<pci::Inventory> inv = std::make_unique<pci::Inventory>();
    Machine() { build_machine(hw); }
    pci::ConfigAccess access() { return hw.access(); }
    const pci::Function* fn(uint16_t bdf) const {
        for (size_t i = 0; i < inv->count; ++i)
            if (inv->functions[i].bdf == bdf) return &inv->functions[i];
        return nullptr;
    }
};

std::string bdf_text(uint16_t bdf) {
    char buf[8];
    return pci::format_bdf(buf, bdf);
}

}  // namespace

TEST_CASE("BDF packing and formatting", "[pci]") {
    CHECK(pci::make_bdf(0, 0, 0) == 0);
    CHECK(pci::make_bdf(0x1a, 0x1f, 7) == 0x1aff);
    CHECK(pci::make_bdf(1, 2, 3) == 0x0113);
    CHECK(pci::bdf_bus(0x1aff) == 0x1a);
    CHECK(pci::bdf_dev(0x1aff) == 0x1f);
    CHECK(pci::bdf_fn(0x1aff) == 7);
    CHECK(bdf_text(pci::make_bdf(0x1a, 0x1f, 7)) == "1a:1f.7");
    CHECK(bdf_text(pci::make_bdf(0, 1, 0)) == "00:01.0");
    CHECK(bdf_text(0xFFFF) == "ff:1f.7");
}

TEST_CASE("byte and word helpers merge into the dword and spare Status RW1C bits", "[pci]") {
    Machine m;
    auto a = m.access();
    CHECK(pci::read16(a, E1000, pci::VENDOR_ID) == 0x8086);
    CHECK(pci::read16(a, E1000, pci::DEVICE_ID) == 0x100e);
    CHECK(pci::read8(a, E1000, pci::CLASS_CODE) == 0x02);
    CHECK(pci::read8(a, E1000, pci::INTERRUPT_LINE) == 11);
    CHECK(pci::read8(a, E1000, pci::INTERRUPT_PIN) == 1);
    CHECK(pci::read32(a, pci::make_bdf(0, 9, 0), 0) == 0xFFFFFFFFu);

    m.hw.set16(E1000, pci::STATUS, 0x2010);  // received master abort pending
    pci::write16(a, E1000, pci::COMMAND, 0x0002);
    CHECK(m.hw.get16(E1000, pci::COMMAND) == 0x0002);
    CHECK(m.hw.get16(E1000, pci::STATUS) == 0x2010);  // not cleared by the merge
    pci::write8(a, E1000, pci::LATENCY_TIMER, 0x40);
    CHECK(m.hw.get8(E1000, pci::LATENCY_TIMER) == 0x40);
    CHECK(m.hw.get8(E1000, pci::CACHE_LINE_SIZE) == 0x00);
    pci::write16(a, E1000, pci::STATUS, 0x2000);
    CHECK(m.hw.get16(E1000, pci::STATUS) == 0x0010);
    CHECK(m.hw.get16(E1000, pci::COMMAND) == 0x0002);
}

TEST_CASE("enumeration finds bus 0, buses behind bridges and all functions", "[pci]") {
    Machine m;
    REQUIRE(pci::enumerate(m.access(), *m.inv) == pci::Error::Ok);
    REQUIRE(m.inv->count == 8);
    const uint16_t expected[] = {HOST_BDF, E1000, PCIE_DEV, BRIDGE, MULTI0, MULTI3, LOOP_DEV, BEHIND};
    for (size_t i = 0; i < 8; ++i) CHECK(m.inv->functions[i].bdf == expected[i]);

    const pci::Function& e = *m.fn(E1000);
    CHECK(e.vendor_id == 0x8086);
    CHECK(e.device_id == 0x100e);
    CHECK(e.class_code == 0x02);
    CHECK(e.subclass == 0x00);
    CHECK(e.header_type == 0);
    CHECK(e.irq_line == 11);
    CHECK(e.irq_pin == 1);
    CHECK_FALSE(e.multifunction);
    CHECK_FALSE(e.is_bridge);
    CHECK(e.cap_pm == 0xDC);
    CHECK(e.cap_msi == 0);
    CHECK(e.cap_msix == 0);
    CHECK(e.cap_pcie == 0);
    CHECK_FALSE(e.cap_list_broken);
    CHECK(e.bar_count == 0);  // enumerate does not size

    const pci::Function& p = *m.fn(PCIE_DEV);
    CHECK(p.cap_pm == PM);
    CHECK(p.cap_msi == MSI);
    CHECK(p.cap_pcie == PCIE);
    CHECK(p.cap_msix == MSI_X);

    const pci::Function& b = *m.fn(BRIDGE);
    CHECK(b.is_bridge);
    CHECK(b.header_type == pci::HEADER_BRIDGE);
    CHECK(b.secondary_bus == 1);

    CHECK(m.fn(MULTI0)->multifunction);
    CHECK(m.fn(MULTI3)->class_code == 0x0C);
    CHECK(m.fn(LOOP_DEV)->cap_list_broken);
    CHECK(m.fn(BEHIND)->device_id == 0x0011);
}

TEST_CASE("INTx status hint: PCIe, or a command bit 10 that sticks; the probe restores the command", "[pci]") {
    Machine m;
    REQUIRE(pci::enumerate(m.access(), *m.inv) == pci::Error::Ok);
    CHECK_FALSE(m.fn(E1000)->intx_status_supported_hint);  // bit 10 ignored, like Bochs' e1000
    CHECK(m.fn(PCIE_DEV)->intx_status_supported_hint);
    CHECK(m.fn(BEHIND)->intx_status_supported_hint);
    CHECK_FALSE(m.fn(BRIDGE)->intx_status_supported_hint);  // no interrupt pin
    CHECK((m.hw.get16(BEHIND, pci::COMMAND) & pci::CMD_INTERRUPT_DISABLE) == 0);
    CHECK(m.hw.get16(E1000, pci::COMMAND) == 0x0003);
}

TEST_CASE("enumeration without a bridge does not reach bus 1; a function-0-less slot is absent", "[pci]") {
    FakeConfigSpace hw;
    hw.add(pci::make_bdf(0, 0, 0), 0x8086, 0x1237, 6, 0);
    hw.add(pci::make_bdf(1, 0, 0), 0x8086, 0x1111, 2, 0);  // no bridge leads here
    hw.add(pci::make_bdf(0, 7, 1), 0x8086, 0x2222, 2, 0);  // function 1 without function 0
    hw.add(pci::make_bdf(0, 8, 0), 0x8086, 0x3333, 2, 0);  // single-function: 0:8.1 is not scanned
    hw.add(pci::make_bdf(0, 8, 1), 0x8086, 0x4444, 2, 0);
    auto inv = std::make_unique<pci::Inventory>();
    REQUIRE(pci::enumerate(hw.access(), *inv) == pci::Error::Ok);
    REQUIRE(inv->count == 2);
    CHECK(inv->functions[0].bdf == pci::make_bdf(0, 0, 0));
    CHECK(inv->functions[1].bdf == pci::make_bdf(0, 8, 0));
}

TEST_CASE("a bridge looping back to an already scanned bus is reported and scanned once", "[pci]") {
    FakeConfigSpace hw;
    hw.add(pci::make_bdf(0, 1, 0), 0x8086, 0x244e, 6, 4, 1);
    hw.bridge(pci::make_bdf(0, 1, 0), 0, 1, 2);
    hw.add(pci::make_bdf(1, 0, 0), 0x8086, 0x244e, 6, 4, 1);
    hw.bridge(pci::make_bdf(1, 0, 0), 1, 0, 0xFF);  // claims bus 0 again
    hw.add(pci::make_bdf(1, 1, 0), 0x8086, 0x244e, 6, 4, 1);
    hw.bridge(pci::make_bdf(1, 1, 0), 1, 1, 1);  // claims its own bus
    auto inv = std::make_unique<pci::Inventory>();
    CHECK(pci::enumerate(hw.access(), *inv) == pci::Error::BusLoop);
    CHECK(inv->count == 3);
}

TEST_CASE("more functions than the inventory holds stop the scan with an error", "[pci]") {
    FakeConfigSpace hw;
    for (uint8_t dev = 0; dev < 10; ++dev)
        for (uint8_t fn = 0; fn < 8; ++fn) hw.add(pci::make_bdf(0, dev, fn), 0x8086, 0x1000, 2, 0, 0x80);
    auto inv = std::make_unique<pci::Inventory>();
    CHECK(pci::enumerate(hw.access(), *inv) == pci::Error::TooManyFunctions);
    CHECK(inv->count == pci::MAX_FUNCTIONS);
    CHECK(inv->functions[63].bdf == pci::make_bdf(0, 7, 7));
}

TEST_CASE("capability walk: order kept, loops and bad pointers end with an error", "[pci]") {
    Machine m;
    auto a = m.access();
    pci::Capability caps[8];
    size_t n = 0;
    REQUIRE(pci::walk_capabilities(a, PCIE_DEV, caps, 8, n) == pci::Error::Ok);
    REQUIRE(n == 4);
    CHECK(caps[0].offset == PM);
    CHECK(caps[1].offset == MSI);
    CHECK(caps[1].id == pci::CAP_MSI);
    CHECK(caps[2].offset == PCIE);
    CHECK(caps[3].offset == MSI_X);
    CHECK(pci::walk_capabilities(a, PCIE_DEV, caps, 2, n) == pci::Error::TooManyCapabilities);
    CHECK(n == 2);

    pci::Capability many[64];
    CHECK(pci::walk_capabilities(a, LOOP_DEV, many, 64, n) == pci::Error::CapabilityLoop);
    CHECK(n == pci::MAX_CAPABILITY_ENTRIES);
    CHECK(pci::find_capability(a, LOOP_DEV, pci::CAP_MSI) == 0);

    // A self-loop terminates too.
    m.hw.set8(E1000, 0xDD, 0xDC);
    CHECK(pci::walk_capabilities(a, E1000, many, 64, n) == pci::Error::CapabilityLoop);

    // Pointers into the header are refused; reserved low bits are masked.
    m.hw.set8(E1000, 0xDD, 0x10);
    CHECK(pci::walk_capabilities(a, E1000, many, 64, n) == pci::Error::CapabilityBadPointer);
    CHECK(n == 1);
    m.hw.set8(E1000, 0xDD, 0x00);
    m.hw.set8(E1000, 0x34, 0xDF);
    REQUIRE(pci::walk_capabilities(a, E1000, many, 64, n) == pci::Error::Ok);
    CHECK(n == 1);
    CHECK(many[0].offset == 0xDC);
    CHECK(pci::find_capability(a, E1000, pci::CAP_POWER_MANAGEMENT) == 0xDC);
    CHECK(pci::find_capability(a, E1000, pci::CAP_MSI) == 0);

    // Without the Status capability-list bit, the pointer is not followed.
    m.hw.set16(E1000, pci::STATUS, 0);
    REQUIRE(pci::walk_capabilities(a, E1000, many, 64, n) == pci::Error::Ok);
    CHECK(n == 0);
}

TEST_CASE("BAR sizing: 32-bit memory and I/O BARs of the e1000", "[pci]") {
    Machine m;
    REQUIRE(pci::enumerate(m.access(), *m.inv) == pci::Error::Ok);
    pci::Function f = *m.fn(E1000);
    m.hw.writes.clear();
    REQUIRE(pci::size_bars(m.access(), f) == pci::Error::Ok);
    REQUIRE(f.bar_count == 2);
    CHECK(f.bars[0].index == 0);
    CHECK_FALSE(f.bars[0].io);
    CHECK_FALSE(f.bars[0].is64);
    CHECK_FALSE(f.bars[0].prefetchable);
    CHECK(f.bars[0].base == E1000_MMIO);
    CHECK(f.bars[0].size == 128 * 1024);
    CHECK(f.bars[1].index == 1);
    CHECK(f.bars[1].io);
    CHECK(f.bars[1].base == E1000_IO);
    CHECK(f.bars[1].size == 64);

    // Restored BARs and command register.
    CHECK(m.hw.get32(E1000, 0x10) == E1000_MMIO);
    CHECK(m.hw.get32(E1000, 0x14) == (E1000_IO | 1));
    CHECK(m.hw.get16(E1000, pci::COMMAND) == 0x0003);

    // Decoding was off whenever a BAR held all ones.
    uint16_t cmd = 0x0003;
    bool probed  = false;
    for (const ConfigWrite& w : m.hw.writes) {
        if (w.offset == pci::COMMAND) cmd = static_cast<uint16_t>(w.value);
        if (w.offset >= 0x10 && w.offset < 0x28 && w.value == 0xFFFFFFFFu) {
            probed = true;
            CHECK((cmd & (pci::CMD_IO_SPACE | pci::CMD_MEMORY_SPACE)) == 0);
        }
    }
    CHECK(probed);
    CHECK(cmd == 0x0003);
}

TEST_CASE("BAR sizing: 64-bit prefetchable BAR above 4 GiB, bridge and errors", "[pci]") {
    Machine m;
    REQUIRE(pci::enumerate(m.access(), *m.inv) == pci::Error::Ok);
    REQUIRE(pci::size_all_bars(m.access(), *m.inv) == pci::Error::Ok);
    const pci::Function& p = *m.fn(PCIE_DEV);
    REQUIRE(p.bar_count == 2);
    CHECK(p.bars[0].index == 0);
    CHECK(p.bars[0].is64);
    CHECK(p.bars[0].prefetchable);
    CHECK(p.bars[0].base == PCIE_BAR);
    CHECK(p.bars[0].size == PCIE_BAR_SIZE);
    CHECK(p.bars[1].index == 2);
    CHECK_FALSE(p.bars[1].is64);
    CHECK(p.bars[1].base == PCIE_BAR2);
    CHECK(p.bars[1].size == 16 * 1024);
    CHECK(m.hw.get32(PCIE_DEV, 0x10) == 0x0000000Cu);
    CHECK(m.hw.get32(PCIE_DEV, 0x14) == 0x8u);

    CHECK(m.fn(BRIDGE)->bar_count == 0);
    CHECK(m.fn(BEHIND)->bar_count == 1);
    CHECK(m.fn(BEHIND)->bars[0].size == 4096);

    // A 64-bit BAR cannot start in the last slot.
    pci::Function f = *m.fn(MULTI3);
    m.hw.mem_bar(MULTI3, 5, 0xE0000000, 0x1000, true, false);
    CHECK(pci::size_bars(m.access(), f) == pci::Error::Bar64InLastSlot);
    m.hw.set32(MULTI3, 0x24, 0xE0000006);  // reserved memory type 11b
    CHECK(pci::size_bars(m.access(), f) == pci::Error::BarReservedType);
}

TEST_CASE("0xCF8/0xCFC decode", "[pci]") {
    const uint32_t cf8 = 0x80000000u | (1u << 16) | (3u << 11) | (2u << 8) | 0x3C;
    pci::PortAccess p  = pci::decode_cf8(cf8, 0xCFC);
    CHECK(p.enabled);
    CHECK(p.bdf == pci::make_bdf(1, 3, 2));
    CHECK(p.offset == 0x3C);
    p = pci::decode_cf8(cf8, 0xCFD);
    CHECK(p.offset == 0x3D);
    p = pci::decode_cf8(cf8 | 0x3, 0xCFF);  // reserved low bits of CF8 are not part of the register
    CHECK(p.offset == 0x3F);
    p = pci::decode_cf8(0x8000FFFCu, 0xCFE);
    CHECK(p.bdf == pci::make_bdf(0, 0x1F, 7));
    CHECK(p.offset == 0xFE);
    CHECK_FALSE(pci::decode_cf8(cf8 & 0x7FFFFFFFu, 0xCFC).enabled);
    CHECK_FALSE(pci::decode_cf8(cf8, 0xCF8).enabled);
    CHECK_FALSE(pci::decode_cf8(cf8, 0xD00).enabled);
}

TEST_CASE("ECAM (MCFG) decode", "[pci]") {
    const uint64_t base = 0xB0000000;
    uint16_t bdf = 0, off = 0;
    REQUIRE(pci::decode_ecam(base + (1u << 20) + (2u << 15) + (3u << 12) + 0x104, base, 0, 0xFF, bdf, off));
    CHECK(bdf == pci::make_bdf(1, 2, 3));
    CHECK(off == 0x104);
    REQUIRE(pci::decode_ecam(base + 0xFFFFFFF, base, 0, 0xFF, bdf, off));
    CHECK(bdf == 0xFFFF);
    CHECK(off == 0xFFF);
    CHECK_FALSE(pci::decode_ecam(base - 4, base, 0, 0xFF, bdf, off));
    CHECK_FALSE(pci::decode_ecam(base + (64ull << 20), base, 0, 63, bdf, off));
    CHECK_FALSE(pci::decode_ecam(base + (256ull << 20), base, 0, 0xFF, bdf, off));
    // MCFG's base is bus 0's address even when the segment starts later.
    CHECK_FALSE(pci::decode_ecam(base + 0x10, base, 1, 4, bdf, off));
    REQUIRE(pci::decode_ecam(base + (4ull << 20) + 8, base, 1, 4, bdf, off));
    CHECK(bdf == pci::make_bdf(4, 0, 0));
    CHECK(off == 8);
}

TEST_CASE("every PCI error has a sentence", "[pci]") {
    for (int e = 0; e <= static_cast<int>(pci::Error::BarReservedType); ++e)
        CHECK(std::strlen(pci::to_string(static_cast<pci::Error>(e))) > 10);
}
