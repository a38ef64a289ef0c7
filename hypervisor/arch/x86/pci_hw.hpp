// The hypervisor's own path to PCI configuration space: configuration
// mechanism #1 (ports 0xCF8/0xCFC, PCI Local Bus Spec 3.0, 3.2.2.3.2),
// serialized across cores because the address/data pair is shared state.
#pragma once
#include "lib/pci.hpp"

namespace natsume::x86::pci_hw {
const pci::ConfigAccess& access();

// Enhanced configuration access (PCI Express Base Spec 7.2.2, window from the
// ACPI MCFG): used for segment 0 where the firmware describes one. Also gives
// each function its 4 KiB extended config space.
void use_ecam(uint64_t base, uint8_t start_bus, uint8_t end_bus);
struct EcamWindow {
    uint64_t base;
    uint8_t start_bus, end_bus;
    bool present;
};
const EcamWindow& ecam();
}  // namespace natsume::x86::pci_hw
