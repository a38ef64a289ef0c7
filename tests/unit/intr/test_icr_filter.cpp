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

TEST_CASE("shorthands: self allowed as written, broadcasts only as a partition fan-out", "[icr]") {
    const Verdict self = x2apic(0x40, DeliveryMode::Fixed, 0, Shorthand::Self);
    CHECK(self.allow);
    CHECK(self.reason == Reason::Allowed);
    CHECK(self.fanout == 0);
    CHECK(xapic(0x40, DeliveryMode::Fixed, 0xAB, Shorthand::Self).allow);  // destination ignored
    for (Shorthand sh : {Shorthand::AllIncludingSelf, Shorthand::AllExcludingSelf}) {
        CHECK(x2apic(0x40, DeliveryMode::Fixed, 3, sh).reason == Reason::PartitionBroadcast);
        CHECK(xapic(0x40, DeliveryMode::Fixed, 3, sh).reason == Reason::PartitionBroadcast);
    }
}

namespace {

// Both ICR forms of a fixed shorthand from core self of a partition.
struct Both {
    Verdict x2, xa;
};

Both shorthand(const uint32_t* ids, size_t count, uint32_t self, Shorthand sh, uint8_t vector = 0x40,
               DeliveryMode mode = DeliveryMode::Fixed) {
    const Partition p{ids, count, self};
    // The destination field and mode are ignored with a shorthand (SDM Vol. 3A 10.6.1): set them to anything.
    const uint64_t icr = x2(vector, mode, 0xFFFFFFFF, sh, true);
    return {check_x2apic(icr, p), check_xapic(static_cast<uint32_t>(icr), 0xFF000000, p)};
}

void check_fanout(const Both& b, uint32_t fanout) {
    for (const Verdict& v : {b.x2, b.xa}) {
        CHECK(v.allow);
        CHECK(v.reason == Reason::PartitionBroadcast);
        CHECK(v.fanout == fanout);
        REQUIRE(v.why != nullptr);
        CHECK(std::strlen(v.why) > 10);
    }
}

}  // namespace

TEST_CASE("all-excluding-self fans out to the partition's other cores", "[icr][fanout]") {
    const uint32_t one[] = {4};
    check_fanout(shorthand(one, 1, 4, Shorthand::AllExcludingSelf), 0);  // allowed, nothing to send
    const uint32_t two[] = {2, 3};
    check_fanout(shorthand(two, 2, 2, Shorthand::AllExcludingSelf), 0b10);
    check_fanout(shorthand(two, 2, 3, Shorthand::AllExcludingSelf), 0b01);
    const uint32_t three[] = {5, 1, 7};
    check_fanout(shorthand(three, 3, 5, Shorthand::AllExcludingSelf), 0b110);
    check_fanout(shorthand(three, 3, 1, Shorthand::AllExcludingSelf), 0b101);
    check_fanout(shorthand(three, 3, 7, Shorthand::AllExcludingSelf), 0b011);
    // The one-core case explains itself differently from a real fan-out.
    CHECK(std::strcmp(shorthand(one, 1, 4, Shorthand::AllExcludingSelf).x2.why,
                      shorthand(two, 2, 2, Shorthand::AllExcludingSelf).x2.why) != 0);
}

TEST_CASE("all-including-self fans out to every core of the partition", "[icr][fanout]") {
    const uint32_t one[] = {4};
    check_fanout(shorthand(one, 1, 4, Shorthand::AllIncludingSelf), 0b1);
    const uint32_t two[] = {2, 3};
    check_fanout(shorthand(two, 2, 2, Shorthand::AllIncludingSelf), 0b11);
    check_fanout(shorthand(two, 2, 3, Shorthand::AllIncludingSelf), 0b11);
    const uint32_t three[] = {5, 1, 7};
    for (uint32_t self : three) check_fanout(shorthand(three, 3, self, Shorthand::AllIncludingSelf), 0b111);
}

TEST_CASE("a fan-out names each core once", "[icr][fanout]") {
    const uint32_t dup[] = {2, 3, 2, 3};
    check_fanout(shorthand(dup, 4, 2, Shorthand::AllExcludingSelf), 0b0010);
    check_fanout(shorthand(dup, 4, 3, Shorthand::AllIncludingSelf), 0b0011);
}

TEST_CASE("shorthand broadcasts that are not fixed IPIs with a legal vector stay refused", "[icr][fanout]") {
    const uint32_t two[] = {2, 3};
    for (Shorthand sh : {Shorthand::AllIncludingSelf, Shorthand::AllExcludingSelf}) {
        INFO("shorthand " << int(sh));
        for (DeliveryMode m : {DeliveryMode::LowestPriority, DeliveryMode::Smi, DeliveryMode::Nmi, DeliveryMode::Init,
                               DeliveryMode::Startup, DeliveryMode::Reserved3, DeliveryMode::Reserved7}) {
            const Both b = shorthand(two, 2, 2, sh, 0x40, m);
            CHECK((!b.x2.allow && b.x2.reason == Reason::NotFixed && b.x2.fanout == 0));
            CHECK((!b.xa.allow && b.xa.reason == Reason::NotFixed && b.xa.fanout == 0));
        }
        for (uint8_t vec : {0, 2, 15}) {
            const Both b = shorthand(two, 2, 2, sh, vec);
            CHECK((!b.x2.allow && b.x2.reason == Reason::IllegalVector && b.x2.fanout == 0));
            CHECK(b.xa.reason == Reason::IllegalVector);
        }
        const Partition p{two, 2, 2};
        CHECK(check_x2apic(x2(0x40, DeliveryMode::Fixed, 0, sh) | (1ull << 20), p).reason == Reason::ReservedBits);
    }
}

TEST_CASE("a shorthand broadcast needs the writing core in the core list", "[icr][fanout]") {
    const uint32_t two[] = {2, 3};
    for (Shorthand sh : {Shorthand::AllIncludingSelf, Shorthand::AllExcludingSelf}) {
        for (const Verdict& v : {shorthand(two, 2, 9, sh).x2, shorthand(two, 2, 9, sh).xa,
                                 shorthand(nullptr, 0, 5, sh).x2, shorthand(two, 0, 2, sh).xa}) {
            CHECK_FALSE(v.allow);
            CHECK(v.reason == Reason::Broadcast);
            CHECK(v.fanout == 0);
        }
    }
    // More cores than fan-out bits: refused rather than cut short.
    uint32_t many[MAX_FANOUT + 1];
    for (size_t i = 0; i < MAX_FANOUT + 1; ++i) many[i] = static_cast<uint32_t>(i);
    CHECK(shorthand(many, MAX_FANOUT + 1, 0, Shorthand::AllExcludingSelf).x2.reason == Reason::Broadcast);
    const Both full = shorthand(many, MAX_FANOUT, 0, Shorthand::AllExcludingSelf);
    check_fanout(full, 0xFFFFFFFEu);
}

TEST_CASE("ordinary allowed IPIs carry no fan-out", "[icr][fanout]") {
    const Verdict a = x2apic(0x40, DeliveryMode::Fixed, 3);
    CHECK((a.allow && a.reason == Reason::Allowed && a.fanout == 0));
    const Verdict b = xapic(0x40, DeliveryMode::Fixed, 2);
    CHECK((b.allow && b.reason == Reason::Allowed && b.fanout == 0));
    CHECK(xapic(0x40, DeliveryMode::Fixed, 0xFF).fanout == 0);
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
