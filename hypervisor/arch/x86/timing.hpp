// TSC calibration and deadlines: every wait on hardware has one, so a device
// that stops answering is reported instead of hanging the core.
#pragma once
#include <stdint.h>

namespace natsume::x86 {

// Measures the TSC against PIT channel 2 over 10 ms; 0 if the PIT never
// counted down (then a conservative default is used).
uint64_t calibrate_tsc_khz();

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
