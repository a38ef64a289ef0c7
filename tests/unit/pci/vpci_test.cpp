#include <catch2/catch.hpp>
#include <cstring>
#include <memory>
#include <string>

#include "test_machine.hpp"
#include "vdev/native_ide.hpp"
#include "vdev/vpci.hpp"

using namespace natsume;
using namespace natsume::test;
using Kind = vpci::WriteResult::Kind;

namespace {

// A platform plus one partition owning the e1000 (no DMA) and the PCIe device (DMA allowed).
struct Partition {
    FakeConfigSpace hw;
    std::unique_ptr<pci::Inventory> inv = std::make_unique<pci::Inventory>();
    std::unique_ptr<vpci::ConfigSpace> view;
    pci::ConfigAccess a;

    explicit Partition(uint32_t shown = vpci::DEFAULT_SHOWN_CAPABILITIES) {
        build_machine(hw);
        a = hw.access();
        REQUIRE(pci::enumerate(a, *inv) == pci::Error::Ok);
        REQUIRE(pci::size_all_bars(a, *inv) == pci::Error::Ok);
        view = std::make_unique<vpci::ConfigSpace>(shown);
        REQUIRE(view->add_device(fn(E1000), vpci::DeviceOptions{false, false}, a) == vpci::Error::Ok);
        REQUIRE(view->add_device(fn(PCIE_DEV), vpci::DeviceOptions{true, false}, a) == vpci::Error::Ok);
        hw.writes.clear();
    }
    const pci::Function& fn(uint16_t bdf) const {
        for (size_t i = 0; i < inv->count; ++i)
            if (inv->functions[i].bdf == bdf) return inv->functions[i];
        FAIL("no such function");
        return inv->functions[0];
    }
    uint32_t read(uint16_t bdf, uint16_t off, uint8_t size = 4) { return view->read(bdf, off, size, a); }
    vpci::WriteResult write(uint16_t bdf, uint16_t off, uint32_t v, uint8_t size = 4) {
        return view->write(bdf, off, size, v, a);
    }
};

std::string why(const vpci::WriteResult& r) { return r.why == nullptr ? "" : r.why; }

}  // namespace

TEST_CASE("virtual host bridge at 00:00.0 when the partition does not own it", "[vpci]") {
    Partition p;
    CHECK(p.view->has_virtual_host_bridge());
    CHECK(p.read(HOST_BDF, 0x00) == 0x12378086u);  // not the physical 8086:29c0
    CHECK(p.read(HOST_BDF, 0x00, 2) == vpci::HOST_BRIDGE_VENDOR);
    CHECK(p.read(HOST_BDF, 0x02, 2) == vpci::HOST_BRIDGE_DEVICE);
    CHECK(p.read(HOST_BDF, 0x08) == 0x06000002u);  // class 06/00/00, revision 2
    CHECK(p.read(HOST_BDF, 0x0E, 1) == 0);         // header type 0, single function
    CHECK(p.read(HOST_BDF, 0x10) == 0);            // no BARs
    CHECK(p.read(HOST_BDF, 0x06, 2) == 0);         // no capability list
    CHECK(p.read(HOST_BDF, 0x100) == 0xFFFFFFFFu);
    CHECK(p.write(HOST_BDF, 0x04, 0x7).kind == Kind::Ignored);
    CHECK(p.write(HOST_BDF, 0x10, 0xFFFFFFFF).kind == Kind::Ignored);
    CHECK(p.read(HOST_BDF, 0x10) == 0);
    CHECK(p.hw.writes.empty());

    // A partition that owns 00:00.0 sees the real one instead.
    vpci::ConfigSpace owner;
    REQUIRE(owner.add_device(p.fn(HOST_BDF), vpci::DeviceOptions{false, false}, p.a) == vpci::Error::Ok);
    CHECK_FALSE(owner.has_virtual_host_bridge());
    CHECK(owner.read(HOST_BDF, 0x00, 4, p.a) == 0x29c08086u);
}

TEST_CASE("foreign and absent functions read as absent and writes never reach hardware", "[vpci]") {
    Partition p;
    for (uint16_t bdf : {BRIDGE, MULTI0, MULTI3, BEHIND, LOOP_DEV, pci::make_bdf(0, 9, 0)}) {
        CHECK(p.read(bdf, 0x00) == 0xFFFFFFFFu);
        CHECK(p.read(bdf, 0x0E, 1) == 0xFFu);
        CHECK(p.read(bdf, 0x02, 2) == 0xFFFFu);
        CHECK_FALSE(p.view->owns(bdf));
        CHECK(p.write(bdf, 0x04, 0x0007).kind == Kind::Ignored);
        CHECK(p.write(bdf, 0x10, 0xFFFFFFFFu).kind == Kind::Ignored);
        CHECK(p.write(bdf, 0x3C, 0x55, 1).kind == Kind::Ignored);
    }
    CHECK(p.hw.writes.empty());
    CHECK(p.hw.get16(BRIDGE, 0x04) == 0);
    CHECK(p.read(E1000, 0x00) == 0x100e8086u);
}

TEST_CASE("owned functions pass their identity through; odd accesses are handled", "[vpci]") {
    Partition p;
    CHECK(p.read(E1000, 0x00) == 0x100e8086u);
    CHECK(p.read(E1000, 0x02, 2) == 0x100e);
    CHECK(p.read(E1000, 0x01, 1) == 0x80);
    CHECK(p.read(E1000, 0x0B, 1) == 0x02);
    CHECK(p.read(E1000, 0x3D, 1) == 1);
    // Crossing a dword or an unsupported size: all ones, like an aborted access.
    CHECK(p.read(E1000, 0x03, 2) == 0xFFFFu);
    CHECK(p.read(E1000, 0x00, 3) == 0xFFFFFFu);
    CHECK(p.read(E1000, 0x02, 4) == 0xFFFFFFFFu);
    CHECK(p.write(E1000, 0x0F, 0xFFFF, 2).kind == Kind::Ignored);
    CHECK(p.write(E1000, 0x0C, 0x11, 3).kind == Kind::Ignored);
    // Extended config space is not exposed.
    CHECK(p.read(PCIE_DEV, 0x100) == 0xFFFFFFFFu);
    CHECK(p.read(PCIE_DEV, 0xFFC, 2) == 0xFFFFu);
    CHECK(p.write(PCIE_DEV, 0x100, 0x12345678).kind == Kind::Ignored);
    // Read-only identity: writes ignored, never sent.
    CHECK(p.write(E1000, 0x00, 0x12345678).kind == Kind::Ignored);
    CHECK(p.write(E1000, 0x08, 0x0).kind == Kind::Ignored);
    CHECK(p.write(E1000, 0x0E, 0x80, 1).kind == Kind::Ignored);
    CHECK(p.write(E1000, 0x2C, 0xAAAA5555).kind == Kind::Ignored);
    CHECK(p.write(E1000, 0x34, 0x40, 1).kind == Kind::Ignored);
    CHECK(p.hw.writes.empty());
    // Cache line size and latency timer are the guest's.
    CHECK(p.write(E1000, 0x0C, 0x00804010).kind == Kind::Done);
    CHECK(p.hw.get32(E1000, 0x0C) == 0x00004010u);  // header type untouched
}

TEST_CASE("BAR sizing is emulated: size mask with type bits, then the base again", "[vpci]") {
    Partition p;
    // 32-bit memory BAR, 128 KiB.
    CHECK(p.read(E1000, 0x10) == E1000_MMIO);
    CHECK(p.write(E1000, 0x10, 0xFFFFFFFFu).kind == Kind::Done);
    CHECK(p.read(E1000, 0x10) == 0xFFFE0000u);
    CHECK(p.read(E1000, 0x12, 2) == 0xFFFEu);
    CHECK(p.write(E1000, 0x10, E1000_MMIO).kind == Kind::Done);
    CHECK(p.read(E1000, 0x10) == E1000_MMIO);
    // I/O BAR, 64 bytes.
    CHECK(p.read(E1000, 0x14) == (E1000_IO | 1u));
    CHECK(p.write(E1000, 0x14, 0xFFFFFFFFu).kind == Kind::Done);
    CHECK(p.read(E1000, 0x14) == 0xFFFFFFC1u);
    CHECK(p.write(E1000, 0x14, E1000_IO | 1u).kind == Kind::Done);
    CHECK(p.read(E1000, 0x14) == (E1000_IO | 1u));
    // Unimplemented slots stay zero.
    CHECK(p.write(E1000, 0x18, 0xFFFFFFFFu).kind == Kind::Ignored);
    CHECK(p.read(E1000, 0x18) == 0);
    // The hardware never saw any of it.
    CHECK(p.hw.writes.empty());
    CHECK(p.hw.get32(E1000, 0x10) == E1000_MMIO);
}

TEST_CASE("64-bit prefetchable BAR sizing, one half at a time and with word writes", "[vpci]") {
    Partition p;
    CHECK(p.read(PCIE_DEV, 0x10) == 0x0000000Cu);
    CHECK(p.read(PCIE_DEV, 0x14) == 0x00000008u);
    CHECK(p.write(PCIE_DEV, 0x10, 0xFFFFFFFFu).kind == Kind::Done);
    CHECK(p.read(PCIE_DEV, 0x10) == 0xF000000Cu);
    CHECK(p.read(PCIE_DEV, 0x14) == 0x00000008u);  // the upper half is not being sized yet
    CHECK(p.write(PCIE_DEV, 0x14, 0xFFFFFFFFu).kind == Kind::Done);
    CHECK(p.read(PCIE_DEV, 0x14) == 0xFFFFFFFFu);
    CHECK(p.write(PCIE_DEV, 0x10, 0x0000000Cu).kind == Kind::Done);
    CHECK(p.write(PCIE_DEV, 0x14, 0x00000008u).kind == Kind::Done);
    CHECK(p.read(PCIE_DEV, 0x10) == 0x0000000Cu);
    CHECK(p.read(PCIE_DEV, 0x14) == 0x00000008u);
    // A BAR is judged on the dword a write leaves: a word of ones over the
    // base's low half is a different address, not a probe.
    CHECK(p.write(PCIE_DEV, 0x18, 0xFFFF, 2).kind == Kind::Refused);
    CHECK(p.write(PCIE_DEV, 0x18, 0xFFFFFFFFu).kind == Kind::Done);
    CHECK(p.read(PCIE_DEV, 0x18) == 0xFFFFC000u);
    CHECK(p.write(PCIE_DEV, 0x18, 0x0000, 2).kind == Kind::Refused);  // 0xFFFF0000 is not the base
    CHECK(p.read(PCIE_DEV, 0x18) == PCIE_BAR2);
    CHECK(p.hw.writes.empty());
}

TEST_CASE("BAR relocation is refused and the BAR keeps its value", "[vpci]") {
    Partition p;
    const vpci::WriteResult r = p.write(E1000, 0x10, 0xFE000000u);
    CHECK(r.kind == Kind::Refused);
    CHECK(why(r).find("BAR relocation refused") != std::string::npos);
    CHECK(p.read(E1000, 0x10) == E1000_MMIO);
    CHECK(p.write(E1000, 0x14, 0xD001u).kind == Kind::Refused);
    CHECK(p.read(E1000, 0x14) == (E1000_IO | 1u));
    CHECK(p.write(PCIE_DEV, 0x14, 0x9u).kind == Kind::Refused);  // upper half of the 64-bit BAR
    CHECK(p.read(PCIE_DEV, 0x14) == 0x8u);
    // A refused write in the middle of sizing ends the sizing.
    CHECK(p.write(E1000, 0x10, 0xFFFFFFFFu).kind == Kind::Done);
    CHECK(p.write(E1000, 0x10, 0x12340000u).kind == Kind::Refused);
    CHECK(p.read(E1000, 0x10) == E1000_MMIO);
    // Writing the base back byte by byte is accepted.
    CHECK(p.write(E1000, 0x12, 0xFEBC, 2).kind == Kind::Done);
    CHECK(p.hw.writes.empty());
    CHECK(p.hw.get32(E1000, 0x10) == E1000_MMIO);
    CHECK(p.hw.get32(E1000, 0x14) == (E1000_IO | 1u));
}

TEST_CASE("expansion ROM BAR is not exposed", "[vpci]") {
    Partition p;
    CHECK(p.hw.get32(PCIE_DEV, 0x30) == 0xFEA00000u);
    CHECK(p.read(PCIE_DEV, 0x30) == 0);
    CHECK(p.write(PCIE_DEV, 0x30, 0xFFFFF800u).kind == Kind::Ignored);
    CHECK(p.read(PCIE_DEV, 0x30) == 0);
    CHECK(p.hw.writes.empty());
}

TEST_CASE("command register: bus master needs DMA permission; other bits filtered", "[vpci]") {
    Partition p;
    // e1000: DMA not allowed. Memory and I/O decode still apply.
    p.hw.set16(E1000, 0x04, 0x0000);
    const vpci::WriteResult r = p.write(E1000, 0x04, 0x0007, 2);
    CHECK(r.kind == Kind::Refused);
    CHECK(why(r).find("Bus mastering refused") != std::string::npos);
    CHECK(p.hw.get16(E1000, 0x04) == 0x0003);
    CHECK(p.read(E1000, 0x04, 2) == 0x0003);
    // Clearing bus master is always fine.
    CHECK(p.write(E1000, 0x04, 0x0001, 2).kind == Kind::Done);
    CHECK(p.hw.get16(E1000, 0x04) == 0x0001);
    // A byte write to the upper command byte cannot set bus master.
    CHECK(p.write(E1000, 0x05, 0x01, 1).kind == Kind::Done);  // SERR enable
    CHECK(p.hw.get16(E1000, 0x04) == 0x0101);

    // PCIe device: DMA allowed; special cycles, MWI, VGA snoop, fast back-to-back stay as they were.
    p.hw.set16(PCIE_DEV, 0x04, 0x0000);
    CHECK(p.write(PCIE_DEV, 0x04, 0xFFFF, 2).kind == Kind::Done);
    CHECK(p.hw.get16(PCIE_DEV, 0x04) == (0x0007 | 0x0040 | 0x0100 | 0x0400));
    CHECK(p.write(PCIE_DEV, 0x04, 0x0000, 2).kind == Kind::Done);
    CHECK(p.hw.get16(PCIE_DEV, 0x04) == 0);
    p.hw.set16(PCIE_DEV, 0x04, 0x0010);  // MWI set by firmware survives the guest's writes
    CHECK(p.write(PCIE_DEV, 0x04, 0x0006, 2).kind == Kind::Done);
    CHECK(p.hw.get16(PCIE_DEV, 0x04) == 0x0016);
}

TEST_CASE("status register: RW1C bits pass through, command writes spare them", "[vpci]") {
    Partition p;
    p.hw.set16(E1000, 0x06, 0x3010);  // received master abort + received target abort pending
    CHECK(p.write(E1000, 0x04, 0x0003, 2).kind == Kind::Done);
    CHECK(p.write(E1000, 0x04, 0x00000002).kind == Kind::Done);  // dword with zero status
    CHECK(p.hw.get16(E1000, 0x06) == 0x3010);
    CHECK(p.write(E1000, 0x06, 0x2000, 2).kind == Kind::Done);
    CHECK(p.hw.get16(E1000, 0x06) == 0x1010);
    CHECK(p.write(E1000, 0x04, 0x10000002).kind == Kind::Done);
    CHECK(p.hw.get16(E1000, 0x06) == 0x0010);
    CHECK(p.hw.get16(E1000, 0x04) == 0x0002);
}

TEST_CASE("capability chain hides MSI and MSI-X; Status bit 4 stays consistent", "[vpci]") {
    Partition p;
    CHECK((p.read(PCIE_DEV, 0x06, 2) & 0x10) != 0);
    CHECK(p.read(PCIE_DEV, 0x34, 1) == PM);
    CHECK(p.read(PCIE_DEV, PM, 1) == pci::CAP_POWER_MANAGEMENT);
    CHECK(p.read(PCIE_DEV, PM + 1, 1) == PCIE);  // skips MSI at 0xD0
    CHECK(p.read(PCIE_DEV, PCIE, 1) == pci::CAP_PCI_EXPRESS);
    CHECK(p.read(PCIE_DEV, PCIE + 1, 1) == 0);  // MSI-X at 0xA0 hidden, end of chain
    CHECK(p.read(PCIE_DEV, PCIE + 2, 2) == 0x0002);
    CHECK(p.read(PCIE_DEV, PM) == 0x0003E001u);
    // Hidden capabilities read as zero and ignore writes, in all their registers.
    CHECK(p.read(PCIE_DEV, MSI) == 0);
    CHECK(p.read(PCIE_DEV, MSI + 0x14) == 0);
    CHECK(p.read(PCIE_DEV, MSI_X) == 0);
    CHECK(p.write(PCIE_DEV, MSI + 2, 0x0001, 2).kind == Kind::Ignored);
    CHECK(p.write(PCIE_DEV, MSI + 4, 0xFEE00000u).kind == Kind::Ignored);
    CHECK(p.write(PCIE_DEV, MSI_X + 2, 0x8000, 2).kind == Kind::Ignored);
    CHECK(p.hw.writes.empty());

    // A walk through the guest's view with the library's own walker finds PM and PCIe only.
    struct View {
        vpci::ConfigSpace* v;
        pci::ConfigAccess a;
    } view{p.view.get(), p.a};
    pci::ConfigAccess guest{[](void* c, uint16_t bdf, uint16_t off) {
                                auto* s = static_cast<View*>(c);
                                return s->v->read(bdf, off, 4, s->a);
                            },
                            [](void*, uint16_t, uint16_t, uint32_t) {}, &view};
    pci::Capability caps[8];
    size_t n = 0;
    REQUIRE(pci::walk_capabilities(guest, PCIE_DEV, caps, 8, n) == pci::Error::Ok);
    REQUIRE(n == 2);
    CHECK(caps[0].id == pci::CAP_POWER_MANAGEMENT);
    CHECK(caps[1].id == pci::CAP_PCI_EXPRESS);
}

TEST_CASE("the shown capability set is a parameter", "[vpci]") {
    Partition pcie_only(vpci::cap_bit(pci::CAP_PCI_EXPRESS));
    CHECK(pcie_only.read(PCIE_DEV, 0x34, 1) == PCIE);
    CHECK(pcie_only.read(PCIE_DEV, PCIE + 1, 1) == 0);
    CHECK(pcie_only.read(PCIE_DEV, PM) == 0);
    CHECK((pcie_only.read(PCIE_DEV, 0x06, 2) & 0x10) != 0);
    // The e1000's only capability is hidden: no list at all, status bit 4 clear.
    CHECK(pcie_only.read(E1000, 0x34, 1) == 0);
    CHECK((pcie_only.read(E1000, 0x06, 2) & 0x10) == 0);
    CHECK((pcie_only.hw.get16(E1000, 0x06) & 0x10) != 0);

    Partition with_msi(vpci::DEFAULT_SHOWN_CAPABILITIES | vpci::cap_bit(pci::CAP_MSI));
    CHECK(with_msi.read(PCIE_DEV, PM + 1, 1) == MSI);
    CHECK(with_msi.read(PCIE_DEV, MSI + 1, 1) == PCIE);
    CHECK(with_msi.read(PCIE_DEV, MSI + 2, 2) == 0x0080);
    CHECK(with_msi.write(PCIE_DEV, MSI + 4, 0xFEE00000u).kind == Kind::Done);
    CHECK(with_msi.hw.get32(PCIE_DEV, MSI + 4) == 0xFEE00000u);
}

TEST_CASE("shown capability registers pass through without clearing RW1C bits", "[vpci]") {
    Partition p;
    // PM control/status: power state D3hot by a byte write; PME_Status must survive.
    p.hw.set16(E1000, 0xDC + 4, 0x8000);
    CHECK(p.write(E1000, 0xDC + 4, 0x03, 1).kind == Kind::Done);
    CHECK(p.hw.get16(E1000, 0xDC + 4) == 0x8003);
    CHECK(p.write(E1000, 0xDC + 4, 0x8000, 2).kind == Kind::Done);  // the guest clears it on purpose
    CHECK(p.hw.get16(E1000, 0xDC + 4) == 0x0000);
    // Capability ID and next pointer are read-only.
    CHECK(p.write(E1000, 0xDC, 0x0000FFFF, 2).kind == Kind::Ignored);
    CHECK(p.write(E1000, 0xDC, 0x00220301).kind == Kind::Done);  // PMC bytes go through (read-only in hw)
    CHECK(p.hw.get8(E1000, 0xDC) == pci::CAP_POWER_MANAGEMENT);
    // PCIe Device Control, with a Device Status error pending.
    p.hw.set16(PCIE_DEV, PCIE + 0x0A, 0x0004);
    CHECK(p.write(PCIE_DEV, PCIE + 8, 0x2810, 2).kind == Kind::Done);
    CHECK(p.hw.get16(PCIE_DEV, PCIE + 8) == 0x2810);
    CHECK(p.hw.get16(PCIE_DEV, PCIE + 0x0A) == 0x0004);
    CHECK(p.read(PCIE_DEV, PCIE + 8, 2) == 0x2810);
}

TEST_CASE("device-specific registers: reads pass through, writes refused", "[vpci]") {
    Partition p;
    p.hw.set32(E1000, 0x40, 0xCAFEF00D);
    CHECK(p.read(E1000, 0x40) == 0xCAFEF00Du);
    const vpci::WriteResult r = p.write(E1000, 0x40, 0);
    CHECK(r.kind == Kind::Refused);
    CHECK_FALSE(why(r).empty());
    CHECK(p.hw.writes.empty());
}

TEST_CASE("interrupt line is a virtual byte per function", "[vpci]") {
    Partition p;
    CHECK(p.read(E1000, 0x3C, 1) == 11);
    CHECK(p.read(PCIE_DEV, 0x3C, 1) == 10);
    CHECK(p.write(E1000, 0x3C, 5, 1).kind == Kind::Done);
    CHECK(p.read(E1000, 0x3C, 1) == 5);
    CHECK(p.read(E1000, 0x3C, 2) == 0x0105);  // pin still INTA#
    CHECK(p.view->find(E1000)->irq_line == 5);
    CHECK(p.read(PCIE_DEV, 0x3C, 1) == 10);
    CHECK(p.hw.get8(E1000, 0x3C) == 11);
    CHECK(p.write(E1000, 0x3D, 4, 1).kind == Kind::Ignored);  // pin is read-only
    CHECK(p.read(E1000, 0x3D, 1) == 1);
    CHECK(p.hw.writes.empty());
}

TEST_CASE("INTx disable virtualized when the hypervisor owns a shared line", "[vpci]") {
    FakeConfigSpace hw;
    build_machine(hw);
    auto a   = hw.access();
    auto inv = std::make_unique<pci::Inventory>();
    REQUIRE(pci::enumerate(a, *inv) == pci::Error::Ok);
    REQUIRE(pci::size_all_bars(a, *inv) == pci::Error::Ok);
    vpci::ConfigSpace v;
    REQUIRE(v.add_device(inv->functions[7], vpci::DeviceOptions{true, true}, a) == vpci::Error::Ok);
    REQUIRE(inv->functions[7].bdf == BEHIND);
    hw.set16(BEHIND, 0x04, 0x0402);  // the hypervisor has masked the line
    CHECK((v.read(BEHIND, 0x04, 2, a) & 0x0400) == 0);
    CHECK(v.write(BEHIND, 0x04, 2, 0x0406, a).kind == vpci::WriteResult::Kind::Done);
    CHECK(v.find(BEHIND)->guest_intx_disable);
    CHECK((v.read(BEHIND, 0x04, 2, a) & 0x0400) != 0);
    CHECK(v.write(BEHIND, 0x04, 2, 0x0006, a).kind == vpci::WriteResult::Kind::Done);
    CHECK_FALSE(v.find(BEHIND)->guest_intx_disable);
    CHECK(hw.get16(BEHIND, 0x04) == 0x0406);  // bus master set; bit 10 stays the hypervisor's
    hw.set16(BEHIND, 0x04, 0x0006);           // the hypervisor unmasks
    CHECK(v.write(BEHIND, 0x04, 2, 0x0406, a).kind == vpci::WriteResult::Kind::Done);
    CHECK(hw.get16(BEHIND, 0x04) == 0x0006);
}

TEST_CASE("an owned bridge keeps its bus numbers and windows; no secondary bus reset", "[vpci]") {
    FakeConfigSpace hw;
    build_machine(hw);
    auto a   = hw.access();
    auto inv = std::make_unique<pci::Inventory>();
    REQUIRE(pci::enumerate(a, *inv) == pci::Error::Ok);
    REQUIRE(inv->functions[3].bdf == BRIDGE);
    vpci::ConfigSpace v;
    REQUIRE(v.add_device(inv->functions[3], vpci::DeviceOptions{false, false}, a) == vpci::Error::Ok);
    hw.writes.clear();
    CHECK(v.read(BRIDGE, 0x18, 4, a) == 0x00010100u);
    CHECK(v.write(BRIDGE, 0x19, 1, 5, a).kind == vpci::WriteResult::Kind::Refused);
    CHECK(hw.get32(BRIDGE, 0x18) == 0x00010100u);
    CHECK(v.write(BRIDGE, 0x18, 4, 0x00010100u, a).kind == vpci::WriteResult::Kind::Ignored);
    CHECK(hw.writes.empty());
    hw.set16(BRIDGE, 0x1E, 0x2000);  // secondary status: received master abort
    CHECK(v.write(BRIDGE, 0x1E, 2, 0x2000, a).kind == vpci::WriteResult::Kind::Done);
    CHECK(hw.get16(BRIDGE, 0x1E) == 0);
    const vpci::WriteResult r = v.write(BRIDGE, 0x3E, 2, 0x0043, a);
    CHECK(r.kind == vpci::WriteResult::Kind::Refused);
    CHECK(why(r).find("Secondary bus reset") != std::string::npos);
    CHECK(hw.get16(BRIDGE, 0x3E) == 0x0003);
}

TEST_CASE("add_device refuses duplicates, broken capability lists and overflow", "[vpci]") {
    FakeConfigSpace hw;
    build_machine(hw);
    auto a   = hw.access();
    auto inv = std::make_unique<pci::Inventory>();
    REQUIRE(pci::enumerate(a, *inv) == pci::Error::Ok);
    vpci::ConfigSpace v;
    REQUIRE(v.add_device(inv->functions[1], vpci::DeviceOptions{}, a) == vpci::Error::Ok);
    CHECK(v.add_device(inv->functions[1], vpci::DeviceOptions{}, a) == vpci::Error::DuplicateDevice);
    REQUIRE(inv->functions[6].bdf == LOOP_DEV);
    CHECK(v.add_device(inv->functions[6], vpci::DeviceOptions{}, a) == vpci::Error::BrokenCapabilityList);
    CHECK_FALSE(v.owns(LOOP_DEV));
    pci::Function f = inv->functions[0];
    f.bdf           = pci::make_bdf(2, 1, 0);
    CHECK(v.add_device(f, vpci::DeviceOptions{}, a) == vpci::Error::NotPresent);  // nothing answers there
    f.bdf = E1000;
    CHECK(v.add_device(f, vpci::DeviceOptions{}, a) == vpci::Error::DuplicateDevice);
    f.bdf = PCIE_DEV;
    CHECK(v.add_device(f, vpci::DeviceOptions{}, a) == vpci::Error::NotPresent);  // another vendor's device
    for (size_t i = 1; i <= vpci::MAX_DEVICES; ++i) {
        f.bdf = pci::make_bdf(2, static_cast<uint8_t>(i), 0);
        hw.add(f.bdf, f.vendor_id, f.device_id, 6, 0);
        if (i < vpci::MAX_DEVICES) REQUIRE(v.add_device(f, vpci::DeviceOptions{}, a) == vpci::Error::Ok);
    }
    CHECK(v.add_device(f, vpci::DeviceOptions{}, a) == vpci::Error::TooManyDevices);
    CHECK(v.device_count() == vpci::MAX_DEVICES);
    for (int e = 0; e <= static_cast<int>(vpci::Error::BadMsiRoute); ++e)
        CHECK(std::strlen(vpci::to_string(static_cast<vpci::Error>(e))) > 10);
    v.reset();
    CHECK(v.device_count() == 0);
    CHECK(v.has_virtual_host_bridge());
}

TEST_CASE("a capability whose length runs into the next one is cut short", "[vpci]") {
    FakeConfigSpace hw;
    build_machine(hw);
    hw.set16(PCIE_DEV, MSI + 2, 0x0180);  // per-vector masking: 24 bytes would reach PCIe at 0xE0
    auto a   = hw.access();
    auto inv = std::make_unique<pci::Inventory>();
    REQUIRE(pci::enumerate(a, *inv) == pci::Error::Ok);
    REQUIRE(inv->functions[2].bdf == PCIE_DEV);
    vpci::ConfigSpace v;
    REQUIRE(v.add_device(inv->functions[2], vpci::DeviceOptions{}, a) == vpci::Error::Ok);
    const vpci::Device& d = *v.find(PCIE_DEV);
    REQUIRE(d.cap_count == 4);
    CHECK(d.caps[1].offset == MSI);
    CHECK(d.caps[1].length == 0x10);
    CHECK_FALSE(d.caps[1].shown);
    CHECK(v.read(PCIE_DEV, MSI + 0xC, 4, a) == 0);
    CHECK(v.read(PCIE_DEV, PCIE, 1, a) == pci::CAP_PCI_EXPRESS);
    CHECK(d.caps[2].length == 0x20);  // 0x3C bytes do not fit below 0x100
    CHECK(d.caps[0].length == 8);
    CHECK(d.caps[3].length == 12);
}

// A partition table is static in the hypervisor: its views must be constant-initialized.
constinit vpci::ConfigSpace g_static_view;

TEST_CASE("a static ConfigSpace is constant-initialized with the default capability set", "[vpci]") {
    FakeConfigSpace hw;
    build_machine(hw);
    auto a   = hw.access();
    auto inv = std::make_unique<pci::Inventory>();
    REQUIRE(pci::enumerate(a, *inv) == pci::Error::Ok);
    REQUIRE(g_static_view.add_device(inv->functions[2], vpci::DeviceOptions{}, a) == vpci::Error::Ok);
    CHECK(g_static_view.read(PCIE_DEV, 0x34, 1, a) == PM);
    g_static_view.reset();
}

// The machine's functions enumerated into inv; the one at bdf, or nullptr.
const pci::Function* enumerated(const pci::ConfigAccess& a, pci::Inventory& inv, uint16_t bdf) {
    if (pci::enumerate(a, inv) != pci::Error::Ok) return nullptr;
    for (size_t i = 0; i < inv.count; ++i)
        if (inv.functions[i].bdf == bdf) return &inv.functions[i];
    return nullptr;
}

TEST_CASE("virtual MSI: the guest's vector, the owner core as destination, one message", "[vpci][msi]") {
    FakeConfigSpace hw;
    build_machine(hw);
    hw.writable(PCIE_DEV, MSI + 8, 0xFFFFFFFF);
    hw.writable(PCIE_DEV, MSI + 12, 0x0000FFFF);
    pci::ConfigAccess a      = hw.access();
    auto inv                 = std::make_unique<pci::Inventory>();
    const pci::Function* dev = enumerated(a, *inv, PCIE_DEV);
    REQUIRE(dev != nullptr);
    auto view = std::make_unique<vpci::ConfigSpace>();
    vpci::DeviceOptions opt{true, false, true, 2};
    REQUIRE(view->add_device(*dev, opt, a) == vpci::Error::Ok);

    // MSI is shown in the chain although the default set hides it.
    bool seen = false;
    for (uint8_t off = static_cast<uint8_t>(view->read(PCIE_DEV, pci::CAPABILITY_POINTER, 1, a)); off != 0;
         off         = static_cast<uint8_t>(view->read(PCIE_DEV, off + 1, 1, a)))
        seen |= view->read(PCIE_DEV, off, 1, a) == pci::CAP_MSI && off == MSI;
    CHECK(seen);
    // One message: multiple-message capable reads 0.
    CHECK(((view->read(PCIE_DEV, MSI + 2, 2, a) >> 1) & 7u) == 0);

    // The guest aims the message at APIC ID 7 (another partition's core) with vector 0x45.
    CHECK(view->write(PCIE_DEV, MSI + 4, 4, 0xFEE07000, a).kind == Kind::Done);
    CHECK(view->write(PCIE_DEV, MSI + 8, 4, 0, a).kind == Kind::Done);
    CHECK(view->write(PCIE_DEV, MSI + 12, 2, 0x45, a).kind == Kind::Done);
    CHECK(view->write(PCIE_DEV, MSI + 2, 2, 0x0081, a).kind == Kind::Done);  // enable
    // The guest reads back what it wrote...
    CHECK(view->read(PCIE_DEV, MSI + 4, 4, a) == 0xFEE07000u);
    CHECK((view->read(PCIE_DEV, MSI + 12, 2, a) & 0xFFFF) == 0x45u);
    CHECK((view->read(PCIE_DEV, MSI + 2, 2, a) & 1u) == 1u);
    // ...the device sends the guest's vector to APIC ID 2, the owner's core.
    CHECK(pci::read32(a, PCIE_DEV, MSI + 4) == (0xFEE00000u | 2u << 12));
    CHECK(pci::read32(a, PCIE_DEV, MSI + 8) == 0u);
    CHECK(pci::read16(a, PCIE_DEV, MSI + 12) == 0x45u);
    CHECK((pci::read16(a, PCIE_DEV, MSI + 2) & 1u) == 1u);

    // Reserved exception vectors are refused and the device stays disabled.
    auto r = view->write(PCIE_DEV, MSI + 12, 2, 0x05, a);
    CHECK(r.kind == Kind::Refused);
    CHECK(std::string(r.why).find("vector") != std::string::npos);
    CHECK((pci::read16(a, PCIE_DEV, MSI + 2) & 1u) == 0u);
}

TEST_CASE("virtual MSI under interrupt remapping: the device names its remapping entry, which gets the vector",
          "[vpci][msi][remap]") {
    FakeConfigSpace hw;
    build_machine(hw);
    pci::ConfigAccess a      = hw.access();
    auto inv                 = std::make_unique<pci::Inventory>();
    const pci::Function* dev = enumerated(a, *inv, PCIE_DEV);
    REQUIRE(dev != nullptr);
    struct Fake {
        uint8_t vector = 0;
        uint32_t apic  = 0;
        static const char* route(void* ctx, uint16_t slot, uint8_t vector, uint32_t apic_id, msi::Message& out) {
            auto& f = *static_cast<Fake*>(ctx);
            if (slot != 0 || vector == 0xEE) return "remapping entry refused";
            f.vector = vector;
            f.apic   = apic_id;
            out      = {0xFEE00010u | 70u << 5, 0};
            return nullptr;
        }
    } fake;
    auto view = std::make_unique<vpci::ConfigSpace>();
    vpci::DeviceOptions opt{true, false, true, msi::Route{2, Fake::route, &fake}};
    REQUIRE(view->add_device(*dev, opt, a) == vpci::Error::Ok);

    CHECK(view->write(PCIE_DEV, MSI + 4, 4, 0xFEE07000, a).kind == Kind::Done);  // another core: ignored
    CHECK(view->write(PCIE_DEV, MSI + 12, 2, 0x45, a).kind == Kind::Done);
    CHECK(view->write(PCIE_DEV, MSI + 2, 2, 0x0081, a).kind == Kind::Done);  // enable
    CHECK(pci::read32(a, PCIE_DEV, MSI + 4) == (0xFEE00010u | 70u << 5));
    CHECK(pci::read32(a, PCIE_DEV, MSI + 8) == 0u);
    CHECK(pci::read16(a, PCIE_DEV, MSI + 12) == 0u);
    CHECK((pci::read16(a, PCIE_DEV, MSI + 2) & 1u) == 1u);
    CHECK(fake.vector == 0x45);
    CHECK(fake.apic == 2u);
    CHECK(view->read(PCIE_DEV, MSI + 4, 4, a) == 0xFEE07000u);  // the guest's view is its own

    // A vector the unit refuses: the device is disabled and the refusal says why.
    auto r = view->write(PCIE_DEV, MSI + 12, 2, 0xEE, a);
    CHECK(r.kind == Kind::Refused);
    CHECK(std::string(r.why) == "remapping entry refused");
    CHECK((pci::read16(a, PCIE_DEV, MSI + 2) & 1u) == 0u);
    CHECK(fake.vector == 0x45);
}

TEST_CASE("virtual MSI-X: shown, Enable and Function Mask reach the device, the rest is read-only", "[vpci][msix]") {
    FakeConfigSpace hw;
    build_machine(hw);
    hw.set16(PCIE_DEV, MSI_X + 2, 0x8007);          // firmware left MSI-X enabled, 8 entries
    hw.set32(PCIE_DEV, MSI_X + 4, 0x00002002);      // table: BAR2 + 0x2000
    hw.set32(PCIE_DEV, MSI_X + 8, 0x00003002);      // PBA: BAR2 + 0x3000
    hw.writable(PCIE_DEV, MSI_X, 0xC0000000u);      // only Enable and Function Mask
    hw.writable(PCIE_DEV, MSI_X + 4, 0xFFFFFFFFu);  // a device that wrongly lets these change
    hw.writable(PCIE_DEV, MSI_X + 8, 0xFFFFFFFFu);
    pci::ConfigAccess a      = hw.access();
    auto inv                 = std::make_unique<pci::Inventory>();
    const pci::Function* dev = enumerated(a, *inv, PCIE_DEV);
    REQUIRE(dev != nullptr);
    auto view = std::make_unique<vpci::ConfigSpace>();
    vpci::DeviceOptions opt{true, false};
    opt.msix_virtual = true;
    REQUIRE(view->add_device(*dev, opt, a) == vpci::Error::Ok);
    // The device starts with MSI-X disabled.
    CHECK((hw.get16(PCIE_DEV, MSI_X + 2) & 0x8000u) == 0u);
    hw.writes.clear();

    // Shown at the end of the chain (PM -> PCIe -> MSI-X); MSI stays hidden.
    CHECK(view->read(PCIE_DEV, PM + 1, 1, a) == PCIE);
    CHECK(view->read(PCIE_DEV, PCIE + 1, 1, a) == MSI_X);
    CHECK(view->read(PCIE_DEV, MSI_X, 1, a) == pci::CAP_MSI_X);
    CHECK(view->read(PCIE_DEV, MSI_X + 1, 1, a) == 0u);
    CHECK(view->read(PCIE_DEV, MSI, 4, a) == 0u);
    // Table size and locations read through.
    CHECK(view->read(PCIE_DEV, MSI_X + 2, 2, a) == 0x0007u);
    CHECK(view->read(PCIE_DEV, MSI_X + 4, 4, a) == 0x00002002u);
    CHECK(view->read(PCIE_DEV, MSI_X + 8, 4, a) == 0x00003002u);

    // Linux's sequence: enable with all vectors masked, then clear the function mask.
    CHECK(view->write(PCIE_DEV, MSI_X + 2, 2, 0xC000, a).kind == Kind::Done);
    CHECK(hw.get16(PCIE_DEV, MSI_X + 2) == 0xC007u);
    CHECK(view->read(PCIE_DEV, MSI_X + 2, 2, a) == 0xC007u);
    CHECK(view->write(PCIE_DEV, MSI_X + 2, 2, 0x8000, a).kind == Kind::Done);
    CHECK(hw.get16(PCIE_DEV, MSI_X + 2) == 0x8007u);
    // Byte write to the upper half of Message Control, dword write over ID and next pointer.
    CHECK(view->write(PCIE_DEV, MSI_X + 3, 1, 0x40, a).kind == Kind::Done);
    CHECK(hw.get16(PCIE_DEV, MSI_X + 2) == 0x4007u);
    CHECK(view->write(PCIE_DEV, MSI_X, 4, 0x80000000u | 0x07FFu << 16 | 0xFFFFu, a).kind == Kind::Done);
    CHECK(hw.get32(PCIE_DEV, MSI_X) == (0x80070000u | pci::CAP_MSI_X));
    // Table and PBA Offset/BIR are never written, whatever the device allows.
    CHECK(view->write(PCIE_DEV, MSI_X + 4, 4, 0x00000000u, a).kind == Kind::Ignored);
    CHECK(view->write(PCIE_DEV, MSI_X + 8, 4, 0x00001000u, a).kind == Kind::Ignored);
    CHECK(hw.get32(PCIE_DEV, MSI_X + 4) == 0x00002002u);
    CHECK(hw.get32(PCIE_DEV, MSI_X + 8) == 0x00003002u);
    // A write touching only the ID and next pointer leaves hardware alone.
    hw.writes.clear();
    CHECK(view->write(PCIE_DEV, MSI_X, 2, 0xFFFF, a).kind == Kind::Ignored);
    CHECK(hw.writes.empty());

    // Without msix_virtual the same device keeps MSI-X hidden and untouched.
    auto plain = std::make_unique<vpci::ConfigSpace>();
    REQUIRE(plain->add_device(*dev, vpci::DeviceOptions{true, false}, a) == vpci::Error::Ok);
    CHECK(plain->read(PCIE_DEV, PCIE + 1, 1, a) == 0u);
    CHECK(plain->read(PCIE_DEV, MSI_X + 2, 2, a) == 0u);
    CHECK(plain->write(PCIE_DEV, MSI_X + 2, 2, 0x0000, a).kind == Kind::Ignored);
    CHECK(hw.get16(PCIE_DEV, MSI_X + 2) == 0x8007u);
}

namespace {

// A route to owner core 2 in a partition that also has core 3.
msi::Route two_cores(msi::Route r) {
    r.cores[0]   = 2;
    r.cores[1]   = 3;
    r.core_count = 2;
    return r;
}

// The PCIe device owned with virtual MSI on route, in a fresh view.
struct MsiPartition {
    FakeConfigSpace hw;
    pci::ConfigAccess a;
    std::unique_ptr<pci::Inventory> inv     = std::make_unique<pci::Inventory>();
    std::unique_ptr<vpci::ConfigSpace> view = std::make_unique<vpci::ConfigSpace>();
    explicit MsiPartition(const msi::Route& route) {
        build_machine(hw);
        hw.writable(PCIE_DEV, MSI + 8, 0xFFFFFFFF);
        hw.writable(PCIE_DEV, MSI + 12, 0x0000FFFF);
        a                        = hw.access();
        const pci::Function* dev = enumerated(a, *inv, PCIE_DEV);
        REQUIRE(dev != nullptr);
        REQUIRE(view->add_device(*dev, vpci::DeviceOptions{true, false, true, route}, a) == vpci::Error::Ok);
    }
    vpci::WriteResult write(uint16_t off, uint32_t v, uint8_t size = 4) {
        return view->write(PCIE_DEV, off, size, v, a);
    }
    uint32_t hw_address() const { return hw.get32(PCIE_DEV, MSI + 4); }
    bool hw_enabled() const { return (hw.get16(PCIE_DEV, MSI + 2) & 1u) != 0; }
};

}  // namespace

TEST_CASE("virtual MSI with two cores: the core the guest names is kept, others reach the owner",
          "[vpci][msi][cores]") {
    MsiPartition p(two_cores(msi::Route{2}));
    CHECK(p.write(MSI + 4, 0xFEE03000u).kind == Kind::Done);  // Linux put the vector on the CPU with APIC ID 3
    CHECK(p.write(MSI + 8, 0).kind == Kind::Done);
    CHECK(p.write(MSI + 12, 0x45, 2).kind == Kind::Done);
    CHECK(p.write(MSI + 2, 0x0081, 2).kind == Kind::Done);
    CHECK(p.hw_address() == 0xFEE03000u);
    CHECK(p.hw.get16(PCIE_DEV, MSI + 12) == 0x45u);
    CHECK(p.hw_enabled());

    // Only the address changes, the device stays enabled: reprogrammed each time.
    const size_t before = p.hw.writes.size();
    CHECK(p.write(MSI + 4, 0xFEE02000u).kind == Kind::Done);
    CHECK(p.hw.writes.size() > before);
    CHECK(p.hw_address() == 0xFEE02000u);
    CHECK(p.hw_enabled());
    CHECK(p.write(MSI + 4, 0xFEE07000u).kind == Kind::Done);  // another partition's core: the owner
    CHECK(p.hw_address() == 0xFEE02000u);
    CHECK(p.write(MSI + 4, 0xFEE03000u).kind == Kind::Done);
    CHECK(p.hw_address() == 0xFEE03000u);
    CHECK(p.write(MSI + 4, 0xFEE03004u).kind == Kind::Done);  // logical destination 3: the owner
    CHECK(p.hw_address() == 0xFEE02000u);
    CHECK(p.write(MSI + 4, 0xFEEFF000u).kind == Kind::Done);  // broadcast: the owner
    CHECK(p.hw_address() == 0xFEE02000u);
    CHECK(p.write(MSI + 6, 0xFEE0, 2).kind == Kind::Done);  // 0xFEE0F000: the owner
    CHECK(p.hw_address() == 0xFEE02000u);
    CHECK(p.write(MSI + 5, 0x30, 1).kind == Kind::Done);  // a byte write naming core 3
    CHECK(p.hw_address() == 0xFEE03000u);
    CHECK(p.view->read(PCIE_DEV, MSI + 4, 4, p.a) == 0xFEE03000u);
    CHECK(p.hw.get16(PCIE_DEV, MSI + 12) == 0x45u);
    CHECK(p.hw_enabled());
}

TEST_CASE("virtual MSI without a core list keeps everything on the owner", "[vpci][msi][cores]") {
    MsiPartition p(msi::Route{2});
    p.write(MSI + 4, 0xFEE03000u);
    p.write(MSI + 12, 0x46, 2);
    p.write(MSI + 2, 0x0081, 2);
    CHECK(p.hw_address() == 0xFEE02000u);
    CHECK(p.hw_enabled());
}

TEST_CASE("virtual MSI under remapping with two cores: the entry gets the core the guest names",
          "[vpci][msi][remap][cores]") {
    struct Fake {
        uint8_t vector = 0;
        uint32_t apic  = 0;
        int times      = 0;
        static const char* route(void* ctx, uint16_t slot, uint8_t vector, uint32_t apic_id, msi::Message& out) {
            auto& f = *static_cast<Fake*>(ctx);
            if (slot != 0) return "no such slot";
            f.vector = vector;
            f.apic   = apic_id;
            ++f.times;
            out = {0xFEE00010u | 70u << 5, 0};
            return nullptr;
        }
    } fake;
    MsiPartition p(two_cores(msi::Route{2, Fake::route, &fake}));
    p.write(MSI + 4, 0xFEE03000u);
    p.write(MSI + 12, 0x47, 2);
    p.write(MSI + 2, 0x0081, 2);
    CHECK(fake.vector == 0x47);
    CHECK(fake.apic == 3u);
    CHECK(p.hw_address() == (0xFEE00010u | 70u << 5));
    CHECK(p.hw_enabled());
    const int times = fake.times;
    p.write(MSI + 4, 0xFEE02000u);  // destination only
    CHECK(fake.apic == 2u);
    CHECK(fake.times == times + 1);
    CHECK(fake.vector == 0x47);
    p.write(MSI + 4, 0xFEE03000u);
    CHECK(fake.apic == 3u);
    p.write(MSI + 4, 0xFEE09000u);  // another partition's core
    CHECK(fake.apic == 2u);
    p.write(MSI + 4, 0xFEE0300Cu);  // logical, redirection hint
    CHECK(fake.apic == 2u);
    CHECK(p.hw_address() == (0xFEE00010u | 70u << 5));
    CHECK(p.hw_enabled());
}

TEST_CASE("add_device refuses a virtual MSI route with a bad core list", "[vpci][msi][cores]") {
    FakeConfigSpace hw;
    build_machine(hw);
    pci::ConfigAccess a      = hw.access();
    auto inv                 = std::make_unique<pci::Inventory>();
    const pci::Function* dev = enumerated(a, *inv, PCIE_DEV);
    REQUIRE(dev != nullptr);
    vpci::ConfigSpace v;
    msi::Route not_owner = two_cores(msi::Route{5});
    CHECK(v.add_device(*dev, vpci::DeviceOptions{true, false, true, not_owner}, a) == vpci::Error::BadMsiRoute);
    msi::Route wide = two_cores(msi::Route{2});
    wide.cores[1]   = 300;
    CHECK(v.add_device(*dev, vpci::DeviceOptions{true, false, true, wide}, a) == vpci::Error::BadMsiRoute);
    CHECK(v.add_device(*dev, vpci::DeviceOptions{true, false, true, msi::Route{256}}, a) == vpci::Error::BadMsiRoute);
    msi::Route many = two_cores(msi::Route{2});
    many.core_count = msi::MAX_CORES + 1;
    CHECK(v.add_device(*dev, vpci::DeviceOptions{true, false, true, many}, a) == vpci::Error::BadMsiRoute);
    CHECK_FALSE(v.owns(PCIE_DEV));
    // Under remapping wide APIC IDs are fine.
    wide.remap = [](void*, uint16_t, uint8_t, uint32_t, msi::Message&) -> const char* { return nullptr; };
    CHECK(v.add_device(*dev, vpci::DeviceOptions{true, false, true, wide}, a) == vpci::Error::Ok);
    CHECK(std::string(vpci::to_string(vpci::Error::BadMsiRoute)).find("core") != std::string::npos);
}

// A PIIX3 IDE function in compatibility mode (prog-if 0x80: both channels
// legacy, bus master), BAR 4 the bus master's ports, no INTx pin: as Bochs
// and QEMU's i440FX have it at 00:01.1.
TEST_CASE("native IDE view: a compatibility-mode channel shown in native mode on its legacy ports", "[vpci][ide]") {
    constexpr uint16_t IDE = pci::make_bdf(0, 1, 1);
    FakeConfigSpace hw;
    hw.add(pci::make_bdf(0, 1, 0), 0x8086, 0x7000, 0x06, 0x01);
    hw.set8(pci::make_bdf(0, 1, 0), 0x0E, 0x80);  // multi-function
    hw.add(IDE, 0x8086, 0x7010, 0x01, 0x01);
    hw.set8(IDE, pci::PROG_IF, 0x80);
    hw.io_bar(IDE, 4, 0xC000, 16);
    hw.irq(IDE, 0xFF, 0);
    pci::ConfigAccess a = hw.access();
    auto inv            = std::make_unique<pci::Inventory>();
    REQUIRE(pci::enumerate(a, *inv) == pci::Error::Ok);
    REQUIRE(pci::size_all_bars(a, *inv) == pci::Error::Ok);
    const pci::Function* phys = nullptr;
    for (size_t i = 0; i < inv->count; ++i)
        if (inv->functions[i].bdf == IDE) phys = &inv->functions[i];
    REQUIRE(phys != nullptr);
    REQUIRE(phys->bar_count == 1);

    SECTION("the secondary channel") {
        pci::Function view = *phys;
        REQUIRE(native_ide::apply(view, true) == native_ide::Outcome::Shown);
        vpci::ConfigSpace cs;
        REQUIRE(cs.add_device(view, vpci::DeviceOptions{true, false}, a) == vpci::Error::Ok);
        hw.writes.clear();
        // Both channels native (bits 0 and 2), bus master kept; class 01/01.
        CHECK(cs.read(IDE, pci::PROG_IF, 1, a) == 0x85u);
        CHECK(cs.read(IDE, 0x08, 4, a) >> 8 == 0x010185u);
        // The primary's BARs absent (Linux makes it a dummy port), the secondary's at its legacy blocks.
        CHECK(cs.read(IDE, pci::BAR0, 4, a) == 0u);
        CHECK(cs.read(IDE, pci::BAR0 + 4, 4, a) == 0u);
        CHECK(cs.read(IDE, pci::BAR0 + 8, 4, a) == (0x170u | pci::BAR_IO));
        CHECK(cs.read(IDE, pci::BAR0 + 12, 4, a) == (0x374u | pci::BAR_IO));
        CHECK(cs.read(IDE, pci::BAR0 + 16, 4, a) == (0xC000u | pci::BAR_IO));
        // Sizing answers 8 and 4 ports; the same base is accepted, a move refused.
        CHECK(cs.write(IDE, pci::BAR0 + 8, 4, 0xFFFFFFFFu, a).kind == Kind::Done);
        CHECK(cs.read(IDE, pci::BAR0 + 8, 4, a) == (0xFFFFFFF8u | pci::BAR_IO));
        CHECK(cs.write(IDE, pci::BAR0 + 8, 4, 0x170u, a).kind == Kind::Done);
        CHECK(cs.write(IDE, pci::BAR0 + 12, 4, 0xFFFFFFFFu, a).kind == Kind::Done);
        CHECK(cs.read(IDE, pci::BAR0 + 12, 4, a) == (0xFFFFFFFCu | pci::BAR_IO));
        CHECK(cs.write(IDE, pci::BAR0 + 12, 4, 0x1000u, a).kind == Kind::Refused);
        CHECK(cs.read(IDE, pci::BAR0 + 12, 4, a) == (0x374u | pci::BAR_IO));
        CHECK(cs.write(IDE, pci::BAR0, 4, 0xFFFFFFFFu, a).kind == Kind::Ignored);
        CHECK(cs.read(IDE, pci::BAR0, 4, a) == 0u);
        // INTA, the guest's line byte.
        CHECK(cs.read(IDE, pci::INTERRUPT_PIN, 1, a) == 1u);
        CHECK(cs.write(IDE, pci::INTERRUPT_LINE, 1, 15, a).kind == Kind::Done);
        CHECK(cs.read(IDE, pci::INTERRUPT_LINE, 2, a) == 0x010Fu);
        // Function 0 of the slot, not owned: a stub that makes guests scan function 1.
        constexpr uint16_t ISA = pci::make_bdf(0, 1, 0);
        CHECK(cs.owns_later_function(ISA));
        CHECK(cs.read(ISA, 0x00, 4, a) == 0x70008086u);
        CHECK(cs.read(ISA, 0x0A, 2, a) == 0x0601u);
        CHECK(cs.read(ISA, pci::HEADER_TYPE, 1, a) == 0x80u);
        for (uint16_t off : {0x04, 0x10, 0x14, 0x2C, 0x34, 0x3C, 0x40}) CHECK(cs.read(ISA, off, 4, a) == 0u);
        CHECK(cs.read(ISA, 0x100, 4, a) == 0xFFFFFFFFu);
        CHECK(cs.write(ISA, 0x04, 4, 0x7, a).kind == Kind::Ignored);
        // Another slot's function 0 stays absent.
        CHECK(cs.read(pci::make_bdf(0, 2, 0), 0x00, 4, a) == 0xFFFFFFFFu);
        // Nothing of it reached the hardware, which stays in compatibility mode.
        CHECK(hw.writes.empty());
        CHECK(hw.get8(IDE, pci::PROG_IF) == 0x80);
    }
    SECTION("the primary channel") {
        pci::Function view = *phys;
        REQUIRE(native_ide::apply(view, false) == native_ide::Outcome::Shown);
        CHECK(view.prog_if == 0x85);
        REQUIRE(view.bar_count == 3);
        vpci::ConfigSpace cs;
        REQUIRE(cs.add_device(view, vpci::DeviceOptions{true, false}, a) == vpci::Error::Ok);
        CHECK(cs.read(IDE, pci::BAR0, 4, a) == (0x1F0u | pci::BAR_IO));
        CHECK(cs.read(IDE, pci::BAR0 + 4, 4, a) == (0x3F4u | pci::BAR_IO));
        CHECK(cs.read(IDE, pci::BAR0 + 8, 4, a) == 0u);
    }
    SECTION("a channel already native, and a function that is no IDE, stay as they are") {
        pci::Function view = *phys;
        view.prog_if       = 0x8F;
        CHECK(native_ide::apply(view, true) == native_ide::Outcome::AlreadyNative);
        CHECK(view.bar_count == 1);
        CHECK(view.irq_pin == 0);
        pci::Function nic = *phys;
        nic.class_code    = 0x02;
        nic.subclass      = 0x00;
        CHECK(native_ide::apply(nic, false) == native_ide::Outcome::NotIde);
        CHECK(nic.prog_if == 0x80);
    }
    SECTION("BARs a compatibility-mode controller implements in slots 0-3 are replaced") {
        pci::Function view          = *phys;
        view.bars[view.bar_count++] = pci::Bar{0, true, false, false, 0xD000, 8};
        view.bars[view.bar_count++] = pci::Bar{3, true, false, false, 0xD010, 4};
        REQUIRE(native_ide::apply(view, true) == native_ide::Outcome::Shown);
        REQUIRE(view.bar_count == 3);
        for (uint8_t i = 0; i < view.bar_count; ++i) CHECK(view.bars[i].base != 0xD000);
    }
}
