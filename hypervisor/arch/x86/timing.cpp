#include "arch/x86/timing.hpp"

#include "drivers/x86/cpu.hpp"

#include "base/clock.hpp"
#include "lib/tsc_math.hpp"

namespace natsume::x86 {
namespace {
// PIT: 1.193182 MHz input clock; channel 2 gate and output on port 0x61.
constexpr uint32_t PIT_HZ  = 1193182;
constexpr uint16_t PIT_CH2 = 0x42, PIT_CMD = 0x43, PORT_B = 0x61;
constexpr uint32_t CALIBRATION_MS = 10;
constexpr uint64_t MAX_POLLS      = 50000000;
}  // namespace

uint64_t calibrate_tsc_khz() {
    const uint16_t count = static_cast<uint16_t>(PIT_HZ * CALIBRATION_MS / 1000);
    outb(PORT_B, static_cast<uint8_t>((inb(PORT_B) & ~0x02u) | 0x01u));  // gate on, speaker off
    outb(PIT_CMD, 0xb0);                                                 // ch2, lo/hi, mode 0
    outb(PIT_CH2, static_cast<uint8_t>(count & 0xff));
    outb(PIT_CH2, static_cast<uint8_t>(count >> 8));
    uint64_t t0    = rdtsc();
    uint64_t polls = 0;
    while (!(inb(PORT_B) & 0x20)) {
        if (++polls > MAX_POLLS) return 0;
    }
    uint64_t t1       = rdtsc();
    uint64_t measured = (t1 - t0) / CALIBRATION_MS;
    if (measured) clock::set_tsc_khz(measured);
    return measured;
}

Deadline Deadline::in_us(uint64_t us) {
    Deadline d;
    d.end_ = rdtsc() + us_to_ticks(us, clock::tsc_khz());
    return d;
}

bool Deadline::expired() const { return rdtsc() >= end_; }

void delay_us(uint64_t us) {
    Deadline d = Deadline::in_us(us);
    while (!d.expired()) pause();
}

}  // namespace natsume::x86
