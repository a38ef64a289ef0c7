// Reporting of unhandled exceptions and interrupts.
#pragma once
#include "arch/idt.h"

namespace natsume::guest::exceptions {

// Architectural exception vectors used by name (SDM Vol. 3A table 6-1).
inline constexpr unsigned BREAKPOINT    = 3;
inline constexpr unsigned NMI           = 2;
inline constexpr unsigned DOUBLE_FAULT  = 8;
inline constexpr unsigned PAGE_FAULT    = 14;
inline constexpr unsigned MACHINE_CHECK = 18;

// Short mnemonic ("#UD") and description of a vector; "external" above 31.
const char* mnemonic(unsigned vector);
const char* description(unsigned vector);

// Prints vector, error code, RIP, CR2 and all registers, then stops the
// kernel with exit code 0x100 + vector.
[[noreturn]] void fatal(const idt::InterruptFrame& f);

}  // namespace natsume::guest::exceptions
