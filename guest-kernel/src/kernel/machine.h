// Ending the kernel's run: the partition asks Natsume to stop it; natively
// the CPU halts, or the emulator is shut down when the command line says exit=1.
#pragma once
#include <stdint.h>

namespace natsume::guest::machine {

void set_exit_on_stop(bool on);
[[noreturn]] void stop(uint64_t code);
[[noreturn]] void fatal(const char* why);  // prints why, stops with code 1

}  // namespace natsume::guest::machine
