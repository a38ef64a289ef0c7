#include "vmm-tools/probe/probe.hpp"

#include <fmt/format.h>

#include "vmm-tools/config/pci_names.hpp"
#include "vmm-tools/probe/acpi_read.hpp"
#include "vmm-tools/probe/intx_routing.hpp"
#include "vmm-tools/probe/ir_verdict.hpp"
#include "vmm-tools/probe/pci_scan.hpp"
#include "vmm-tools/probe/topology.hpp"

namespace natsume::probe {

namespace {

// Interrupt lines once the MADT overrides are known (the draft warns where the
// Interrupt Line register and Linux's routing differ for a device it assigns).
void resolve_lines(const Tree& tree, const ConfigSnapshot& config, Machine& m) {
    for (PciFunction& f : m.pci) {
        f.intx_gsi = hypervisor_gsi(f.intx_pin, f.intx_line, m.overrides);
        if (f.intx_pin && !f.bridge) f.linux_gsi = linux_irq_gsi(linux_intx_irq(tree, f.bdf, config), m.overrides);
    }
}

void machine_warnings(const Machine& m, std::vector<Warning>& warnings) {
    if (!m.cpu.vmx)
        warnings.push_back({WarningKind::NoVmx,
                            "the CPU shows no VT-x (no vmx flag: absent, or disabled and locked by the firmware): "
                            "Natsume cannot run partitions here; enable Intel Virtualization Technology in the "
                            "firmware setup"});
    else if (!m.cpu.ept)
        warnings.push_back({WarningKind::NoEpt,
                            "the CPU has VT-x but Linux lists no EPT in its vmx flags: Natsume needs EPT (Nehalem "
                            "or later)"});
    if (!m.vtd.present)
        warnings.push_back({WarningKind::NoIommu,
                            "no ACPI DMAR table (no VT-d, or VT-d off in the firmware setup): device DMA is not "
                            "isolated; every partition with a DMA-capable device needs a dma window "
                            "(identity-mapped RAM) and allow_unisolated_dma = true"});
    for (const Rmrr& r : m.vtd.rmrrs) {
        std::vector<std::string> devs;
        for (uint16_t b : r.devices) devs.push_back(tools::format_bdf(b));
        warnings.push_back({WarningKind::Rmrr,
                            fmt::format("RMRR {:#x}-{:#x}: firmware keeps DMA-ing there for {}; no partition's RAM "
                                        "may overlap it, and the draft leaves those devices unassigned",
                                        r.base, r.limit,
                                        devs.empty() ? "no listed device" : fmt::format("{}", fmt::join(devs, ", ")))});
    }
}

template <typename T>
Result<ProbeResult> fail(const Result<T>& r) {
    return Result<ProbeResult>::failure(r.error());
}

}  // namespace

Result<ProbeResult> probe_machine(const Tree& tree) {
    ProbeResult out;
    Machine& m        = out.machine;
    m.source          = tree.root().string();
    auto cpuinfo_text = tree.text("/proc/cpuinfo");
    if (!cpuinfo_text) return fail(cpuinfo_text);
    auto cpus = parse_cpuinfo(*cpuinfo_text);
    if (!cpus) return fail(cpus);
    auto memory = read_memmap(tree);
    if (!memory) return fail(memory);
    m.memory  = *memory;
    auto scan = scan_pci(tree);
    if (!scan) return fail(scan);
    m.pci        = scan->functions;
    out.warnings = scan->warnings;
    if (auto r = read_madt(tree, m); !r) return fail(r);
    if (auto r = read_mcfg(tree, m); !r) return fail(r);
    std::unique_ptr<dmar::Dmar> table;
    if (auto r = read_dmar(tree, scan->config, m, table); !r) return fail(r);
    apply_cpuinfo(*cpus, m, out.warnings);
    resolve_lines(tree, scan->config, m);
    machine_warnings(m, out.warnings);
    decide_interrupt_remapping(m, table.get(), scan->config, out.warnings);
    return out;
}

}  // namespace natsume::probe
