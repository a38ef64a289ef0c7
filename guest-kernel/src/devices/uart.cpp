#include "devices/uart.h"

#include "drivers/uart16550.hpp"

#include "arch/cpu.h"

namespace natsume::guest::uart {
namespace {
namespace hw = natsume::drivers::uart16550;

struct Port {
    static uint8_t in8(uint16_t port) { return cpu::inb(port); }
    static void out8(uint16_t port, uint8_t v) { cpu::outb(port, v); }
    static void relax() {}
};

// Generous: 16 bytes at 115200 baud take ~1.4 ms; one poll is >= 1 port read.
// A missing or stuck UART drops output rather than hang.
constexpr uint32_t POLL_LIMIT = 1000000;
hw::Uart<Port> at(uint16_t base) { return {base, POLL_LIMIT}; }

}  // namespace

void init(uint16_t base) { at(base).init(hw::FCR_ENABLE_CLEAR); }

// Bytes go out unchanged (no CR insertion): the harness reads the same
// stream from a UART and from the hypercall console.
void write(uint16_t base, const char* s, size_t n) {
    hw::Uart<Port> u = at(base);
    for (size_t i = 0; i < n; ++i)
        if (!u.put(static_cast<uint8_t>(s[i]))) return;
}

void drain(uint16_t base) { (void)at(base).drain(); }

}  // namespace natsume::guest::uart
