#include <catch2/catch.hpp>
#include <stdint.h>

#include "hypervisor/lib/tsc_math.hpp"

using natsume::ns_to_ticks;
using natsume::preemption_timer_value;
using natsume::ticks_to_ns;
using natsume::TSC_SATURATED;
using natsume::us_to_ticks;

TEST_CASE("ticks_to_ns", "[tsc]") {
    CHECK(ticks_to_ns(3'000'000, 3'000'000) == 1'000'000);  // 3 GHz: 3 M ticks = 1 ms
    CHECK(ticks_to_ns(2'666, 2'666'000) == 1'000);
    CHECK(ticks_to_ns(2'665, 2'666'000) == 999);  // rounded down
    CHECK(ticks_to_ns(0, 2'666'000) == 0);
    CHECK(ticks_to_ns(UINT64_MAX, 1'000'000) == UINT64_MAX);  // 1 GHz: exact, no overflow
    CHECK(ticks_to_ns(UINT64_MAX, 2'000'000) == UINT64_MAX / 2);
    CHECK(ticks_to_ns(UINT64_MAX, 2'666'000) ==
          UINT64_MAX / 2'666'000 * 1'000'000 + (UINT64_MAX % 2'666'000) * 1'000'000 / 2'666'000);
    CHECK(ticks_to_ns(UINT64_MAX, 1) == TSC_SATURATED);  // 1 kHz: saturates
    CHECK(ticks_to_ns(UINT64_MAX / 1'000'000 + 1, 1) == TSC_SATURATED);
    CHECK(ticks_to_ns(UINT64_MAX / 1'000'000, 1) == UINT64_MAX / 1'000'000 * 1'000'000);
    CHECK(ticks_to_ns(5, 0) == TSC_SATURATED);
    STATIC_REQUIRE(ticks_to_ns(1'000, 1'000'000) == 1'000);
}

TEST_CASE("ns_to_ticks and us_to_ticks round up and saturate", "[tsc]") {
    CHECK(ns_to_ticks(1'000, 1'000'000) == 1'000);
    CHECK(ns_to_ticks(1, 2'666'000) == 3);  // 2.666 ticks -> 3
    CHECK(ns_to_ticks(0, 2'666'000) == 0);
    CHECK(ns_to_ticks(1'000'000'000, 2'666'667) == 2'666'667'000);
    CHECK(ns_to_ticks(UINT64_MAX, 1'000'000) == UINT64_MAX);
    CHECK(ns_to_ticks(UINT64_MAX, 4'000'000) == TSC_SATURATED);
    CHECK(ns_to_ticks(123, 0) == 0);
    CHECK(us_to_ticks(1, 2'666'667) == 2'667);  // 2666.667 -> 2667
    CHECK(us_to_ticks(1'000, 3'000'000) == 3'000'000);
    CHECK(us_to_ticks(UINT64_MAX, 3'000'000) == TSC_SATURATED);
    CHECK(us_to_ticks(UINT64_MAX, 1) == UINT64_MAX / 1'000 + 1);
}

TEST_CASE("conversions never make a deadline early", "[tsc]") {
    const uint64_t freqs[]  = {1, 999, 1'000'000, 2'666'000, 2'666'667, 3'400'000, 10'000'000};
    const uint64_t values[] = {0, 1, 7, 999, 1'000, 123'456'789, 1ull << 40};
    for (uint64_t khz : freqs)
        for (uint64_t ns : values) {
            uint64_t ticks = ns_to_ticks(ns, khz);
            INFO("khz " << khz << " ns " << ns);
            CHECK(ticks_to_ns(ticks, khz) >= ns);
            if (ticks > 0) CHECK(ticks_to_ns(ticks - 1, khz) < ns);  // and not more than one tick late
        }
}

TEST_CASE("preemption_timer_value", "[tsc]") {
    CHECK(preemption_timer_value(0, 5) == 0);
    CHECK(preemption_timer_value(1, 5) == 1);
    CHECK(preemption_timer_value(31, 5) == 1);
    CHECK(preemption_timer_value(32, 5) == 1);
    CHECK(preemption_timer_value(33, 5) == 2);
    CHECK(preemption_timer_value(64, 5) == 2);
    CHECK(preemption_timer_value(1000, 0) == 1000);
    CHECK(preemption_timer_value(0xFFFF'FFFF, 0) == 0xFFFF'FFFF);
    CHECK(preemption_timer_value(0x1'0000'0000, 0) == 0xFFFF'FFFF);
    CHECK(preemption_timer_value((1ull << 37) - 32, 5) == 0xFFFF'FFFF);
    CHECK(preemption_timer_value((1ull << 37) - 64, 5) == 0xFFFF'FFFE);
    CHECK(preemption_timer_value(1ull << 37, 5) == 0xFFFF'FFFF);
    CHECK(preemption_timer_value(UINT64_MAX, 31) == 0xFFFF'FFFF);
    CHECK(preemption_timer_value(UINT64_MAX, 63) == 2);
    CHECK(preemption_timer_value(UINT64_MAX, 64) == 1);
    CHECK(preemption_timer_value(0, 64) == 0);
    STATIC_REQUIRE(preemption_timer_value(100, 2) == 25);
}
