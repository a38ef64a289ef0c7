// The local APIC of the core the kernel runs on: xAPIC through its MMIO page,
// or x2APIC through MSRs when the CPU has it and it is enabled.
#pragma once
#include <stdint.h>

namespace natsume::guest::lapic {

enum class Status : uint8_t { Ok, NotPresent, CalibrationFailed };

// switch_to_x2apic: enable x2APIC mode first when the CPU has it (natively
// the firmware leaves the xAPIC mode on).
[[nodiscard]] Status init(uint8_t spurious_vector, bool switch_to_x2apic = false);
bool x2apic();
uint32_t id();
void eoi();

enum class TimerMode : uint8_t { OneShot, Periodic };

// Measures the timer's count rate against the TSC. Needs tsc_khz != 0.
[[nodiscard]] Status calibrate_timer(uint64_t tsc_khz);
uint64_t timer_khz();
void start_timer(TimerMode mode, uint8_t vector, uint64_t period_us);
void stop_timer();
uint32_t timer_current_count();

// TSC-deadline mode (CPUID.01H:ECX bit 24): the timer fires when the TSC
// reaches `tsc`.
bool has_tsc_deadline();
void arm_tsc_deadline(uint8_t vector, uint64_t tsc);
// One-shot with `counts` at divide-by-1.
void arm_oneshot_counts(uint8_t vector, uint32_t counts);

enum class Ipi : uint8_t { Fixed, Init };
// Writes the ICR: physical destination `dest` (an APIC ID). Returns the
// value written to the ICR (x2APIC: the 64-bit MSR value; xAPIC: the low
// dword, the high dword holds dest << 24).
uint64_t icr_value(uint32_t dest, Ipi kind, uint8_t vector);
uint32_t icr_msr();           // x2APIC ICR MSR number
uintptr_t icr_low_address();  // xAPIC ICR low dword in the MMIO page
uintptr_t icr_high_address();
// xAPIC: waits (bounded) for the ICR delivery-status bit to clear.
bool icr_idle(uint64_t max_polls);

}  // namespace natsume::guest::lapic
