#include "vioapic.hpp"

namespace natsume::vioapic {
namespace {

// Delivery modes (datasheet 3.2.4, bits 10:8). SMI (2), NMI (4), INIT (5) and
// ExtINT (7) would let a partition reach another core's firmware or reset path.
constexpr uint8_t MODE_FIXED = 0, MODE_LOWEST_PRIORITY = 1;
constexpr uint32_t ID_SHIFT        = 24;  // ID and ARB: bits 27:24
constexpr uint32_t ID_MASK         = 0xF;
constexpr uint32_t MAX_REDIR_SHIFT = 16;  // VER: maximum redirection entry, bits 23:16
constexpr uint8_t VERSION82093 = 0x11, VERSION_WITH_EOI = 0x20;
// Bits the guest may choose in the physical entry; everything else is forced.
constexpr uint64_t GUEST_KEPT   = hw::VECTOR_MASK | hw::ACTIVE_LOW | hw::LEVEL | hw::MASKED;
constexpr uint64_t READ_ONLY    = hw::DELIVERY_STATUS | hw::REMOTE_IRR;
constexpr uint32_t MAX_XAPIC_ID = 0xFE;  // 0xFF is the physical broadcast ID

uint64_t pin_mask(uint8_t pins) { return pins >= 64 ? ~0ull : (1ull << pins) - 1; }

Action refused(Why why, uint8_t pin = 0) {
    Action a{};
    a.kind = Kind::Refused;
    a.why  = why;
    a.pin  = pin;
    return a;
}

Action simple(Kind kind, uint8_t pin = 0) {
    Action a{};
    a.kind = kind;
    a.pin  = pin;
    return a;
}

// Remappable entry: handle bits 14:0 in 63:49, bit 15 in bit 11 (VT-d 5.1.5.1).
uint64_t remappable_bits(uint16_t handle) {
    return hw::REMAPPABLE | (static_cast<uint64_t>(handle & 0x7FFF) << hw::INDEX_LOW_SHIFT) |
           (static_cast<uint64_t>(handle >> 15) << hw::INDEX_HIGH_BIT);
}

bool is_core(const Config& c, uint32_t apic_id) {
    if (c.core_count == 0) return apic_id == c.owner_apic_id;
    for (uint8_t i = 0; i < c.core_count && i < MAX_CORES; ++i)
        if (c.cores[i] == apic_id) return true;
    return false;
}

bool cores_ok(const Config& c) {
    if (c.core_count > MAX_CORES) return false;
    if (c.core_count > 0 && !is_core(c, c.owner_apic_id)) return false;
    if (c.remapped) return true;  // the remapping entry takes 32-bit destinations
    if (c.owner_apic_id > MAX_XAPIC_ID) return false;
    for (uint8_t i = 0; i < c.core_count; ++i)
        if (c.cores[i] > MAX_XAPIC_ID) return false;
    return true;
}

// The physical entry delivering the guest's entry to dest.
Action program(const Config& c, uint8_t pin, uint64_t guest, uint32_t dest) {
    // Fixed delivery and physical destination mode are the zero encodings.
    uint64_t phys  = guest & GUEST_KEPT;
    Action a       = simple(Kind::ProgramPin, pin);
    a.dest_apic_id = dest;
    if (c.remapped) {
        a.irte_index = static_cast<uint16_t>(c.irte_base + pin);
        phys |= remappable_bits(a.irte_index);
    } else {
        phys |= static_cast<uint64_t>(dest & 0xFF) << hw::DEST_SHIFT;
    }
    a.low    = static_cast<uint32_t>(phys);
    a.high   = static_cast<uint32_t>(phys >> 32);
    a.vector = static_cast<uint8_t>(guest & hw::VECTOR_MASK);
    a.level  = (guest & hw::LEVEL) != 0;
    return a;
}

bool pin_register(uint8_t index, uint8_t pins, uint8_t& pin, bool& high_half) {
    if (index < hw::index(hw::Reg::REDIR_BASE)) return false;
    const unsigned rel = index - hw::index(hw::Reg::REDIR_BASE);
    if (rel >= 2u * pins) return false;
    pin       = static_cast<uint8_t>(rel / 2);
    high_half = rel & 1;
    return true;
}

}  // namespace

bool config_ok(const Config& c) {
    if (c.pins == 0 || c.pins > MAX_PINS) return false;
    if (c.owned & ~pin_mask(c.pins)) return false;
    if (c.version != VERSION82093 && c.version != VERSION_WITH_EOI) return false;
    if (!cores_ok(c)) return false;
    return !c.remapped || static_cast<uint32_t>(c.irte_base) + c.pins - 1 <= 0xFFFF;
}

uint32_t destination(const Config& c, uint64_t guest) {
    if (guest & hw::DEST_LOGICAL) return c.owner_apic_id;  // logical IDs are each core's to set
    const auto dest = static_cast<uint32_t>((guest >> hw::DEST_SHIFT) & 0xFF);
    return dest <= MAX_XAPIC_ID && is_core(c, dest) ? dest : c.owner_apic_id;
}

Action translate_entry(const Config& c, uint8_t pin, uint64_t guest) {
    const uint8_t vector = static_cast<uint8_t>(guest & hw::VECTOR_MASK);
    const uint8_t mode   = static_cast<uint8_t>((guest & hw::DELIVERY_MASK) >> 8);
    if (!(guest & hw::MASKED)) {
        if (vector < MIN_VECTOR || vector > MAX_VECTOR) return refused(Why::BadVector, pin);
        // Lowest priority among one destination core is Fixed.
        if (mode != MODE_FIXED && mode != MODE_LOWEST_PRIORITY) return refused(Why::BadDeliveryMode, pin);
    }
    return program(c, pin, guest, destination(c, guest));
}

Vioapic::Vioapic(const Config& config) : config_(config), id_(static_cast<uint8_t>(config.ioapic_id & ID_MASK)) {
    if (config_.pins > MAX_PINS) config_.pins = MAX_PINS;
    if (config_.core_count > MAX_CORES) config_.core_count = MAX_CORES;
    config_.owned &= pin_mask(config_.pins);
    for (uint64_t& e : shadow_) e = hw::MASKED;  // reset state: every entry masked
}

bool Vioapic::owns(uint8_t pin) const { return pin < config_.pins && ((config_.owned >> pin) & 1); }

uint64_t Vioapic::shadow(uint8_t pin) const { return pin < MAX_PINS ? shadow_[pin] : hw::MASKED; }

uint64_t Vioapic::initial_entry(uint8_t pin) const {
    // Not destination() of the reset entry: its destination 0 may be a core.
    const Action a = program(config_, pin, hw::MASKED, config_.owner_apic_id);
    return (static_cast<uint64_t>(a.high) << 32) | a.low;
}

Action Vioapic::read(uint32_t offset, uint8_t size, uint32_t& value) const {
    value = 0;
    if (size != 4 || (offset & 3) != 0) return refused(Why::BadAccess);
    switch (offset) {
    case hw::offset(hw::Mmio::IOREGSEL): value = select_; return simple(Kind::None);
    case hw::offset(hw::Mmio::IOWIN): return read_window(value);
    case hw::offset(hw::Mmio::EOI):  // write-only
        return config_.version == VERSION_WITH_EOI ? simple(Kind::None) : refused(Why::NoSuchRegister);
    default: return refused(Why::NoSuchRegister);
    }
}

Action Vioapic::write(uint32_t offset, uint8_t size, uint32_t value) {
    if (size != 4 || (offset & 3) != 0) return refused(Why::BadAccess);
    switch (offset) {
    case hw::offset(hw::Mmio::IOREGSEL): select_ = static_cast<uint8_t>(value); return simple(Kind::None);
    case hw::offset(hw::Mmio::IOWIN): return write_window(value);
    case hw::offset(hw::Mmio::EOI):
        return config_.version == VERSION_WITH_EOI ? write_eoi(value) : refused(Why::NoSuchRegister);
    default: return refused(Why::NoSuchRegister);
    }
}

uint32_t Vioapic::read_entry_half(uint8_t pin, bool high_half) const {
    if (!owns(pin)) return high_half ? 0 : static_cast<uint32_t>(hw::MASKED);
    const uint64_t e = shadow_[pin];
    if (high_half) return static_cast<uint32_t>(e >> 32);
    uint32_t low = static_cast<uint32_t>(e & ~READ_ONLY);
    // Delivery Status and Remote IRR are the hardware's; level-triggered
    // guests poll Remote IRR, so show the live bits when the caller can.
    if (config_.live_low != nullptr) low |= config_.live_low(config_.live_ctx, pin) & static_cast<uint32_t>(READ_ONLY);
    return low;
}

Action Vioapic::read_window(uint32_t& value) const {
    uint8_t pin    = 0;
    bool high_half = false;
    switch (select_) {
    case hw::index(hw::Reg::ID):
    case hw::index(hw::Reg::ARBITRATION): value = static_cast<uint32_t>(id_) << ID_SHIFT; return simple(Kind::None);
    case hw::index(hw::Reg::VERSION):
        value = config_.version | (static_cast<uint32_t>(config_.pins - 1) << MAX_REDIR_SHIFT);
        return simple(Kind::None);
    default: break;
    }
    if (!pin_register(select_, config_.pins, pin, high_half)) return refused(Why::NoSuchRegister);
    value = read_entry_half(pin, high_half);
    return simple(Kind::None, pin);
}

Action Vioapic::write_window(uint32_t value) {
    uint8_t pin    = 0;
    bool high_half = false;
    switch (select_) {
    case hw::index(hw::Reg::ID):
        id_ = static_cast<uint8_t>((value >> ID_SHIFT) & ID_MASK);
        return simple(Kind::ShadowOnly);
    case hw::index(hw::Reg::VERSION):
    case hw::index(hw::Reg::ARBITRATION): return refused(Why::ReadOnlyRegister);
    default: break;
    }
    if (!pin_register(select_, config_.pins, pin, high_half)) return refused(Why::NoSuchRegister);
    // A foreign pin reads as masked and stays so: a write that keeps it
    // masked (Linux masks every pin at set-up and at shutdown) changes
    // nothing and is no refusal; an unmask is refused.
    if (!owns(pin)) {
        if (high_half || (value & static_cast<uint32_t>(hw::MASKED))) return simple(Kind::None, pin);
        return refused(Why::ForeignPin, pin);
    }
    return write_entry(pin, high_half, value);
}

// A low write reprograms the pin from the shadow's current high half and the
// new low half. A high write reprograms it only when it changes the core the
// pin delivers to (Linux writes the high half first, then the low half, but a
// guest may retarget a pin with the high half alone); the shadow's low half
// was accepted when written, so the reprogramming cannot be refused.
Action Vioapic::write_entry(uint8_t pin, bool high_half, uint32_t value) {
    uint64_t e = shadow_[pin];
    if (high_half) {
        const uint64_t next = (e & 0xFFFFFFFFull) | (static_cast<uint64_t>(value) << 32);
        shadow_[pin]        = next;
        if (destination(config_, next) == destination(config_, e)) return simple(Kind::ShadowOnly, pin);
        return translate_entry(config_, pin, next);
    }
    e              = (e & ~0xFFFFFFFFull) | (value & ~READ_ONLY);
    const Action a = translate_entry(config_, pin, e);
    if (a.kind == Kind::ProgramPin) shadow_[pin] = e;
    return a;
}

Action Vioapic::write_eoi(uint32_t value) const {
    const uint8_t vector = static_cast<uint8_t>(value & hw::VECTOR_MASK);
    if (vector < MIN_VECTOR || vector > MAX_VECTOR) return refused(Why::ForeignVector);
    for (uint8_t pin = 0; pin < config_.pins; ++pin) {
        if (!owns(pin) || (shadow_[pin] & hw::VECTOR_MASK) != vector) continue;
        Action a = simple(Kind::Eoi, pin);
        a.vector = vector;
        return a;
    }
    return refused(Why::ForeignVector);
}

const char* to_string(Why why) {
    switch (why) {
    case Why::None: return "none";
    case Why::ForeignPin: return "pin belongs to no device of this partition";
    case Why::BadVector: return "vector outside 0x10..0xFE";
    case Why::BadDeliveryMode: return "delivery mode other than fixed or lowest priority";
    case Why::BadAccess: return "IOAPIC registers take aligned 32-bit accesses only";
    case Why::NoSuchRegister: return "no such IOAPIC register";
    case Why::ReadOnlyRegister: return "read-only IOAPIC register";
    case Why::ForeignVector: return "EOI for a vector no owned pin uses";
    }
    return "unknown";
}

const char* to_string(Kind kind) {
    switch (kind) {
    case Kind::None: return "none";
    case Kind::ShadowOnly: return "shadow only";
    case Kind::ProgramPin: return "program pin";
    case Kind::Eoi: return "eoi";
    case Kind::Refused: return "refused";
    }
    return "unknown";
}

}  // namespace natsume::vioapic
