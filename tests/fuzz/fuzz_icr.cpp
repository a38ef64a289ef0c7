// The interrupt-command filter (hypervisor/vdev/icr_filter.cpp), x2APIC and
// xAPIC forms, with a fuzzed partition (up to 8 owned APIC IDs and a self ID).
//
// Asserts on every allowed command: fixed delivery, vector >= 16, shorthand
// none or self; with no shorthand, physical destination mode, not the
// broadcast ID and one of the partition's APIC IDs (for x2APIC also no
// reserved bit set). Refusals carry a reason and a sentence; the decision
// does not depend on bits the filter does not read (delivery status, level,
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

void check_allowed(uint64_t low, uint32_t dest, uint32_t broadcast, const Partition& p) {
    FUZZ_CHECK(((low & reg::DELIVERY_MASK) >> reg::DELIVERY_SHIFT) == static_cast<uint64_t>(DeliveryMode::Fixed));
    FUZZ_CHECK((low & reg::VECTOR_MASK) >= 16);
    const auto sh = static_cast<Shorthand>((low & reg::SHORTHAND_MASK) >> reg::SHORTHAND_SHIFT);
    FUZZ_CHECK(sh == Shorthand::None || sh == Shorthand::Self);
    if (sh == Shorthand::Self) return;  // the destination field and mode are ignored (SDM Vol. 3A 10.6.1)
    FUZZ_CHECK((low & reg::DEST_LOGICAL) == 0);
    FUZZ_CHECK(dest != broadcast);
    FUZZ_CHECK(owned(p, dest));
}

void check_verdict(const Verdict& v) {
    FUZZ_CHECK(v.why != nullptr && v.why[0] != '\0');
    FUZZ_CHECK(v.allow == (v.reason == Reason::Allowed));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    uint32_t ids[8];
    const size_t count   = in.ConsumeIntegralInRange<size_t>(0, 8);
    const bool small_ids = in.ConsumeBool();  // xAPIC-sized IDs make owned destinations reachable
    for (size_t i = 0; i < count; ++i)
        ids[i] = small_ids ? in.ConsumeIntegral<uint8_t>() : in.ConsumeIntegral<uint32_t>();
    const Partition p{count == 0 && in.ConsumeBool() ? nullptr : ids, count, in.ConsumeIntegral<uint32_t>()};
    const uint64_t icr  = in.ConsumeIntegral<uint64_t>();
    const uint32_t high = in.ConsumeIntegral<uint32_t>();

    const Verdict x2 = check_x2apic(icr, p);
    check_verdict(x2);
    if (x2.allow) {
        FUZZ_CHECK((icr & reg::X2APIC_RESERVED) == 0);
        check_allowed(icr, static_cast<uint32_t>(icr >> 32), reg::X2APIC_BROADCAST, p);
    }
    if (icr & reg::X2APIC_RESERVED) FUZZ_CHECK(x2.reason == Reason::ReservedBits);

    const uint32_t low = static_cast<uint32_t>(icr);
    const Verdict xa   = check_xapic(low, high, p);
    check_verdict(xa);
    if (xa.allow) check_allowed(low, high >> 24, reg::XAPIC_BROADCAST, p);
    // Bits the filter does not read cannot change its decision.
    const uint32_t ignored = static_cast<uint32_t>(reg::DELIVERY_PENDING | reg::LEVEL_ASSERT | reg::TRIGGER_LEVEL);
    const Verdict xb       = check_xapic(low ^ ignored, high ^ 0x00FFFFFFu, p);
    FUZZ_CHECK(xb.allow == xa.allow && xb.reason == xa.reason);
    return 0;
}
