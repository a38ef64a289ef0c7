// Reporting of unhandled exceptions and interrupts.
#pragma once
#include "arch/idt.h"

namespace natsume::guest::exceptions {

// Architectural exception vectors used by name (SDM Vol. 3A table 6-1).
inline constexpr unsigned kBreakpoint = 3;
inline constexpr unsigned kNmi = 2;
inline constexpr unsigned kDoubleFault = 8;
inline constexpr unsigned kPageFault = 14;
inline constexpr unsigned kMachineCheck = 18;

// Short mnemonic ("#UD") and description of a vector; "external" above 31.
const char* mnemonic(unsigned vector);
const char* description(unsigned vector);

// Prints vector, error code, RIP, CR2 and all registers, then stops the
// kernel with exit code 0x100 + vector.
[[noreturn]] void fatal(const idt::InterruptFrame& f);

}  // namespace natsume::guest::exceptions
