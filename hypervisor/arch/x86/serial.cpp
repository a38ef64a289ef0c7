#include "arch/x86/serial.hpp"

#include "arch/x86/cpu.hpp"

namespace natsume::serial {
namespace {
constexpr uint16_t COM1 = 0x3f8;
// 16550 registers (offsets from the base port) and line-status bits.
constexpr uint16_t THR = 0, IER = 1, FCR = 2, LCR = 3, MCR = 4, LSR = 5;
constexpr uint8_t LSR_THRE = 1u << 5, LSR_TEMT = 1u << 6;
// A 16550 at 115200 baud drains a byte in ~87 us; this many polls covers
// several milliseconds even on fast cores. A UART that never becomes ready
// is declared dead instead of hanging the hypervisor.
constexpr uint32_t POLL_LIMIT = 2000000;
bool dead = false;

bool wait_lsr(uint8_t bit) {
    for (uint32_t i = 0; i < POLL_LIMIT; i++) {
        if (x86::inb(COM1 + LSR) & bit) return true;
        x86::pause();
    }
    return false;
}
}  // namespace

void init() {
    x86::outb(COM1 + IER, 0x00);
    x86::outb(COM1 + LCR, 0x80);       // DLAB: divisor follows
    x86::outb(COM1 + 0, 0x01);         // 115200 baud
    x86::outb(COM1 + 1, 0x00);
    x86::outb(COM1 + LCR, 0x03);       // 8N1
    x86::outb(COM1 + FCR, 0xc7);       // FIFO on, cleared
    x86::outb(COM1 + MCR, 0x03);       // DTR, RTS
}

void put(char c) {
    if (dead) return;
    if (!wait_lsr(LSR_THRE)) { dead = true; return; }
    x86::outb(COM1 + THR, static_cast<uint8_t>(c));
}

void drain() {
    if (!dead) wait_lsr(LSR_TEMT);
}

}  // namespace natsume::serial
