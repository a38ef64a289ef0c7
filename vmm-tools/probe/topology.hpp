// Cores and their hardware threads: the MADT says which local APICs exist
// (what the hypervisor trusts), /proc/cpuinfo which of them are threads of
// one core (equal physical id and core id), which is the boot processor
// (Linux's CPU 0) and what the CPU can do (vmx, ept, x2apic flags).
#pragma once
#include <vector>

#include "vmm-tools/probe/cpuinfo.hpp"
#include "vmm-tools/probe/machine.hpp"
#include "vmm-tools/probe/warning.hpp"

namespace natsume::probe {

// Fills package, core and siblings of m.cores, m.bsp, m.smt_shift and m.cpu.
void apply_cpuinfo(const std::vector<CpuInfo>& cpus, Machine& m, std::vector<Warning>& warnings);

// Threads per core -> the APIC ID bits that number them
// (hypervisor/lib/cpu_topology.hpp, the leaf 1/4 rule).
[[nodiscard]] uint8_t smt_shift_of(const std::vector<CpuInfo>& cpus);

}  // namespace natsume::probe
