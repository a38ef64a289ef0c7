#include "kernel/machine.h"

#include "arch/cpu.h"
#include "boot/boot.h"
#include "kernel/console.h"
#include "kernel/hypercall.h"
#include "kernel/kprint.h"

namespace natsume::guest::machine {
namespace {

bool g_exit_on_stop = false;

// Bochs ends the simulation when "Shutdown" is written to its 0x8900 port.
constexpr uint16_t BOCHS_SHUTDOWN_PORT = 0x8900;
// QEMU's isa-debug-exit device, configured at iobase=0xf4: the process exits
// with status (value << 1) | 1.
constexpr uint16_t QEMU_DEBUG_EXIT_PORT = 0xf4;

void emulator_exit(uint64_t code) {
    console::drain();
    for (const char* p = "Shutdown"; *p; ++p) cpu::outb(BOCHS_SHUTDOWN_PORT, static_cast<uint8_t>(*p));
    cpu::outb(QEMU_DEBUG_EXIT_PORT, code == 0 ? 0 : 1);
}

}  // namespace

void set_exit_on_stop(bool on) { g_exit_on_stop = on; }

void stop(uint64_t code) {
    cpu::disable_interrupts();
    if (boot::context().mode == boot::Mode::Partition) hypercall::stop_self(code);
    if (g_exit_on_stop) emulator_exit(code);
    console::drain();
    cpu::halt_forever();
}

void fatal(const char* why) {
    kprint::Line().str("natsume-guest: FATAL ").str(why).emit();
    stop(1);
}

}  // namespace natsume::guest::machine
