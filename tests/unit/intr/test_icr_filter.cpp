#include <catch2/catch.hpp>
#include <cstring>

#include "hypervisor/vdev/icr_filter.hpp"

using namespace natsume::icr;
namespace reg = natsume::drivers::lapic::icr;

namespace {

// Partition with cores 2 and 3 writing from core 2; core 0 and 1 belong to others.
const uint32_t OWN[] = {2, 3};
const Partition PART{OWN, 2, 2};

uint64_t x2(uint8_t vector, DeliveryMode mode, uint32_t dest, Shorthand sh = Shorthand::None, bool logical = false) {
    return vector | (uint64_t(mode) << reg::DELIVERY_SHIFT) | (logical ? reg::DEST_LOGICAL : 0) |
           (uint64_t(sh) << reg::SHORTHAND_SHIFT) | (uint64_t(dest) << 32);
}

// The same request through the xAPIC pair (low dword, high dword).
Verdict xapic(uint8_t vector, DeliveryMode mode, uint8_t dest, Shorthand sh = Shorthand::None, bool logical = false) {
    const uint64_t v = x2(vector, mode, 0, sh, logical);
    return check_xapic(static_cast<uint32_t>(v), uint32_t(dest) << 24, PART);
}

Verdict x2apic(uint8_t vector, DeliveryMode mode, uint32_t dest, Shorthand sh = Shorthand::None, bool logical = false) {
    return check_x2apic(x2(vector, mode, dest, sh, logical), PART);
}

}  // namespace

TEST_CASE("fixed IPIs to the partition's own cores are allowed", "[icr]") {
    for (uint32_t dest : {2u, 3u}) {
        const Verdict a = x2apic(0x40, DeliveryMode::Fixed, dest);
        CHECK(a.allow);
        CHECK(a.reason == Reason::Allowed);
        CHECK(xapic(0x40, DeliveryMode::Fixed, static_cast<uint8_t>(dest)).allow);
    }
    // Level/trigger bits do not change a fixed IPI's reach.
    CHECK(check_x2apic(x2(0x40, DeliveryMode::Fixed, 3) | reg::LEVEL_ASSERT | reg::TRIGGER_LEVEL, PART).allow);
}

TEST_CASE("fixed IPIs to other partitions' cores are refused", "[icr]") {
    for (uint32_t dest : {0u, 1u, 4u, 0x100u}) {
        const Verdict v = x2apic(0x40, DeliveryMode::Fixed, dest);
        CHECK_FALSE(v.allow);
        CHECK(v.reason == Reason::ForeignDestination);
        REQUIRE(v.why != nullptr);
        CHECK(std::strlen(v.why) > 10);
    }
    CHECK(xapic(0x40, DeliveryMode::Fixed, 1).reason == Reason::ForeignDestination);
    // xAPIC takes the destination from bits 31:24 of the high dword only.
    CHECK(check_xapic(0x40, 0x00FFFFFF | (3u << 24), PART).allow);
    CHECK(check_xapic(0x40, 0x00000003, PART).reason == Reason::ForeignDestination);
}

TEST_CASE("every non-fixed delivery mode is refused, even to an own core", "[icr]") {
    const DeliveryMode modes[] = {
        DeliveryMode::LowestPriority, DeliveryMode::Smi,     DeliveryMode::Reserved3, DeliveryMode::Nmi,
        DeliveryMode::Init,           DeliveryMode::Startup, DeliveryMode::Reserved7};
    for (DeliveryMode m : modes) {
        INFO("mode " << int(m));
        for (uint32_t dest : {1u, 2u, 3u}) {
            const Verdict v = x2apic(0x40, m, dest);
            CHECK_FALSE(v.allow);
            CHECK(v.reason == Reason::NotFixed);
            CHECK(xapic(0x40, m, static_cast<uint8_t>(dest)).reason == Reason::NotFixed);
        }
        CHECK(x2apic(0x40, m, 0, Shorthand::Self).reason == Reason::NotFixed);
    }
    // INIT level de-assert (INIT, level 0, trigger level) is still INIT.
    CHECK(check_x2apic(x2(0, DeliveryMode::Init, 3) | reg::TRIGGER_LEVEL, PART).reason == Reason::NotFixed);
    // Each refusal explains itself differently.
    CHECK(std::strcmp(x2apic(0x40, DeliveryMode::Nmi, 3).why, x2apic(0x40, DeliveryMode::Init, 3).why) != 0);
}

TEST_CASE("shorthands: self allowed, broadcasts refused", "[icr]") {
    const Verdict self = x2apic(0x40, DeliveryMode::Fixed, 0, Shorthand::Self);
    CHECK(self.allow);
    CHECK(xapic(0x40, DeliveryMode::Fixed, 0xAB, Shorthand::Self).allow);  // destination ignored
    for (Shorthand sh : {Shorthand::AllIncludingSelf, Shorthand::AllExcludingSelf}) {
        CHECK(x2apic(0x40, DeliveryMode::Fixed, 3, sh).reason == Reason::Broadcast);
        CHECK(xapic(0x40, DeliveryMode::Fixed, 3, sh).reason == Reason::Broadcast);
    }
}

TEST_CASE("broadcast destination IDs are refused", "[icr]") {
    CHECK(x2apic(0x40, DeliveryMode::Fixed, 0xFFFFFFFF).reason == Reason::Broadcast);
    CHECK(xapic(0x40, DeliveryMode::Fixed, 0xFF).reason == Reason::Broadcast);
    // 0xFF is an ordinary x2APIC ID, not a broadcast.
    CHECK(x2apic(0x40, DeliveryMode::Fixed, 0xFF).reason == Reason::ForeignDestination);
}

TEST_CASE("logical destination mode is refused", "[icr]") {
    CHECK(x2apic(0x40, DeliveryMode::Fixed, 2, Shorthand::None, true).reason == Reason::LogicalMode);
    CHECK(xapic(0x40, DeliveryMode::Fixed, 2, Shorthand::None, true).reason == Reason::LogicalMode);
}

TEST_CASE("illegal vectors 0-15 are refused", "[icr]") {
    for (uint8_t vec = 0; vec < 16; ++vec) CHECK(x2apic(vec, DeliveryMode::Fixed, 3).reason == Reason::IllegalVector);
    CHECK(x2apic(16, DeliveryMode::Fixed, 3).allow);
    CHECK(x2apic(0xFF, DeliveryMode::Fixed, 3).allow);
}

TEST_CASE("x2APIC reserved bits are refused because hardware would fault", "[icr]") {
    for (unsigned bit : {12u, 13u, 16u, 17u, 20u, 25u, 31u}) {
        INFO("bit " << bit);
        const Verdict v = check_x2apic(x2(0x40, DeliveryMode::Fixed, 3) | (1ull << bit), PART);
        CHECK(v.reason == Reason::ReservedBits);
    }
    // xAPIC has no such #GP; bit 12 (delivery status) is read-only there.
    CHECK(check_xapic(0x40 | (1u << 12), 3u << 24, PART).allow);
}

TEST_CASE("a partition without a core list can only IPI itself", "[icr]") {
    const Partition empty{nullptr, 0, 5};
    CHECK(check_x2apic(x2(0x40, DeliveryMode::Fixed, 5), empty).reason == Reason::ForeignDestination);
    CHECK(check_x2apic(x2(0x40, DeliveryMode::Fixed, 0, Shorthand::Self), empty).allow);
}
