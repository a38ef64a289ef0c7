// How many low APIC ID bits number the hardware threads (SMT siblings) of
// one core, from CPUID alone (SDM Vol. 3A 8.9 "Programming considerations
// for hardware multi-threading capable processors"): leaf 0xB level 0 gives
// the shift directly; older CPUs (Core i7 920 has leaf 0xB, Core 2 does not)
// give logical processors per package in leaf 1 EBX[23:16] (with EDX.HTT)
// and cores per package in leaf 4 EAX[31:26] + 1.
#pragma once
#include <stdint.h>

namespace natsume::topology {

struct Leaves {
    uint32_t max_leaf;                // CPUID 0 EAX
    uint32_t l1_ebx, l1_edx;          // CPUID 1
    uint32_t l4_eax;                  // CPUID 4 subleaf 0
    uint32_t lb_eax, lb_ebx, lb_ecx;  // CPUID 0xB subleaf 0
};

constexpr uint32_t HTT            = 1u << 28;
constexpr uint32_t LEVEL_TYPE_SMT = 1;

constexpr uint8_t ceil_log2(uint32_t n) {
    uint8_t s = 0;
    while (s < 31 && (1u << s) < n) ++s;
    return s;
}

constexpr uint8_t smt_shift(const Leaves& l) {
    if (l.max_leaf >= 0xb && (l.lb_ebx & 0xffff) != 0 && ((l.lb_ecx >> 8) & 0xff) == LEVEL_TYPE_SMT)
        return static_cast<uint8_t>(l.lb_eax & 0x1f);
    if (!(l.l1_edx & HTT)) return 0;
    uint32_t logical = (l.l1_ebx >> 16) & 0xff;
    uint32_t cores   = l.max_leaf >= 4 ? ((l.l4_eax >> 26) & 0x3f) + 1 : 1;
    if (logical <= cores) return 0;
    return ceil_log2(logical / cores);
}

}  // namespace natsume::topology
