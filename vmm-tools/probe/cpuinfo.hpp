// /proc/cpuinfo on x86 Linux: one block per online logical processor, lines
// "key<TAB>: value", blocks separated by an empty line.
#pragma once
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "vmm-tools/probe/result.hpp"

namespace natsume::probe {

struct CpuInfo {
    uint32_t processor = 0;           // Linux's CPU number; 0 is the boot processor
    uint32_t apic_id   = 0;           // "apicid": the local APIC ID, as in the MADT
    uint32_t package   = 0;           // "physical id"
    uint32_t core_id   = 0;           // "core id": equal in one package for SMT siblings
    uint32_t siblings  = 1;           // logical processors per package
    uint32_t cpu_cores = 1;           // cores per package
    std::string model;                // "model name"
    std::set<std::string> flags;      // "flags"
    std::set<std::string> vmx_flags;  // "vmx flags" (Linux 5.9 and later)
};

// Fails (one sentence) on a block without "processor" or "apicid".
[[nodiscard]] Result<std::vector<CpuInfo>> parse_cpuinfo(std::string_view text);

}  // namespace natsume::probe
