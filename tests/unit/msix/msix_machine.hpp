// The PCI test platform (tests/unit/pci/test_machine.hpp) with the PCIe
// device's MSI-X capability at 0xA0 filled in: 8 entries (Message Control
// 0x0007), table in BAR2 (16 KiB at 0xFEB00000) at 0x2000, PBA in BAR2 at
// 0x3000. Helpers place table and PBA elsewhere for the edge cases.
#pragma once
#include <memory>

#include "lib/pci.hpp"
#include "test_machine.hpp"

namespace natsume::test {

inline constexpr uint32_t MSIX_TABLE_OFFSET = 0x2000, MSIX_PBA_OFFSET = 0x3000;
inline constexpr uint8_t MSIX_BIR = 2;

inline void set_msix_regs(FakeConfigSpace& hw, uint16_t control, uint32_t table, uint32_t pba) {
    hw.set16(PCIE_DEV, MSI_X + 2, control);
    hw.set32(PCIE_DEV, MSI_X + 4, table);
    hw.set32(PCIE_DEV, MSI_X + 8, pba);
}

struct MsixMachine {
    FakeConfigSpace hw;
    pci::ConfigAccess a{};
    std::unique_ptr<pci::Inventory> inv = std::make_unique<pci::Inventory>();

    MsixMachine() {
        build_machine(hw);
        set_msix_regs(hw, 0x0007, MSIX_TABLE_OFFSET | MSIX_BIR, MSIX_PBA_OFFSET | MSIX_BIR);
        hw.writable(PCIE_DEV, MSI_X, 0xC0000000u);  // Enable and Function Mask
        a = hw.access();
        if (pci::enumerate(a, *inv) != pci::Error::Ok || pci::size_all_bars(a, *inv) != pci::Error::Ok) inv->count = 0;
        hw.writes.clear();
    }
    const pci::Function* fn(uint16_t bdf) const {
        for (size_t i = 0; i < inv->count; ++i)
            if (inv->functions[i].bdf == bdf) return &inv->functions[i];
        return nullptr;
    }
};

}  // namespace natsume::test
