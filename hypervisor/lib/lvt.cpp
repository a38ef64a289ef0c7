#include "lvt.hpp"

namespace natsume::lvt {

const char* refuse_reason(uint32_t offset, uint32_t value) {
    if (!has_delivery_mode(offset) || (value & kMasked)) return nullptr;
    switch ((value & kDeliveryMask) >> kDeliveryShift) {
        case 0: return nullptr;   // Fixed
        case 2: return "SMI delivery would enter system management mode";
        case 4: return "NMI delivery is the hypervisor's control path";
        case 5: return "INIT delivery would reset the core";
        case 7: return "ExtINT delivery takes vectors from an 8259 no partition owns";
        default: return "reserved delivery mode";
    }
}

}  // namespace natsume::lvt
