#include "lvt.hpp"

namespace natsume::lvt {

const char* refuse_reason(uint32_t offset, uint32_t value) {
    if (!has_delivery_mode(offset) || (value & reg::lvt::MASKED)) return nullptr;
    using drivers::lapic::lvt::Delivery;
    switch (static_cast<Delivery>((value & reg::lvt::DELIVERY_MASK) >> reg::lvt::DELIVERY_SHIFT)) {
    case Delivery::Fixed: return nullptr;
    case Delivery::Smi: return "SMI delivery would enter system management mode";
    case Delivery::Nmi: return "NMI delivery is the hypervisor's control path";
    case Delivery::Init: return "INIT delivery would reset the core";
    case Delivery::ExtInt: return "ExtINT delivery takes vectors from an 8259 no partition owns";
    }
    return "reserved delivery mode";
}

}  // namespace natsume::lvt
