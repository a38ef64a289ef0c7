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

inline constexpr uint16_t kHostBdf = pci::make_bdf(0, 0, 0);
inline constexpr uint16_t kE1000 = pci::make_bdf(0, 1, 0);
inline constexpr uint16_t kPcieDev = pci::make_bdf(0, 2, 0);
inline constexpr uint16_t kBridge = pci::make_bdf(0, 3, 0);
inline constexpr uint16_t kMulti0 = pci::make_bdf(0, 4, 0);
inline constexpr uint16_t kMulti3 = pci::make_bdf(0, 4, 3);
inline constexpr uint16_t kLoopDev = pci::make_bdf(0, 5, 0);
inline constexpr uint16_t kBehind = pci::make_bdf(1, 0, 0);

inline constexpr uint32_t kE1000Mmio = 0xFEBC0000, kE1000Io = 0xC000;
inline constexpr uint64_t kPcieBar = 0x800000000ull, kPcieBarSize = 0x10000000ull;
inline constexpr uint32_t kPcieBar2 = 0xFEB00000;
inline constexpr uint8_t kPm = 0xC8, kMsi = 0xD0, kPcie = 0xE0, kMsiX = 0xA0;

inline void build_machine(FakeConfigSpace& hw) {
    hw.add(kHostBdf, 0x8086, 0x29c0, 0x06, 0x00);

    hw.add(kE1000, 0x8086, 0x100e, 0x02, 0x00);
    hw.mem_bar(kE1000, 0, kE1000Mmio, 128 * 1024, false, false);
    hw.io_bar(kE1000, 1, kE1000Io, 64);
    hw.cap(kE1000, 0xDC, pci::kCapPowerManagement, 0x0022);
    hw.writable(kE1000, 0xDC + 4, 0x0103);  // PMCSR power state, PME_En
    hw.rw1c(kE1000, 0xDC + 4, 0x8000);      // PME_Status
    hw.irq(kE1000, 11, 1);
    hw.set16(kE1000, 0x04, 0x0003);

    hw.add(kPcieDev, 0x1234, 0x0064, 0x01, 0x08);
    hw.mem_bar(kPcieDev, 0, kPcieBar, kPcieBarSize, true, true);
    hw.mem_bar(kPcieDev, 2, kPcieBar2, 16 * 1024, false, false);
    hw.set32(kPcieDev, pci::kRomBarType0, 0xFEA00000);
    hw.writable(kPcieDev, 0x04, 0x07FF);  // every command bit writable: filtering must hold them
    hw.cap(kPcieDev, kPm, pci::kCapPowerManagement, 0x0003);
    hw.writable(kPcieDev, kPm + 4, 0x0103);
    hw.rw1c(kPcieDev, kPm + 4, 0x8000);
    hw.cap(kPcieDev, kMsi, pci::kCapMsi, 0x0080);  // 64-bit address: 14 bytes
    hw.writable(kPcieDev, kMsi, 0x00710000);
    hw.writable(kPcieDev, kMsi + 4, 0xFFFFFFFC);
    hw.cap(kPcieDev, kPcie, pci::kCapPciExpress, 0x0002);  // version 2: 0x3C bytes
    hw.writable(kPcieDev, kPcie + 8, 0x0000FFFF);          // Device Control
    hw.rw1c(kPcieDev, kPcie + 8, 0x000F0000);              // Device Status errors
    hw.cap(kPcieDev, kMsiX, pci::kCapMsiX, 0x0007);
    hw.irq(kPcieDev, 10, 1);

    hw.add(kBridge, 0x8086, 0x244e, 0x06, 0x04, 0x01);
    hw.bridge(kBridge, 0, 1, 1);

    hw.add(kMulti0, 0x8086, 0x7010, 0x01, 0x01, 0x80);
    hw.add(kMulti3, 0x8086, 0x7011, 0x0C, 0x03, 0x00);

    hw.add(kLoopDev, 0x1234, 0x0099, 0xFF, 0x00);
    hw.cap(kLoopDev, 0x40, pci::kCapPowerManagement);
    hw.cap(kLoopDev, 0x50, pci::kCapMsi);
    hw.set8(kLoopDev, 0x51, 0x40);

    hw.add(kBehind, 0x1234, 0x0011, 0x02, 0x80);
    hw.mem_bar(kBehind, 0, 0xFE800000, 4096, false, false);
    hw.writable(kBehind, 0x04, 0x0400);
    hw.irq(kBehind, 5, 2);
}

}  // namespace natsume::test
