#include "apic_base.hpp"

namespace natsume::apic_msr {

Verdict check(uint64_t current, uint64_t value, const Caps& caps) {
    if (value & reserved_bits(caps)) return Verdict::Reserved;
    uint64_t address_mask = ~reserved_bits(caps) & ~((1ull << kAddressShift) - 1);
    if ((value ^ current) & address_mask) return Verdict::Moved;
    if ((value ^ current) & kBsp) return Verdict::Bsp;
    if (!(value & kGlobalEnable)) return (current & kX2apicEnable) ? Verdict::LeavesX2apic : Verdict::Disabled;
    if ((current & kX2apicEnable) && !(value & kX2apicEnable)) return Verdict::LeavesX2apic;
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
