// Pure timer arithmetic, shared by the kernel and its host tests.
#pragma once
#include <stdint.h>

namespace natsume::guest::timer_math {

// Counts of a clock running at `khz` in `us` microseconds, saturated to the
// 32-bit LAPIC initial-count register and at least 1 (0 stops the timer).
constexpr uint32_t lapic_count_for_us(uint64_t khz, uint64_t us) {
    unsigned __int128 counts = static_cast<unsigned __int128>(khz) * us / 1000;
    if (counts == 0) return 1;
    return counts > 0xffffffffu ? 0xffffffffu : static_cast<uint32_t>(counts);
}

// Frequency in kHz of a clock that advanced `counts` while the TSC (at
// `tsc_khz`) advanced `tsc_cycles`. 0 when nothing was measured.
constexpr uint64_t khz_from_tsc_window(uint64_t counts, uint64_t tsc_cycles, uint64_t tsc_khz) {
    if (tsc_cycles == 0) return 0;
    return static_cast<uint64_t>(static_cast<unsigned __int128>(counts) * tsc_khz / tsc_cycles);
}

// TSC frequency from a PIT gate of `pit_ticks` at the PIT's 1.193182 MHz
// (8254 data sheet; PC input clock 14.31818 MHz / 12).
inline constexpr uint64_t PIT_HZ = 1193182;
constexpr uint64_t tsc_khz_from_pit(uint64_t tsc_cycles, uint64_t pit_ticks) {
    if (pit_ticks == 0) return 0;
    return static_cast<uint64_t>(static_cast<unsigned __int128>(tsc_cycles) * PIT_HZ / (pit_ticks * 1000));
}

constexpr uint64_t tsc_to_us(uint64_t cycles, uint64_t tsc_khz) {
    return tsc_khz == 0 ? 0 : static_cast<uint64_t>(static_cast<unsigned __int128>(cycles) * 1000 / tsc_khz);
}

}  // namespace natsume::guest::timer_math
