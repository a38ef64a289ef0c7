#include "base/serial.hpp"

#include "drivers/uart16550.hpp"
#include "drivers/x86/cpu.hpp"

namespace natsume::serial {
namespace {
namespace hw = drivers::uart16550;

struct Port {
    static uint8_t in8(uint16_t port) { return x86::inb(port); }
    static void out8(uint16_t port, uint8_t v) { x86::outb(port, v); }
    static void relax() { x86::pause(); }
};

// A 16550 at 115200 baud drains a byte in ~87 us; this many polls covers
// several milliseconds even on fast cores. A UART that never becomes ready
// is declared dead instead of hanging the hypervisor.
constexpr hw::Uart<Port> com1{hw::COM1, 2000000};
bool dead = false;
}  // namespace

void init() { com1.init(hw::FCR_ENABLE_CLEAR_TRIGGER14); }

void put(char c) {
    if (dead) return;
    if (!com1.put(static_cast<uint8_t>(c))) dead = true;
}

void drain() {
    if (!dead) (void)com1.drain();
}

}  // namespace natsume::serial
