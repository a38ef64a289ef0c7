extern "C" {
#include <efi.h>
#include <efilib.h>
}

#include "drivers/uart16550.hpp"
#include "drivers/x86/cpu.hpp"

#include "console.hpp"
#include "lib/format.hpp"

namespace natsume::efi {
namespace {

namespace uart = drivers::uart16550;

struct Port {
    static uint8_t in8(uint16_t p) { return drivers::x86::inb(p); }
    static void out8(uint16_t p, uint8_t v) { drivers::x86::outb(p, v); }
    static void relax() { asm volatile("pause"); }
};

// An absent UART reads 0xff: "ready" at once, so output to nothing costs nothing.
constinit uart::Uart<Port> com1{uart::COM1, 100000};
constinit bool firmware_console = false;

void to_firmware(const char* s) {
    CHAR16 wide[2 * 400 + 1];
    size_t n = 0;
    for (; *s && n + 2 < sizeof wide / sizeof wide[0]; ++s) {
        if (*s == '\n') wide[n++] = '\r';
        wide[n++] = static_cast<CHAR16>(static_cast<unsigned char>(*s));
    }
    wide[n] = 0;
    uefi_call_wrapper(reinterpret_cast<void*>(ST->ConOut->OutputString), 2, ST->ConOut, wide);
}

void to_com1(const char* s) {
    for (; *s; ++s) {
        if (*s == '\n') (void)com1.put('\r');
        (void)com1.put(static_cast<uint8_t>(*s));
    }
}

}  // namespace

void console_init() {
    com1.init(uart::FCR_ENABLE_CLEAR);
    firmware_console = true;
}

void console_firmware_gone() { firmware_console = false; }

void say(const char* fmt, ...) {
    char line[400];
    va_list ap;
    va_start(ap, fmt);
    (void)fmt::vformat(line, sizeof line, fmt, ap);
    va_end(ap);
    to_com1(line);
    if (firmware_console) to_firmware(line);
}

}  // namespace natsume::efi
