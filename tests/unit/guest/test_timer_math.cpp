#include <catch2/catch.hpp>

#include "lib/timer_math.h"

using namespace natsume::guest::timer_math;

TEST_CASE("timer math: LAPIC counts saturate and never reach zero", "[guest][timer]") {
    CHECK(lapic_count_for_us(100000, 10000) == 1000000);  // 100 MHz, 10 ms
    CHECK(lapic_count_for_us(1, 1) == 1);                 // would round to 0
    CHECK(lapic_count_for_us(0, 10000) == 1);
    CHECK(lapic_count_for_us(4000000, 10000000) == 0xffffffffu);
}

TEST_CASE("timer math: frequencies from measurement windows", "[guest][timer]") {
    // 10 ms window at 2 GHz TSC in which the timer advanced 1,000,000 counts.
    CHECK(khz_from_tsc_window(1000000, 20000000, 2000000) == 100000);
    CHECK(khz_from_tsc_window(5, 0, 2000000) == 0);
    // 11932 PIT ticks = 10.0000 ms; a 10 MHz TSC runs 100,000 cycles in it.
    CHECK(tsc_khz_from_pit(100000, 11932) == 9999);
    CHECK(tsc_khz_from_pit(100000, 0) == 0);
    CHECK(tsc_to_us(3000000, 3000000) == 1000);
    CHECK(tsc_to_us(5, 0) == 0);
}
