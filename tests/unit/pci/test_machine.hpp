// The fake platform used by the PCI tests.
//   00:00.0 host bridge 8086:29c0 (not the virtual bridge's identity, so tests tell them apart)
//   00:01.0 e1000 8086:100e: BAR0 32-bit memory 128 KiB, BAR1 I/O 64 bytes, PM capability
//           at 0xDC, INTA# on line 11, command bit 10 not implemented (like Bochs' model)
//   00:02.0 PCIe device 1234:0064: BAR0/1 64-bit prefetchable 256 MiB above 4 GiB, BAR2 32-bit
//           16 KiB; capabilities PM 0xC8 -> MSI 0xD0 -> PCIe 0xE0 -> MSI-X 0xA0; ROM BAR set
//   00:03.0 PCI-PCI bridge 8086:244e, secondary bus 1
//   00:04.0 and 00:04.3 multi-function device 8086:7010 / 8086:7011
//   00:05.0 device whose capability list loops (0x40 -> 0x50 -> 0x40)
//   01:00.0 device behind the bridge 1234:0011, one 4 KiB BAR, INTB#, command bit 10 implemented
#pragma once
#include "fake_config_space.hpp"

namespace natsume::test {

inline constexpr uint16_t HOST_BDF = pci::make_bdf(0, 0, 0);
inline constexpr uint16_t E1000    = pci::make_bdf(0, 1, 0);
inline constexpr uint16_t PCIE_DEV = pci::make_bdf(0, 2, 0);
inline constexpr uint16_t BRIDGE   = pci::make_bdf(0, 3, 0);
inline constexpr uint16_t MULTI0   = pci::make_bdf(0, 4, 0);
inline constexpr uint16_t MULTI3   = pci::make_bdf(0, 4, 3);
inline constexpr uint16_t LOOP_DEV = pci::make_bdf(0, 5, 0);
inline constexpr uint16_t BEHIND   = pci::make_bdf(1, 0, 0);

inline constexpr uint32_t E1000_MMIO = 0xFEBC0000, E1000_IO = 0xC000;
inline constexpr uint64_t PCIE_BAR = 0x800000000ull, PCIE_BAR_SIZE = 0x10000000ull;
inline constexpr uint32_t PCIE_BAR2 = 0xFEB00000;
inline constexpr uint8_t PM = 0xC8, MSI = 0xD0, PCIE = 0xE0, MSI_X = 0xA0;

inline void build_machine(FakeConfigSpace& hw) {
    hw.add(HOST_BDF, 0x8086, 0x29c0, 0x06, 0x00);

    hw.add(E1000, 0x8086, 0x100e, 0x02, 0x00);
    hw.mem_bar(E1000, 0, E1000_MMIO, 128 * 1024, false, false);
    hw.io_bar(E1000, 1, E1000_IO, 64);
    hw.cap(E1000, 0xDC, pci::CAP_POWER_MANAGEMENT, 0x0022);
    hw.writable(E1000, 0xDC + 4, 0x0103);  // PMCSR power state, PME_En
    hw.rw1c(E1000, 0xDC + 4, 0x8000);      // PME_Status
    hw.irq(E1000, 11, 1);
    hw.set16(E1000, 0x04, 0x0003);

    hw.add(PCIE_DEV, 0x1234, 0x0064, 0x01, 0x08);
    hw.mem_bar(PCIE_DEV, 0, PCIE_BAR, PCIE_BAR_SIZE, true, true);
    hw.mem_bar(PCIE_DEV, 2, PCIE_BAR2, 16 * 1024, false, false);
    hw.set32(PCIE_DEV, pci::ROM_BAR_TYPE0, 0xFEA00000);
    hw.writable(PCIE_DEV, 0x04, 0x07FF);  // every command bit writable: filtering must hold them
    hw.cap(PCIE_DEV, PM, pci::CAP_POWER_MANAGEMENT, 0x0003);
    hw.writable(PCIE_DEV, PM + 4, 0x0103);
    hw.rw1c(PCIE_DEV, PM + 4, 0x8000);
    hw.cap(PCIE_DEV, MSI, pci::CAP_MSI, 0x0080);  // 64-bit address: 14 bytes
    hw.writable(PCIE_DEV, MSI, 0x00710000);
    hw.writable(PCIE_DEV, MSI + 4, 0xFFFFFFFC);
    hw.cap(PCIE_DEV, PCIE, pci::CAP_PCI_EXPRESS, 0x0002);  // version 2: 0x3C bytes
    hw.writable(PCIE_DEV, PCIE + 8, 0x0000FFFF);           // Device Control
    hw.rw1c(PCIE_DEV, PCIE + 8, 0x000F0000);               // Device Status errors
    hw.cap(PCIE_DEV, MSI_X, pci::CAP_MSI_X, 0x0007);
    hw.irq(PCIE_DEV, 10, 1);

    hw.add(BRIDGE, 0x8086, 0x244e, 0x06, 0x04, 0x01);
    hw.bridge(BRIDGE, 0, 1, 1);

    hw.add(MULTI0, 0x8086, 0x7010, 0x01, 0x01, 0x80);
    hw.add(MULTI3, 0x8086, 0x7011, 0x0C, 0x03, 0x00);

    hw.add(LOOP_DEV, 0x1234, 0x0099, 0xFF, 0x00);
    hw.cap(LOOP_DEV, 0x40, pci::CAP_POWER_MANAGEMENT);
    hw.cap(LOOP_DEV, 0x50, pci::CAP_MSI);
    hw.set8(LOOP_DEV, 0x51, 0x40);

    hw.add(BEHIND, 0x1234, 0x0011, 0x02, 0x80);
    hw.mem_bar(BEHIND, 0, 0xFE800000, 4096, false, false);
    hw.writable(BEHIND, 0x04, 0x0400);
    hw.irq(BEHIND, 5, 2);
}

}  // namespace natsume::test
