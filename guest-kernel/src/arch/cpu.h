// The x86 instruction wrappers (drivers/x86/cpu.hpp) under the kernel's
// `cpu::` name, and the few interrupt-flag helpers only this kernel uses.
#pragma once
#include <stdint.h>

#include "drivers/x86/cpu.hpp"

namespace natsume::guest::cpu {

using namespace natsume::drivers::x86;

inline void enable_interrupts() { asm volatile("sti" ::: "memory"); }
inline void disable_interrupts() { asm volatile("cli" ::: "memory"); }
// sti takes effect after the next instruction, so no interrupt slips in
// between the check that led here and the hlt.
inline void enable_interrupts_and_halt() { asm volatile("sti; hlt" ::: "memory"); }

}  // namespace natsume::guest::cpu
