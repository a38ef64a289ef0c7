#include "devices/tsc.h"

#include "arch/cpu.h"
#include "lib/timer_math.h"

namespace natsume::guest::tsc {
namespace {
// 8254 PIT: channel 2 data, mode/command port, and the PC's port 0x61
// (bit 0 = channel 2 gate, bit 1 = speaker, bit 5 = channel 2 output).
constexpr uint16_t PIT_CHANNEL2        = 0x42;
constexpr uint16_t PIT_COMMAND         = 0x43;
constexpr uint16_t PORT_B              = 0x61;
constexpr uint8_t CHANNEL2_MODE0_LO_HI = 0xb0;  // channel 2, lobyte/hibyte, mode 0, binary
constexpr uint8_t GATE = 0x01, SPEAKER = 0x02, OUT2 = 0x20;
constexpr uint16_t TICKS      = 11932;  // ~10 ms at 1.193182 MHz
constexpr uint32_t POLL_LIMIT = 50000000;
}  // namespace

uint64_t calibrate_with_pit() {
    uint8_t portb = cpu::inb(PORT_B);
    cpu::outb(PORT_B, static_cast<uint8_t>(portb & ~(GATE | SPEAKER)));
    cpu::outb(PIT_COMMAND, CHANNEL2_MODE0_LO_HI);
    cpu::outb(PIT_CHANNEL2, TICKS & 0xff);
    cpu::outb(PIT_CHANNEL2, TICKS >> 8);
    // In mode 0 the output goes high at terminal count; counting runs while
    // the gate is high.
    uint64_t start = cpu::rdtsc();
    cpu::outb(PORT_B, static_cast<uint8_t>((portb & ~SPEAKER) | GATE));
    bool done = false;
    for (uint32_t i = 0; i < POLL_LIMIT && !done; ++i) done = cpu::inb(PORT_B) & OUT2;
    uint64_t end = cpu::rdtsc();
    cpu::outb(PORT_B, portb);
    return done ? timer_math::tsc_khz_from_pit(end - start, TICKS) : 0;
}

}  // namespace natsume::guest::tsc
