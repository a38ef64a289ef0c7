// The virtual IOAPIC (hypervisor/vdev/vioapic.cpp): a fuzzed configuration,
// then a sequence of guest reads and writes at fuzzed offsets, sizes and
// values (mostly the IOREGSEL/IOWIN/EOI protocol, sometimes anything).
//
// Asserts after every access: a ProgramPin action is for an owned pin and
// its physical entry delivers Fixed, to the owner core in physical mode (or
// through the pin's own remapping entry), with a vector in 0x10..0xFE
// unless masked and the guest's vector, trigger and mask; an Eoi names an
// owned pin whose vector it is; the shadows of pins the partition does not
// own never change.
#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz_util.hpp"
#include "hypervisor/vdev/vioapic.hpp"

using namespace natsume;
using namespace natsume::vioapic;

namespace {

uint32_t live_low(void* ctx, uint8_t pin) { return *static_cast<uint32_t*>(ctx) * (pin + 1u); }

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
        FUZZ_CHECK((e >> hw::DEST_SHIFT) == c.owner_apic_id);
    }
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
    if (!config_ok(c)) return 0;
    Vioapic v(c);
    uint64_t initial[MAX_PINS];
    for (uint8_t p = 0; p < c.pins; ++p) {
        initial[p] = v.shadow(p);
        if (v.owns(p)) {
            const uint64_t e = v.initial_entry(p);
            FUZZ_CHECK(e & hw::MASKED);
        }
    }

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
        if (a.kind == Kind::ProgramPin) check_program(c, v, a);
        if (a.kind == Kind::Eoi) {
            FUZZ_CHECK(c.version == 0x20 && a.pin < c.pins && v.owns(a.pin));
            FUZZ_CHECK((v.shadow(a.pin) & hw::VECTOR_MASK) == a.vector);
            FUZZ_CHECK(a.vector >= MIN_VECTOR && a.vector <= MAX_VECTOR);
        }
        if (a.kind == Kind::ShadowOnly && a.pin != 0) FUZZ_CHECK(v.owns(a.pin));
        check_foreign_pins(c, v, initial);
    }
    return 0;
}
