// natsume.efi's messages: every line goes to COM1 (polled 16550, as the
// hypervisor's console) and, while boot services last, to the firmware's
// console too, so a person sees it on the screen and on a serial cable.
#pragma once
#include <stdarg.h>

namespace natsume::efi {

void console_init();
// After ExitBootServices: COM1 only.
void console_firmware_gone();
void say(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace natsume::efi
