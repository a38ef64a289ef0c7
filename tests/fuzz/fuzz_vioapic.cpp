// The virtual IOAPIC (hypervisor/vdev/vioapic.cpp): a fuzzed configuration,
// then a sequence of guest reads and writes at fuzzed offsets, sizes and
// values (mostly the IOREGSEL/IOWIN/EOI protocol, sometimes anything).
//
// The configuration includes a fuzzed core list (the owner among it, or not
// and then config_ok must refuse it).
//
// Asserts after every access: a ProgramPin action is for an owned pin and
// its physical entry delivers Fixed, in physical mode (or through the pin's
// own remapping entry), with a vector in 0x10..0xFE unless masked and the
// guest's vector, trigger and mask, to one of the configured cores: the
// guest's physical destination when it is one of them, the owner otherwise;
// once a pin has been programmed, what hardware holds is what the guest's
// current entry translates to (a high-half write that moves the pin
// reprograms it); an Eoi names an owned pin whose vector it is; the shadows
// of pins the partition does not own never change.
#include <algorithm>
#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz_util.hpp"
#include "hypervisor/vdev/vioapic.hpp"

using namespace natsume;
using namespace natsume::vioapic;

namespace {

uint32_t live_low(void* ctx, uint8_t pin) { return *static_cast<uint32_t*>(ctx) * (pin + 1u); }

FUZZ_MODEL bool listed(const Config& c, uint32_t apic_id) {
    if (c.core_count == 0) return apic_id == c.owner_apic_id;
    for (uint8_t i = 0; i < c.core_count; ++i)
        if (c.cores[i] == apic_id) return true;
    return false;
}

// What config_ok promises about the cores.
FUZZ_MODEL void check_config(const Config& c) {
    FUZZ_CHECK(c.core_count <= MAX_CORES);
    FUZZ_CHECK(listed(c, c.owner_apic_id));
    if (c.remapped) return;
    FUZZ_CHECK(c.owner_apic_id < 0xFF);
    for (uint8_t i = 0; i < c.core_count; ++i) FUZZ_CHECK(c.cores[i] < 0xFF);
}

// The core a guest entry should reach, written independently of destination().
FUZZ_MODEL uint32_t expected_destination(const Config& c, uint64_t guest) {
    const auto dest = static_cast<uint32_t>(guest >> 56);
    if ((guest & hw::DEST_LOGICAL) || dest == 0xFF || !listed(c, dest)) return c.owner_apic_id;
    return dest;
}

FUZZ_MODEL void check_program(const Config& c, const Vioapic& v, const Action& a) {
    FUZZ_CHECK(a.pin < c.pins && v.owns(a.pin));
    const uint64_t e = static_cast<uint64_t>(a.high) << 32 | a.low;
    FUZZ_CHECK((e & hw::DELIVERY_MASK) == hw::DELIVERY_FIXED);
    FUZZ_CHECK((e & (hw::DELIVERY_STATUS | hw::REMOTE_IRR)) == 0);
    if (c.remapped) {
        FUZZ_CHECK(e & hw::REMAPPABLE);
        const uint32_t handle = static_cast<uint32_t>(e >> hw::INDEX_LOW_SHIFT) |
                                static_cast<uint32_t>((e >> hw::INDEX_HIGH_BIT) & 1) << 15;
        FUZZ_CHECK(handle == c.irte_base + a.pin && a.irte_index == handle);
    } else {
        FUZZ_CHECK((e & (hw::DEST_LOGICAL | hw::REMAPPABLE)) == 0);
        FUZZ_CHECK((e >> hw::DEST_SHIFT) == a.dest_apic_id);
    }
    FUZZ_CHECK(listed(c, a.dest_apic_id));
    FUZZ_CHECK(a.dest_apic_id == expected_destination(c, v.shadow(a.pin)));
    FUZZ_CHECK(a.dest_apic_id == destination(c, v.shadow(a.pin)));
    if (!(e & hw::MASKED)) FUZZ_CHECK(a.vector >= MIN_VECTOR && a.vector <= MAX_VECTOR);
    FUZZ_CHECK((e & hw::VECTOR_MASK) == a.vector);
    FUZZ_CHECK(a.level == ((e & hw::LEVEL) != 0));
    // The shadow keeps what the guest asked for; hardware got the same vector, trigger, mask.
    const uint64_t kept = hw::VECTOR_MASK | hw::LEVEL | hw::ACTIVE_LOW | hw::MASKED;
    FUZZ_CHECK((v.shadow(a.pin) & kept) == (e & kept));
}

// The shadows of pins the partition does not own never change.
FUZZ_MODEL void check_foreign_pins(const Config& c, const Vioapic& v, const uint64_t initial[]) {
    for (uint8_t p = 0; p < c.pins; ++p)
        if (!v.owns(p)) FUZZ_CHECK(v.shadow(p) == initial[p]);
}

// What hardware holds for each pin after the actions so far were carried out.
struct Hardware {
    bool programmed[MAX_PINS] = {};
    uint64_t entry[MAX_PINS]  = {};
    uint32_t dest[MAX_PINS]   = {};
};

// A programmed pin holds what the guest's current entry translates to: no
// write leaves hardware delivering to a core the guest no longer names.
FUZZ_MODEL void check_hardware(const Config& c, const Vioapic& v, const Hardware& hw_state) {
    for (uint8_t p = 0; p < c.pins; ++p) {
        if (!hw_state.programmed[p]) continue;
        const Action t = translate_entry(c, p, v.shadow(p));
        FUZZ_CHECK(t.kind == Kind::ProgramPin);  // the shadow only holds accepted entries
        FUZZ_CHECK((static_cast<uint64_t>(t.high) << 32 | t.low) == hw_state.entry[p]);
        FUZZ_CHECK(t.dest_apic_id == hw_state.dest[p]);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    uint32_t live_seed = in.ConsumeIntegral<uint32_t>();
    Config c{};
    c.pins          = in.ConsumeIntegralInRange<uint8_t>(1, MAX_PINS);
    c.owned         = in.ConsumeIntegral<uint64_t>() & (c.pins >= 64 ? ~0ull : (1ull << c.pins) - 1);
    c.remapped      = in.ConsumeBool();
    c.owner_apic_id = c.remapped ? in.ConsumeIntegral<uint32_t>() : in.ConsumeIntegralInRange<uint32_t>(0, 0xFE);
    c.irte_base     = in.ConsumeIntegral<uint16_t>();
    c.ioapic_id     = in.ConsumeIntegral<uint8_t>();
    c.version       = in.ConsumeBool() ? 0x20 : 0x11;
    if (in.ConsumeBool()) {
        c.live_low = &live_low;
        c.live_ctx = &live_seed;
    }
    // Mostly xAPIC-sized IDs, so that guest destinations can name the cores.
    c.core_count    = in.ConsumeIntegralInRange<uint8_t>(0, MAX_CORES + 1);
    const bool wide = c.remapped && in.ConsumeBool();
    const uint8_t n = std::min<uint8_t>(c.core_count, MAX_CORES);
    for (uint8_t i = 0; i < n; ++i)
        c.cores[i] = wide ? in.ConsumeIntegral<uint32_t>() : in.ConsumeIntegralInRange<uint32_t>(0, 0xFF);
    if (n > 0 && in.ConsumeBool())
        c.owner_apic_id = c.cores[in.ConsumeIntegralInRange<uint8_t>(0, static_cast<uint8_t>(n - 1))];
    if (!config_ok(c)) return 0;
    check_config(c);
    Vioapic v(c);
    uint64_t initial[MAX_PINS];
    for (uint8_t p = 0; p < c.pins; ++p) {
        initial[p] = v.shadow(p);
        if (v.owns(p)) {
            const uint64_t e = v.initial_entry(p);
            FUZZ_CHECK(e & hw::MASKED);
            if (!c.remapped) FUZZ_CHECK((e >> hw::DEST_SHIFT) == c.owner_apic_id);
        }
    }
    Hardware hardware;

    while (in.remaining_bytes() > 0) {
        const uint8_t op = in.ConsumeIntegral<uint8_t>();
        uint32_t offset  = hw::offset(hw::Mmio::IOWIN);
        uint8_t sz       = 4;
        switch (op & 3) {
        case 0: offset = hw::offset(hw::Mmio::IOREGSEL); break;
        case 1: offset = hw::offset(hw::Mmio::IOWIN); break;
        case 2: offset = hw::offset(hw::Mmio::EOI); break;
        default:
            offset = in.ConsumeIntegral<uint8_t>();
            sz     = in.ConsumeIntegralInRange<uint8_t>(0, 8);
            break;
        }
        const uint32_t value = in.ConsumeIntegral<uint32_t>();
        Action a{};
        if (op & 4) {
            uint32_t out = 0;
            a            = v.read(offset, sz, out);
            FUZZ_CHECK(a.kind == Kind::None || a.kind == Kind::Refused);
        } else {
            a = v.write(offset, sz, value);
        }
        if (a.kind == Kind::ProgramPin) {
            check_program(c, v, a);
            hardware.programmed[a.pin] = true;
            hardware.entry[a.pin]      = static_cast<uint64_t>(a.high) << 32 | a.low;
            hardware.dest[a.pin]       = a.dest_apic_id;
        }
        if (a.kind == Kind::Eoi) {
            FUZZ_CHECK(c.version == 0x20 && a.pin < c.pins && v.owns(a.pin));
            FUZZ_CHECK((v.shadow(a.pin) & hw::VECTOR_MASK) == a.vector);
            FUZZ_CHECK(a.vector >= MIN_VECTOR && a.vector <= MAX_VECTOR);
        }
        if (a.kind == Kind::ShadowOnly && a.pin != 0) FUZZ_CHECK(v.owns(a.pin));
        check_foreign_pins(c, v, initial);
        check_hardware(c, v, hardware);
    }
    return 0;
}
