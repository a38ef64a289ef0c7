#include "base/panic.hpp"

#include <stdarg.h>

#include "drivers/x86/cpu.hpp"
#include "drivers/x86/msr.hpp"

#include "arch/x86/percpu.hpp"
#include "base/log.hpp"
#include "boot/boot.hpp"

namespace natsume {

void machine_stop(int code) {
    log::drain();
    if (boot::options().emulator_exit) {
        // Bochs: the string "Shutdown" on port 0x8900; QEMU: isa-debug-exit at 0xf4.
        for (const char* s = "Shutdown"; *s; s++) x86::outb(0x8900, static_cast<uint8_t>(*s));
        x86::outb(0xf4, static_cast<uint8_t>(code));
    }
    x86::halt_forever();
}

void panic_at(const char* file, int line, const char* fmt, ...) {
    x86::cli();
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    log::vformat(msg, sizeof msg, fmt, ap);
    va_end(ap);
    uint64_t gs  = x86::rdmsr(drivers::msr::IA32_GS_BASE);
    unsigned cpu = gs ? reinterpret_cast<x86::PerCpu*>(gs)->shared.index : 0;
    log::print("natsume: PANIC on cpu %u: %s (%s:%d)\n", cpu, msg, file, line);
    log::print("natsume: PANIC: the machine is stopped\n");
    machine_stop(3);
}

}  // namespace natsume
