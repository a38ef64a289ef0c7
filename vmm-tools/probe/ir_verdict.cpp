#include "vmm-tools/probe/ir_verdict.hpp"

#include <fmt/format.h>

#include "hypervisor/arch/x86/vtd/caps.hpp"
#include "hypervisor/arch/x86/vtd/erratum.hpp"

namespace natsume::probe {

namespace {

namespace vtd = natsume::x86::vtd;

bool ioapic_has_scope(const dmar::Dmar& d, uint32_t id, const ConfigSnapshot& config) {
    for (size_t s = 0; s < d.scope_count; ++s) {
        const dmar::Scope& sc = d.scopes[s];
        dmar::Bdf bdf{};
        if (sc.type == dmar::ScopeType::Ioapic && sc.enumeration_id == id &&
            dmar::resolve_path(sc, ConfigSnapshot::read8, const_cast<ConfigSnapshot*>(&config), bdf) ==
                dmar::PathError::Ok)
            return true;
    }
    return false;
}

// The reason interrupt remapping stays off, or empty when it can be used.
std::string off_reason(const Machine& m, const dmar::Dmar& d, const ConfigSnapshot& config) {
    if (!m.vtd.intr_remap_flag) return "the DMAR's INTR_REMAP flag is clear";
    for (size_t u = 0; u < m.vtd.units.size(); ++u) {
        const auto& ecap = m.vtd.units[u].ecap;
        if (ecap && !(vtd::Ecap{*ecap}.interrupt_remapping() && vtd::Ecap{*ecap}.queued_invalidation()))
            return fmt::format("VT-d unit {} lacks interrupt remapping or queued invalidation", u);
    }
    if (const PciFunction* host = m.function(0)) {
        vtd::IrVerdict v = vtd::x58_ir_verdict(host->vendor, host->device, host->revision);
        if (v != vtd::IrVerdict::Usable) return vtd::to_string(v);
    }
    if (!m.ioapics.empty() && !ioapic_has_scope(d, m.ioapics[0].id, config))
        return fmt::format("IOAPIC id {} has no DMAR device scope, so its source-id is unknown", m.ioapics[0].id);
    return {};
}

}  // namespace

void decide_interrupt_remapping(Machine& m, const dmar::Dmar* table, const ConfigSnapshot& config,
                                std::vector<Warning>& warnings) {
    m.vtd.ir_usable = false;
    if (!m.vtd.present || !table) return;
    std::string why     = off_reason(m, *table, config);
    m.vtd.ir_usable     = why.empty();
    m.vtd.ir_off_reason = why;
    if (m.vtd.ir_usable) return;
    const PciFunction* host = m.function(0);
    bool erratum = host && vtd::x58_ir_verdict(host->vendor, host->device, host->revision) != vtd::IrVerdict::Usable;
    if (erratum)
        warnings.push_back({WarningKind::IohErratum,
                            fmt::format("host bridge 00:00.0 is {:04x}:{:04x} revision {:#04x}: {}; every partition "
                                        "with a DMA-capable device needs allow_unisolated_dma = true (its device "
                                        "could send an MSI to any core)",
                                        host->vendor, host->device, host->revision, why)});
    else
        warnings.push_back({WarningKind::IrUnusable,
                            fmt::format("interrupt remapping will stay off: {}; DMA remapping stays on, and every "
                                        "partition with a DMA-capable device needs allow_unisolated_dma = true",
                                        why)});
}

}  // namespace natsume::probe
