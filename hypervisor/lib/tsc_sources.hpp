// Where the TSC's frequency can be learnt from, besides the PIT: CPUID leaf
// 0x15, the HPET and the ACPI PM timer. Pure code on values and table bytes,
// host-tested; arch/x86/timing.cpp does the port and MMIO accesses.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume::tsc_sources {

// CPUID leaf 0x15 (SDM Vol. 3B 18.7.3, "Determining the Processor Base
// Frequency"): TSC Hz = crystal Hz (ECX) x EBX / EAX. 0 when a value is 0
// (the crystal or the ratio is not enumerated; Bochs' Skylake-X model leaves
// ECX 0).
constexpr uint64_t leaf15_khz(uint32_t eax, uint32_t ebx, uint32_t ecx) {
    if (eax == 0 || ebx == 0 || ecx == 0) return 0;
    return uint64_t{ecx} * ebx / eax / 1000;
}

// The TSC's kHz from `tsc_delta` ticks over `ref_ticks` of a reference that
// counts at `ref_hz`; 0 for a reference that did not move.
constexpr uint64_t khz_from_reference(uint64_t tsc_delta, uint64_t ref_ticks, uint64_t ref_hz) {
    if (ref_ticks == 0 || ref_hz == 0) return 0;
    // tsc_delta / (ref_ticks / ref_hz) / 1000, in 128 bits: exact for any delta.
    return static_cast<uint64_t>(static_cast<unsigned __int128>(tsc_delta) * ref_hz /
                                 (static_cast<unsigned __int128>(ref_ticks) * 1000));
}

// Ticks between two reads of a counter `bits` wide that may have wrapped once.
constexpr uint64_t counter_delta(uint64_t before, uint64_t after, unsigned bits) {
    uint64_t mask = bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
    return (after - before) & mask;
}

// The ACPI PM timer (ACPI 6.x 4.8.3.3): 3.579545 MHz, 24 bits, or 32 with
// FADT flag TMR_VAL_EXT (bit 8).
inline constexpr uint64_t PM_TIMER_HZ = 3579545;
struct PmTimer {
    uint16_t port = 0;  // 0: none
    unsigned bits = 24;
};
// From a checked FADT: X_PM_TMR_BLK (offset 208, a Generic Address in system
// I/O space) when the table is long enough and it is set, else PM_TMR_BLK
// (offset 76). Ports above 0xFFFF and memory-space timers are not used.
PmTimer pm_timer_from_fadt(const uint8_t* fadt, size_t len);

// The HPET (IA-PC HPET specification 1.0a): its ACPI table gives the base
// (offset 44, a Generic Address in system memory); the general capabilities
// register (offset 0) gives the counter's period in femtoseconds (bits 63:32,
// at most 100 ns) and whether it is 64 bits wide (bit 13).
inline constexpr uint32_t HPET_CAPABILITIES = 0x000, HPET_CONFIG = 0x010, HPET_COUNTER = 0x0f0;
inline constexpr uint64_t HPET_ENABLE = 1, HPET_COUNT_64 = 1ull << 13;
inline constexpr uint64_t HPET_MAX_PERIOD_FS = 100000000;
// The base address, 0 when the table is too short or not in memory space.
uint64_t hpet_base_from_table(const uint8_t* table, size_t len);
// The counter's frequency in Hz from the capabilities register; 0 when the
// period is 0 or above the specification's limit.
constexpr uint64_t hpet_hz(uint64_t capabilities) {
    uint64_t fs = capabilities >> 32;
    return fs == 0 || fs > HPET_MAX_PERIOD_FS ? 0 : 1000000000000000ull / fs;
}

}  // namespace natsume::tsc_sources
