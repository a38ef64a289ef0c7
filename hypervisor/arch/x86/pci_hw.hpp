// The hypervisor's own path to PCI configuration space: configuration
// mechanism #1 (ports 0xCF8/0xCFC, PCI Local Bus Spec 3.0, 3.2.2.3.2),
// serialized across cores because the address/data pair is shared state.
#pragma once
#include "lib/pci.hpp"

namespace natsume::x86::pci_hw {
const pci::ConfigAccess& access();
}
