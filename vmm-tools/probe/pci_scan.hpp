// The PCI functions of the machine, from /sys/bus/pci/devices: identity,
// class, header, interrupt pin and line, capabilities (MSI, MSI-X, PCI
// Express) through the hypervisor's own capability walk, bridges and what
// lies behind them, IOMMU groups, and whether the hypervisor's enumeration
// (bus 0, then the buses of programmed bridges, at most pci::MAX_FUNCTIONS)
// reaches each one.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "vmm-tools/probe/config_snapshot.hpp"
#include "vmm-tools/probe/machine.hpp"
#include "vmm-tools/probe/tree.hpp"
#include "vmm-tools/probe/warning.hpp"

namespace natsume::probe {

struct PciScan {
    std::vector<PciFunction> functions;  // segment 0, by BDF
    ConfigSnapshot config;               // for DMAR device-scope paths
    std::vector<Warning> warnings;
};

// "0000:00:1f.3" -> segment and BDF; false when the name is not one.
[[nodiscard]] bool parse_sysfs_bdf(std::string_view name, uint16_t& segment, uint16_t& bdf);

// Fills every field but intx_gsi and linux_gsi (they need the MADT).
[[nodiscard]] PciFunction decode_function(const ConfigSnapshot& config, uint16_t bdf);

// Fails only when /sys/bus/pci/devices is missing or a config file is unreadable.
[[nodiscard]] Result<PciScan> scan_pci(const Tree& tree);

// Linux's IRQ number for a function, from sysfs `irq`, when it is the INTx
// one (an MSI-enabled function reports its MSI IRQ there): 0 when unknown.
[[nodiscard]] uint32_t linux_intx_irq(const Tree& tree, uint16_t bdf, const ConfigSnapshot& config);

}  // namespace natsume::probe
