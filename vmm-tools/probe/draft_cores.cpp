// Cores of the draft: whole physical cores, the boot core's kept for the
// hypervisor (docs/probe.md "Cores").
#include <algorithm>
#include <fmt/format.h>
#include <map>

#include "vmm-tools/probe/draft.hpp"

namespace natsume::probe {

namespace {

// The threads of each physical core, cores in APIC ID order; a core whose
// topology Linux did not report is left out.
std::vector<std::vector<uint32_t>> physical_cores(const Machine& m) {
    std::map<std::pair<uint32_t, uint32_t>, std::vector<uint32_t>> by_core;
    for (const Core& c : m.cores)
        if (c.enabled && c.package && c.core) by_core[{*c.package, *c.core}].push_back(c.apic_id);
    std::vector<std::vector<uint32_t>> out;
    for (auto& [key, threads] : by_core) {
        std::sort(threads.begin(), threads.end());
        out.push_back(threads);
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

CoreChoice choose_cores(const Machine& m, std::vector<Warning>& warnings) {
    CoreChoice c;
    std::vector<std::vector<uint32_t>> free;
    for (auto& threads : physical_cores(m)) {
        if (std::find(threads.begin(), threads.end(), m.bsp) != threads.end())
            c.hypervisor = threads;
        else
            free.push_back(threads);
    }
    if (c.hypervisor.empty()) c.hypervisor = {m.bsp};
    if (!free.empty()) c.rt = free[0][0];
    if (free.size() >= 2) {
        c.gp = free[1][0];
    } else if (c.hypervisor.size() >= 2 && c.rt) {
        c.gp                  = c.hypervisor[1];
        c.gp_shares_boot_core = true;
        warnings.push_back({WarningKind::SmtShared,
                            fmt::format("gp0 runs on core {}, the SMT sibling of the boot core {}: it shares caches "
                                        "and execution units with the hypervisor (allow_smt_sharing = true); rt0 "
                                        "keeps a whole core",
                                        *c.gp, m.bsp)});
    }
    if (!c.rt)
        warnings.push_back({WarningKind::TooFewCores,
                            fmt::format("this machine has no physical core besides the boot core {}: no partition "
                                        "can run here",
                                        m.bsp)});
    else if (!c.gp)
        warnings.push_back({WarningKind::TooFewCores,
                            fmt::format("this machine has {} core(s): the boot core stays with the hypervisor and "
                                        "rt0 takes core {}, so the draft has no gp0",
                                        m.cores.size(), *c.rt)});
    return c;
}

}  // namespace natsume::probe
