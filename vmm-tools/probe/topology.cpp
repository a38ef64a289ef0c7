#include "vmm-tools/probe/topology.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "hypervisor/lib/cpu_topology.hpp"

namespace natsume::probe {

namespace {

const CpuInfo* by_apic(const std::vector<CpuInfo>& cpus, uint32_t apic) {
    for (const CpuInfo& c : cpus)
        if (c.apic_id == apic) return &c;
    return nullptr;
}

CpuFeatures features_of(const CpuInfo& c) {
    CpuFeatures f;
    f.model  = c.model;
    f.vmx    = c.flags.count("vmx") != 0;
    f.x2apic = c.flags.count("x2apic") != 0;
    // Linux 5.9+ lists VMX features in "vmx flags"; older kernels put ept in "flags".
    f.ept                = c.vmx_flags.count("ept") != 0 || c.flags.count("ept") != 0;
    f.unrestricted_guest = c.vmx_flags.count("unrestricted_guest") != 0;
    return f;
}

}  // namespace

uint8_t smt_shift_of(const std::vector<CpuInfo>& cpus) {
    const CpuInfo& c = cpus.front();
    if (c.cpu_cores == 0 || c.siblings <= c.cpu_cores) return 0;
    return topology::ceil_log2(c.siblings / c.cpu_cores);
}

void apply_cpuinfo(const std::vector<CpuInfo>& cpus, Machine& m, std::vector<Warning>& warnings) {
    auto boot   = std::find_if(cpus.begin(), cpus.end(), [](const CpuInfo& c) { return c.processor == 0; });
    m.bsp       = (boot != cpus.end() ? *boot : cpus.front()).apic_id;
    m.cpu       = features_of(boot != cpus.end() ? *boot : cpus.front());
    m.smt_shift = smt_shift_of(cpus);
    std::vector<uint32_t> unknown;
    for (Core& core : m.cores) {
        const CpuInfo* c = by_apic(cpus, core.apic_id);
        if (!c) {
            unknown.push_back(core.apic_id);
            continue;
        }
        core.package = c->package;
        core.core    = c->core_id;
        for (const CpuInfo& o : cpus)
            if (o.apic_id != c->apic_id && o.package == c->package && o.core_id == c->core_id)
                core.siblings.push_back(o.apic_id);
    }
    if (!unknown.empty())
        warnings.push_back({WarningKind::NoTopology,
                            fmt::format("the MADT lists cores {} that Linux did not bring up (maxcpus=, nosmt or "
                                        "offline): their SMT siblings are unknown, so the draft leaves them out",
                                        fmt::join(unknown, " "))});
}

}  // namespace natsume::probe
