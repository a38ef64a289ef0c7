// The interrupt-command filter (hypervisor/vdev/icr_filter.cpp), x2APIC and
// xAPIC forms, with a fuzzed partition (up to 8 owned APIC IDs and a self ID).
//
// Asserts on every allowed command: fixed delivery, vector >= 16 (for
// x2APIC also no reserved bit set); with no shorthand, physical destination
// mode, not the broadcast ID and one of the partition's APIC IDs; an
// all-including/excluding-self shorthand only as a partition broadcast whose
// fan-out names indices inside the partition, each core once, every core of
// the partition but self for all-excluding-self, and every one including
// self for all-including-self, with self listed. Only partition broadcasts
// have a fan-out. Refusals carry a reason and a sentence; the decision does
// not depend on bits the filter does not read (delivery status, level,
// trigger; the xAPIC high dword's bits 23:0).
#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz_util.hpp"
#include "hypervisor/vdev/icr_filter.hpp"

using namespace natsume;
using namespace natsume::icr;
namespace reg = natsume::drivers::lapic::icr;

namespace {

bool owned(const Partition& p, uint32_t id) {
    for (size_t i = 0; i < p.count; ++i)
        if (p.apic_ids[i] == id) return true;
    return false;
}

bool first_of_its_id(const Partition& p, size_t i) {
    for (size_t j = 0; j < i; ++j)
        if (p.apic_ids[j] == p.apic_ids[i]) return false;
    return true;
}

// A fan-out names cores of the partition only, each once, all of them but
// (for all-excluding-self) the writing core.
FUZZ_MODEL void check_fanout(const Verdict& v, Shorthand sh, const Partition& p) {
    FUZZ_CHECK(sh == Shorthand::AllIncludingSelf || sh == Shorthand::AllExcludingSelf);
    FUZZ_CHECK(p.count <= MAX_FANOUT && owned(p, p.self));
    if (p.count < 32) FUZZ_CHECK((v.fanout >> p.count) == 0);
    for (size_t i = 0; i < p.count; ++i) {
        const bool sent = (v.fanout >> i) & 1;
        const bool self = p.apic_ids[i] == p.self;
        if (sent) FUZZ_CHECK(first_of_its_id(p, i));
        if (sent && sh == Shorthand::AllExcludingSelf) FUZZ_CHECK(!self);
        if (first_of_its_id(p, i) && (!self || sh == Shorthand::AllIncludingSelf)) FUZZ_CHECK(sent);
    }
}

FUZZ_MODEL void check_allowed(const Verdict& v, uint64_t low, uint32_t dest, uint32_t broadcast, const Partition& p) {
    FUZZ_CHECK(((low & reg::DELIVERY_MASK) >> reg::DELIVERY_SHIFT) == static_cast<uint64_t>(DeliveryMode::Fixed));
    FUZZ_CHECK((low & reg::VECTOR_MASK) >= 16);
    const auto sh = static_cast<Shorthand>((low & reg::SHORTHAND_MASK) >> reg::SHORTHAND_SHIFT);
    FUZZ_CHECK((v.reason == Reason::PartitionBroadcast) ==
               (sh == Shorthand::AllIncludingSelf || sh == Shorthand::AllExcludingSelf));
    if (v.reason == Reason::PartitionBroadcast) return check_fanout(v, sh, p);
    FUZZ_CHECK(v.fanout == 0);
    if (sh == Shorthand::Self) return;  // the destination field and mode are ignored (SDM Vol. 3A 10.6.1)
    FUZZ_CHECK((low & reg::DEST_LOGICAL) == 0);
    FUZZ_CHECK(dest != broadcast);
    FUZZ_CHECK(owned(p, dest));
}

FUZZ_MODEL void check_verdict(const Verdict& v) {
    FUZZ_CHECK(v.why != nullptr && v.why[0] != '\0');
    FUZZ_CHECK(v.allow == (v.reason == Reason::Allowed || v.reason == Reason::PartitionBroadcast));
    if (!v.allow) FUZZ_CHECK(v.fanout == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    uint32_t ids[8];
    const size_t count   = in.ConsumeIntegralInRange<size_t>(0, 8);
    const bool small_ids = in.ConsumeBool();  // xAPIC-sized IDs make owned destinations reachable
    for (size_t i = 0; i < count; ++i)
        ids[i] = small_ids ? in.ConsumeIntegral<uint8_t>() : in.ConsumeIntegral<uint32_t>();
    const uint32_t* list = count == 0 && in.ConsumeBool() ? nullptr : ids;
    // The writing core is normally one of the partition's (shorthands fan out from there only).
    const uint32_t self = count > 0 && in.ConsumeBool() ? ids[in.ConsumeIntegralInRange<size_t>(0, count - 1)]
                                                        : in.ConsumeIntegral<uint32_t>();
    const Partition p{list, count, self};
    const uint64_t icr  = in.ConsumeIntegral<uint64_t>();
    const uint32_t high = in.ConsumeIntegral<uint32_t>();

    const Verdict x2 = check_x2apic(icr, p);
    check_verdict(x2);
    if (x2.allow) {
        FUZZ_CHECK((icr & reg::X2APIC_RESERVED) == 0);
        check_allowed(x2, icr, static_cast<uint32_t>(icr >> 32), reg::X2APIC_BROADCAST, p);
    }
    if (icr & reg::X2APIC_RESERVED) FUZZ_CHECK(x2.reason == Reason::ReservedBits);

    const uint32_t low = static_cast<uint32_t>(icr);
    const Verdict xa   = check_xapic(low, high, p);
    check_verdict(xa);
    if (xa.allow) check_allowed(xa, low, high >> 24, reg::XAPIC_BROADCAST, p);
    // Bits the filter does not read cannot change its decision.
    const uint32_t ignored = static_cast<uint32_t>(reg::DELIVERY_PENDING | reg::LEVEL_ASSERT | reg::TRIGGER_LEVEL);
    const Verdict xb       = check_xapic(low ^ ignored, high ^ 0x00FFFFFFu, p);
    FUZZ_CHECK(xb.allow == xa.allow && xb.reason == xa.reason && xb.fanout == xa.fanout);
    // Without reserved bits both forms decide a shorthand alike: its destination is ignored.
    if (!(icr & reg::X2APIC_RESERVED) && drivers::lapic::Icr{icr}.shorthand() != Shorthand::None)
        FUZZ_CHECK(x2.reason == xa.reason && x2.fanout == xa.fanout);
    return 0;
}
