// TSC calibration and deadlines: every wait on hardware has one, so a device
// that stops answering is reported instead of hanging the core.
#pragma once
#include <stdint.h>

namespace natsume::x86 {

// Measures the TSC against PIT channel 2 over 10 ms; 0 if the PIT never
// counted down (then a conservative default is used).
uint64_t calibrate_tsc_khz();

// The TSC's frequency from the first source this machine has: CPUID leaf
// 0x15 when it enumerates the crystal (exact), else 10 ms of the HPET, of
// the ACPI PM timer, or of the PIT. Sets the clock the deadlines use.
enum class TscSource : uint8_t { Cpuid15, Hpet, PmTimer, Pit, None };
[[nodiscard]] const char* to_string(TscSource s);
struct TscReferences {
    uint64_t hpet_base = 0;  // from the ACPI HPET table, 0 = none
    uint16_t pm_port   = 0;  // from the FADT, 0 = none
    unsigned pm_bits   = 24;
};
struct TscCalibration {
    uint64_t khz      = 0;
    TscSource source  = TscSource::None;
    uint32_t base_mhz = 0;  // CPUID leaf 0x16's base frequency, 0 when absent: a name to compare with
};
TscCalibration calibrate_tsc(const TscReferences& refs);

class Deadline {
public:
    static Deadline in_us(uint64_t us);
    bool expired() const;

private:
    uint64_t end_;
};

void delay_us(uint64_t us);

// Polls cond() until it holds or the deadline passes; returns whether it held.
template <typename F>
bool wait_until(uint64_t timeout_us, F cond) {
    Deadline d = Deadline::in_us(timeout_us);
    for (;;) {
        if (cond()) return true;
        if (d.expired()) return cond();
        asm volatile("pause" ::: "memory");
    }
}

}  // namespace natsume::x86
