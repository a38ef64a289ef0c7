#include "devices/tsc.h"

#include "arch/cpu.h"
#include "lib/timer_math.h"

namespace natsume::guest::tsc {
namespace {
// 8254 PIT: channel 2 data, mode/command port, and the PC's port 0x61
// (bit 0 = channel 2 gate, bit 1 = speaker, bit 5 = channel 2 output).
constexpr uint16_t kPitChannel2 = 0x42;
constexpr uint16_t kPitCommand = 0x43;
constexpr uint16_t kPortB = 0x61;
constexpr uint8_t kChannel2Mode0LoHi = 0xb0;  // channel 2, lobyte/hibyte, mode 0, binary
constexpr uint8_t kGate = 0x01, kSpeaker = 0x02, kOut2 = 0x20;
constexpr uint16_t kTicks = 11932;  // ~10 ms at 1.193182 MHz
constexpr uint32_t kPollLimit = 50000000;
}  // namespace

uint64_t calibrate_with_pit()
{
    uint8_t portb = cpu::inb(kPortB);
    cpu::outb(kPortB, static_cast<uint8_t>(portb & ~(kGate | kSpeaker)));
    cpu::outb(kPitCommand, kChannel2Mode0LoHi);
    cpu::outb(kPitChannel2, kTicks & 0xff);
    cpu::outb(kPitChannel2, kTicks >> 8);
    // In mode 0 the output goes high at terminal count; counting runs while
    // the gate is high.
    uint64_t start = cpu::rdtsc();
    cpu::outb(kPortB, static_cast<uint8_t>((portb & ~kSpeaker) | kGate));
    bool done = false;
    for (uint32_t i = 0; i < kPollLimit && !done; ++i)
        done = cpu::inb(kPortB) & kOut2;
    uint64_t end = cpu::rdtsc();
    cpu::outb(kPortB, portb);
    return done ? timer_math::tsc_khz_from_pit(end - start, kTicks) : 0;
}

}  // namespace natsume::guest::tsc
