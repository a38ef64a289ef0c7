// The local APIC of the core the kernel runs on: xAPIC through its MMIO page,
// or x2APIC through MSRs when the CPU has it and it is enabled.
#pragma once
#include <stdint.h>

namespace lapic {

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

}  // namespace lapic
