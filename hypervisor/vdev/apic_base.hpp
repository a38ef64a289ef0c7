// Which IA32_APIC_BASE writes a partition may make on its own core.
//
// SDM Vol. 3A 10.4.4 (the MSR: BSP bit 8, x2APIC enable bit 10, global
// enable bit 11, base address 12..MAXPHYADDR-1, all else reserved) and
// 10.12.5 (state transitions: xAPIC -> x2APIC is the only change of mode a
// running APIC may make; x2APIC -> xAPIC directly and disabled -> x2APIC
// raise #GP). Natsume also keeps the APIC where the hypervisor put it: the
// base never moves, the APIC is never globally disabled (the hypervisor's NMI
// control path needs it) and the BSP flag never changes. So the x2APIC switch
// is the one transition a partition can make, and it is one-way.
#pragma once
#include <stdint.h>

namespace natsume::apic_msr {

inline constexpr uint64_t BSP           = 1ull << 8;
inline constexpr uint64_t X2APIC_ENABLE = 1ull << 10;
inline constexpr uint64_t GLOBAL_ENABLE = 1ull << 11;
inline constexpr unsigned ADDRESS_SHIFT = 12;

struct Caps {
    uint8_t maxphyaddr;  // CPUID 0x80000008 EAX[7:0]
    bool x2apic;         // CPUID 1 ECX[21]
};

enum class Verdict : uint8_t {
    Ok,
    Reserved,      // a reserved bit is set (bits 0-7, 9, MAXPHYADDR..63, or 10 without x2APIC)
    Moved,         // the base address changes
    Bsp,           // the BSP flag changes
    Disabled,      // global enable cleared
    LeavesX2apic,  // x2APIC -> xAPIC (architecturally #GP) or -> disabled (refused by Natsume)
};

// The bits that must be zero in any IA32_APIC_BASE value on this CPU.
constexpr uint64_t reserved_bits(const Caps& c) {
    uint64_t address = (c.maxphyaddr >= 64 ? ~0ull : (1ull << c.maxphyaddr) - 1) & ~((1ull << ADDRESS_SHIFT) - 1);
    uint64_t allowed = address | BSP | GLOBAL_ENABLE | (c.x2apic ? X2APIC_ENABLE : 0);
    return ~allowed;
}

Verdict check(uint64_t current, uint64_t value, const Caps& caps);
const char* to_string(Verdict);

}  // namespace natsume::apic_msr
