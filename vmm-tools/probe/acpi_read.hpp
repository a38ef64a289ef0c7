// The ACPI tables probe reads from /sys/firmware/acpi/tables (root only),
// parsed by the hypervisor's own parsers (hypervisor/lib/acpi, dmar): MADT
// for the cores, IOAPICs and interrupt source overrides, MCFG for the ECAM
// windows, DMAR for the VT-d units and RMRRs.
#pragma once
#include <memory>

#include "hypervisor/lib/acpi.hpp"
#include "hypervisor/lib/dmar.hpp"
#include "vmm-tools/probe/config_snapshot.hpp"
#include "vmm-tools/probe/machine.hpp"
#include "vmm-tools/probe/tree.hpp"

namespace natsume::probe {

// Fills cores (enabled local APICs), ioapics and overrides. The MADT is required.
[[nodiscard]] Result<bool> read_madt(const Tree& tree, Machine& m);
// Fills ecam; a machine without MCFG has none.
[[nodiscard]] Result<bool> read_mcfg(const Tree& tree, Machine& m);
// Fills vtd (units, RMRRs, scopes resolved through the config snapshot);
// without a DMAR, vtd.present stays false. The parsed table is kept in
// `table` for the interrupt-remapping verdict (IOAPIC scopes).
[[nodiscard]] Result<bool> read_dmar(const Tree& tree, const ConfigSnapshot& config, Machine& m,
                                     std::unique_ptr<dmar::Dmar>& table);

}  // namespace natsume::probe
