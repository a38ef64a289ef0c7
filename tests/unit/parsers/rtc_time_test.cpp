// Calendar arithmetic of the CMOS clock (hypervisor/lib/rtc_time) and a
// Linux partition's virtual clock (hypervisor/vdev/vrtc), against dates
// worked out by hand.
#include <catch2/catch.hpp>

#include "drivers/x86/cmos.hpp"

#include "hypervisor/lib/rtc_time.hpp"
#include "hypervisor/vdev/vrtc.hpp"

using namespace natsume;
namespace cmos = drivers::cmos;

TEST_CASE("rtc time: epoch seconds of known dates, and back") {
    uint64_t s = 1;
    REQUIRE(rtc_time::to_epoch({1970, 1, 1, 0, 0, 0, 0}, s));
    CHECK(s == 0);
    REQUIRE(rtc_time::to_epoch({2000, 3, 1, 0, 0, 0, 0}, s));  // after a leap day of a 400-year
    CHECK(s == 951868800);
    REQUIRE(rtc_time::to_epoch({2026, 12, 2, 14, 41, 13, 0}, s));
    CHECK(s == 1796222473);
    const rtc_time::Civil c = rtc_time::from_epoch(1796222473);
    CHECK(c.year == 2026);
    CHECK(c.month == 12);
    CHECK(c.day == 2);
    CHECK(c.hour == 14);
    CHECK(c.minute == 41);
    CHECK(c.second == 13);
    CHECK(c.weekday == 4);                        // a Wednesday (1 = Sunday)
    CHECK(rtc_time::from_epoch(0).weekday == 5);  // 1970-01-01, a Thursday
    for (uint64_t t : {0ull, 68169599ull, 68169600ull, 951782399ull, 4107542400ull}) {
        uint64_t back = 0;
        REQUIRE(rtc_time::to_epoch(rtc_time::from_epoch(t), back));
        CHECK(back == t);
    }
}

TEST_CASE("rtc time: out-of-range dates are refused") {
    uint64_t s = 0;
    CHECK_FALSE(rtc_time::to_epoch({1969, 12, 31, 23, 59, 59, 0}, s));
    CHECK_FALSE(rtc_time::to_epoch({2023, 2, 29, 0, 0, 0, 0}, s));  // no leap year
    CHECK(rtc_time::to_epoch({2024, 2, 29, 0, 0, 0, 0}, s));
    CHECK_FALSE(rtc_time::to_epoch({1900 + 200, 2, 29, 0, 0, 0, 0}, s));  // 2100 is no leap year
    CHECK_FALSE(rtc_time::to_epoch({2026, 13, 1, 0, 0, 0, 0}, s));
    CHECK_FALSE(rtc_time::to_epoch({2026, 1, 1, 24, 0, 0, 0}, s));
    CHECK_FALSE(rtc_time::to_epoch({2026, 1, 1, 0, 60, 0, 0}, s));
}

TEST_CASE("rtc time: decoding BCD and binary, 12- and 24-hour readings") {
    rtc_time::Civil t{};
    // BCD, 24-hour, no century register: 26 is 2026.
    REQUIRE(rtc_time::decode({0x13, 0x41, 0x14, 0x02, 0x12, 0x26, 0, cmos::STATUS_B_24H}, t));
    CHECK(t.year == 2026);
    CHECK(t.hour == 14);
    CHECK(t.second == 13);
    CHECK(t.weekday == 4);
    // Binary, 12-hour: 2 PM.
    REQUIRE(rtc_time::decode({13, 41, 2 | cmos::HOURS_PM, 2, 12, 26, 20, cmos::STATUS_B_BINARY}, t));
    CHECK(t.hour == 14);
    CHECK(t.year == 2026);
    // 12 AM is midnight, 12 PM noon.
    REQUIRE(rtc_time::decode({0, 0, 0x12, 0x01, 0x01, 0x99, 0x19, 0}, t));
    CHECK(t.hour == 0);
    CHECK(t.year == 1999);
    REQUIRE(rtc_time::decode({0, 0, 0x12 | cmos::HOURS_PM, 0x01, 0x01, 0x99, 0x19, 0}, t));
    CHECK(t.hour == 12);
    // A clock that was never set, or garbage.
    CHECK_FALSE(rtc_time::decode({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, t));
    CHECK_FALSE(rtc_time::decode({0, 0, 0x13, 0x01, 0x01, 0x26, 0, 0}, t));                // 13 o'clock in 12-hour mode
    CHECK_FALSE(rtc_time::decode({0, 0, 0, 0x00, 0x01, 0x26, 0, cmos::STATUS_B_24H}, t));  // day 0
    CHECK(rtc_time::to_bcd(59) == 0x59);
    CHECK(rtc_time::from_bcd(0x59) == 59);
}

TEST_CASE("vrtc: Linux reads the time in BCD, 24-hour, never mid-update") {
    vrtc::Clock c{};
    const uint64_t now = 1796222473;  // 2026-12-02 14:41:13
    auto at            = [&](uint8_t index) {
        vrtc::select(c, index);
        return vrtc::read(c, now);
    };
    CHECK(at(cmos::SECONDS) == 0x13);
    CHECK(at(cmos::MINUTES) == 0x41);
    CHECK(at(cmos::HOURS) == 0x14);
    CHECK(at(cmos::DAY) == 0x02);
    CHECK(at(cmos::MONTH) == 0x12);
    CHECK(at(cmos::YEAR) == 0x26);
    CHECK(at(cmos::CENTURY) == 0x20);
    CHECK(at(cmos::WEEKDAY) == 4);
    CHECK((at(cmos::STATUS_A) & cmos::STATUS_A_UIP) == 0);
    CHECK(at(cmos::STATUS_B) == cmos::STATUS_B_24H);  // BCD, 24-hour, no interrupts enabled
    CHECK(at(cmos::STATUS_C) == 0);
    CHECK(at(cmos::STATUS_D) == cmos::STATUS_D_VRT);
    CHECK(at(0x10) == 0);  // CMOS RAM: nothing
    // The NMI gate bit of the index write is not the partition's.
    vrtc::select(c, 0x80 | cmos::SECONDS);
    CHECK(c.index == cmos::SECONDS);
    // What a reader decodes is the time it was given.
    rtc_time::Civil t{};
    REQUIRE(rtc_time::decode({at(cmos::SECONDS), at(cmos::MINUTES), at(cmos::HOURS), at(cmos::DAY), at(cmos::MONTH),
                              at(cmos::YEAR), at(cmos::CENTURY), at(cmos::STATUS_B)},
                             t));
    uint64_t back = 0;
    REQUIRE(rtc_time::to_epoch(t, back));
    CHECK(back == now);
}
