// lib/tsc_sources: the TSC's frequency from CPUID leaf 0x15 and from a
// reference counter, and the HPET and PM timer found in their ACPI tables.
#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "lib/tsc_sources.hpp"

using namespace natsume::tsc_sources;

namespace {

void put32(std::vector<uint8_t>& t, size_t at, uint32_t v) {
    for (int i = 0; i < 4; i++) t[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
void put64(std::vector<uint8_t>& t, size_t at, uint64_t v) {
    put32(t, at, static_cast<uint32_t>(v));
    put32(t, at + 4, static_cast<uint32_t>(v >> 32));
}

}  // namespace

TEST_CASE("CPUID leaf 0x15 gives the TSC only when crystal and ratio are enumerated", "[tsc]") {
    CHECK(leaf15_khz(2, 188, 24000000) == 2256000);  // a 24 MHz crystal, ratio 188/2: 2.256 GHz
    CHECK(leaf15_khz(2, 0x124, 0) == 0);             // Bochs' Skylake-X: no crystal frequency
    CHECK(leaf15_khz(0, 188, 24000000) == 0);
    CHECK(leaf15_khz(2, 0, 24000000) == 0);
}

TEST_CASE("a reference counter's ticks give the TSC's kHz, wraps included", "[tsc]") {
    // 10 ms of the PM timer (35795 ticks) against 10 MHz worth of TSC ticks.
    CHECK(khz_from_reference(100000, 35795, PM_TIMER_HZ) == 10000);
    // 10 ms of a 14.318180 MHz HPET against 3.2 GHz.
    CHECK(khz_from_reference(32000000, 143181, 14318180) == 3200017);  // 143181 ticks are 9.99995 ms
    CHECK(khz_from_reference(1000, 0, PM_TIMER_HZ) == 0);
    CHECK(counter_delta(0xfffff0, 0x000010, 24) == 0x20);
    CHECK(counter_delta(0xfffffff0u, 0x10, 32) == 0x20);
    CHECK(counter_delta(5, 9, 64) == 4);
}

TEST_CASE("the PM timer: X_PM_TMR_BLK when set, else PM_TMR_BLK; 24 or 32 bits by TMR_VAL_EXT", "[tsc]") {
    std::vector<uint8_t> fadt(276, 0);
    put32(fadt, 76, 0xb008);  // PM_TMR_BLK
    fadt[91]  = 4;            // PM_TMR_LEN
    PmTimer t = pm_timer_from_fadt(fadt.data(), fadt.size());
    CHECK(t.port == 0xb008);
    CHECK(t.bits == 24);
    put32(fadt, 112, 1u << 8);  // TMR_VAL_EXT
    fadt[208] = 1;              // X_PM_TMR_BLK in I/O space
    put64(fadt, 212, 0x608);
    t = pm_timer_from_fadt(fadt.data(), fadt.size());
    CHECK(t.port == 0x608);
    CHECK(t.bits == 32);
    fadt[208] = 0;  // a memory-space timer is not used, and hides the legacy block
    CHECK(pm_timer_from_fadt(fadt.data(), fadt.size()).port == 0);
    CHECK(pm_timer_from_fadt(fadt.data(), 100).port == 0);  // too short for the flags
    fadt[91] = 0;                                           // an ACPI 1.0 FADT without a timer
    CHECK(pm_timer_from_fadt(fadt.data(), 116).port == 0);
}

TEST_CASE("the HPET: its base from the table, its rate from the capabilities register", "[tsc]") {
    std::vector<uint8_t> table(56, 0);
    put64(table, 44, 0xfed00000);
    CHECK(hpet_base_from_table(table.data(), table.size()) == 0xfed00000);
    table[40] = 1;  // in I/O space: not an HPET this code can read
    CHECK(hpet_base_from_table(table.data(), table.size()) == 0);
    CHECK(hpet_base_from_table(table.data(), 50) == 0);
    CHECK(hpet_hz(uint64_t{69841279} << 32) == 14318179);   // the 14.31818 MHz of PC HPETs, truncated
    CHECK(hpet_hz(uint64_t{10000000} << 32) == 100000000);  // QEMU's 100 MHz
    CHECK(hpet_hz(0) == 0);
    CHECK(hpet_hz(uint64_t{HPET_MAX_PERIOD_FS + 1} << 32) == 0);
}
