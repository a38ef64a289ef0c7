#include "apic_base.hpp"

namespace natsume::apic_msr {

Verdict check(uint64_t current, uint64_t value, const Caps& caps) {
    if (value & reserved_bits(caps)) return Verdict::Reserved;
    uint64_t address_mask = ~reserved_bits(caps) & ~((1ull << ADDRESS_SHIFT) - 1);
    if ((value ^ current) & address_mask) return Verdict::Moved;
    if ((value ^ current) & BSP) return Verdict::Bsp;
    if (!(value & GLOBAL_ENABLE)) return (current & X2APIC_ENABLE) ? Verdict::LeavesX2apic : Verdict::Disabled;
    if ((current & X2APIC_ENABLE) && !(value & X2APIC_ENABLE)) return Verdict::LeavesX2apic;
    return Verdict::Ok;
}

const char* to_string(Verdict v) {
    switch (v) {
    case Verdict::Ok: return "allowed";
    case Verdict::Reserved: return "a reserved bit is set";
    case Verdict::Moved: return "the local APIC base may not move";
    case Verdict::Bsp: return "the BSP flag is the hardware's";
    case Verdict::Disabled: return "the local APIC may not be disabled (the hypervisor's control path)";
    case Verdict::LeavesX2apic: return "x2APIC mode is left only through a reset";
    }
    return "unknown";
}

}  // namespace natsume::apic_msr
