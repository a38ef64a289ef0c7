// TSC <-> time conversions and VMX-preemption-timer values: pure, saturating.
//
// All conversions go through a 128-bit intermediate, so any 64-bit input is
// exact up to the final rounding, and results that do not fit saturate instead
// of wrapping. A deadline computed from them can only be late by one tick of
// rounding, never early by a wrap-around.
#pragma once

#include <stdint.h>

namespace natsume {

inline constexpr uint64_t TSC_SATURATED = ~uint64_t{0};

namespace detail {
__extension__ typedef unsigned __int128 tsc_u128;

constexpr uint64_t saturate64(tsc_u128 v) { return v > TSC_SATURATED ? TSC_SATURATED : static_cast<uint64_t>(v); }
constexpr tsc_u128 div_round_up(tsc_u128 n, tsc_u128 d) { return n / d + (n % d != 0 ? 1 : 0); }
}  // namespace detail

// Elapsed nanoseconds, rounded down (a measurement is never inflated). An unknown
// frequency (0 kHz) yields TSC_SATURATED.
constexpr uint64_t ticks_to_ns(uint64_t ticks, uint64_t tsc_khz) {
    if (tsc_khz == 0) return TSC_SATURATED;
    return detail::saturate64(detail::tsc_u128{ticks} * 1'000'000u / tsc_khz);
}

// Ticks covering at least `ns` (rounded up: a wait is never shorter than asked).
// A 0 kHz clock never ticks, so the answer is 0.
constexpr uint64_t ns_to_ticks(uint64_t ns, uint64_t tsc_khz) {
    return detail::saturate64(detail::div_round_up(detail::tsc_u128{ns} * tsc_khz, 1'000'000u));
}

constexpr uint64_t us_to_ticks(uint64_t us, uint64_t tsc_khz) {
    return detail::saturate64(detail::div_round_up(detail::tsc_u128{us} * tsc_khz, 1'000u));
}

// VMX-preemption timer value for a budget of `ticks` TSC ticks. The timer counts
// down by one each time TSC bit `rate_shift` changes, i.e. at TSC >> rate_shift,
// where rate_shift = IA32_VMX_MISC[4:0] (SDM 25.5.1). Rounded up so the timer
// never fires before the budget; saturated to the 32-bit VMCS field.
constexpr uint32_t preemption_timer_value(uint64_t ticks, unsigned rate_shift) {
    if (rate_shift >= 64) return ticks != 0 ? 1u : 0u;
    uint64_t low = ticks & ((uint64_t{1} << rate_shift) - 1);
    uint64_t v   = (ticks >> rate_shift) + (low != 0 ? 1 : 0);
    return v > 0xFFFF'FFFFu ? 0xFFFF'FFFFu : static_cast<uint32_t>(v);
}

}  // namespace natsume
