#include <catch2/catch.hpp>
#include <string>

#include "hypervisor/vdev/intx_route.hpp"

using namespace natsume::intx;

namespace {

constexpr uint16_t bdf(unsigned bus, unsigned dev, unsigned fn) {
    return static_cast<uint16_t>(bus << 8 | dev << 3 | fn);
}

Device dev(uint16_t b, uint8_t owner, bool supported, bool value) { return {b, owner, supported, value}; }

}  // namespace

TEST_CASE("route for unused, single-partition and shared lines", "[intx]") {
    CHECK(route_for(nullptr, 0) == Route::Unused);
    const Device one[] = {dev(bdf(0, 2, 0), 1, true, false)};
    CHECK(route_for(one, 1) == Route::Direct);
    CHECK_FALSE(line_is_shared(one, 1));
    const Device same_owner[] = {dev(bdf(0, 2, 0), 1, true, false), dev(bdf(0, 6, 0), 1, false, false)};
    CHECK(route_for(same_owner, 2) == Route::Direct);
    CHECK_FALSE(line_is_shared(same_owner, 2));
    const Device shared[] = {dev(bdf(0, 2, 0), 0, true, false), dev(bdf(0, 6, 0), 1, true, false)};
    CHECK(route_for(shared, 2) == Route::PerDevice);
    CHECK(line_is_shared(shared, 2));
    CHECK(std::string(to_string(Route::PerDevice)) == "per-device");
}

TEST_CASE("only the owner of the asserting device receives the interrupt", "[intx]") {
    const Device line[] = {dev(bdf(0, 2, 0), 0, true, false), dev(bdf(0, 6, 0), 1, true, true),
                           dev(bdf(0, 7, 0), 2, true, false)};
    const Decision d    = decide(line, 3);
    REQUIRE(d.valid);
    CHECK(d.owners == (1ull << 1));
    CHECK(d.asserted == 0b010);
    CHECK(d.unknown == 0);
    CHECK_FALSE(d.could_not_tell);
    CHECK_FALSE(d.spurious);
}

TEST_CASE("two devices asserting at once reach both owners", "[intx]") {
    const Device line[] = {dev(bdf(0, 2, 0), 0, true, true), dev(bdf(0, 6, 0), 3, true, true)};
    const Decision d    = decide(line, 2);
    CHECK(d.owners == ((1ull << 0) | (1ull << 3)));
    CHECK(d.asserted == 0b11);
    CHECK_FALSE(d.spurious);
}

TEST_CASE("nobody asserted: spurious, no owner", "[intx]") {
    const Device line[] = {dev(bdf(0, 2, 0), 0, true, false), dev(bdf(0, 6, 0), 1, true, false)};
    const Decision d    = decide(line, 2);
    CHECK(d.valid);
    CHECK(d.spurious);
    CHECK(d.owners == 0);
    CHECK(d.asserted == 0);
}

TEST_CASE("a device that cannot report bit 3 always gets its owner the interrupt", "[intx]") {
    // Bochs' e1000 (no bit 3) owned by partition 0, a bit-3 device of partition 1.
    SECTION("the reporting device is idle: only the unknown owner, flagged") {
        const Device line[] = {dev(bdf(0, 2, 0), 0, false, false), dev(bdf(0, 6, 0), 1, true, false)};
        const Decision d    = decide(line, 2);
        CHECK(d.owners == 1ull);
        CHECK(d.unknown == 0b01);
        CHECK(d.could_not_tell);
        CHECK_FALSE(d.spurious);
    }
    SECTION("the reporting device asserted: both owners") {
        const Device line[] = {dev(bdf(0, 2, 0), 0, false, false), dev(bdf(0, 6, 0), 1, true, true)};
        const Decision d    = decide(line, 2);
        CHECK(d.owners == 0b11);
        CHECK(d.could_not_tell);
    }
    SECTION("the unknown device's owner also has an asserting device: certain") {
        const Device line[] = {dev(bdf(0, 2, 0), 0, false, false), dev(bdf(0, 3, 0), 0, true, true),
                               dev(bdf(0, 6, 0), 1, true, false)};
        const Decision d    = decide(line, 3);
        CHECK(d.owners == 1ull);
        CHECK_FALSE(d.could_not_tell);
    }
    SECTION("a stale bit-3 value is ignored when unsupported") {
        const Device line[] = {dev(bdf(0, 2, 0), 0, false, true), dev(bdf(0, 6, 0), 1, true, false)};
        const Decision d    = decide(line, 2);
        CHECK(d.asserted == 0);
        CHECK(d.unknown == 0b01);
    }
}

TEST_CASE("out-of-range input is invalid and routes nowhere", "[intx]") {
    const Device bad_owner[] = {dev(bdf(0, 2, 0), 64, true, true)};
    CHECK(route_for(bad_owner, 1) == Route::Invalid);
    const Decision d = decide(bad_owner, 1);
    CHECK_FALSE(d.valid);
    CHECK(d.owners == 0);
    Device many[MAX_DEVICES_PER_LINE + 1];
    for (size_t i = 0; i < MAX_DEVICES_PER_LINE + 1; ++i) many[i] = dev(static_cast<uint16_t>(i), 0, true, true);
    CHECK(route_for(many, MAX_DEVICES_PER_LINE + 1) == Route::Invalid);
    CHECK_FALSE(decide(many, MAX_DEVICES_PER_LINE + 1).valid);
    const Decision full = decide(many, MAX_DEVICES_PER_LINE);
    CHECK(full.valid);
    CHECK(full.asserted == 0xFFFFFFFFu);
    CHECK(route_for(nullptr, 2) == Route::Invalid);
}

TEST_CASE("partition 63 is representable", "[intx]") {
    const Device line[] = {dev(bdf(1, 0, 0), 63, true, true), dev(bdf(1, 0, 1), 0, true, false)};
    const Decision d    = decide(line, 2);
    CHECK(d.owners == (1ull << 63));
}

TEST_CASE("by elimination: a device that cannot tell gets the interrupt only when no other asserted", "[intx]") {
    using namespace natsume::intx;
    const Device known_on[] = {{0x10, 0, true, true}, {0x20, 1, false, false}};
    Decision a              = decide(known_on, 2, Unknown::ByElimination);
    CHECK(a.owners == 0x1);
    CHECK_FALSE(a.could_not_tell);
    const Device known_off[] = {{0x10, 0, true, false}, {0x20, 1, false, false}};
    Decision b               = decide(known_off, 2, Unknown::ByElimination);
    CHECK(b.owners == 0x2);
    CHECK(b.could_not_tell);
    CHECK_FALSE(b.spurious);
    // The default keeps delivering to the device that cannot tell.
    CHECK(decide(known_on, 2).owners == 0x3);
}
