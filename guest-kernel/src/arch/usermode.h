// A minimal ring-3 trampoline: runs one function at CPL 3 on identity-mapped
// user pages and returns to the kernel when it returns (through a DPL-3
// gate) or faults. For tests of what user mode may do (hypercalls, #AC).
#pragma once
#include <stdint.h>

#include "arch/idt.h"

namespace natsume::guest::usermode {

inline constexpr uint8_t RETURN_VECTOR = 0x80;  // the DPL-3 gate back to the kernel
inline constexpr uint64_t RFLAGS_AC    = 1ull << 18;

struct Outcome {
    int fault      = -1;  // exception vector taken at CPL 3, -1: none
    uint64_t error = 0;
    uint64_t value = 0;  // the function's return value (RAX) when it returned
    uint64_t cs    = 0;  // the CS the kernel saw it come back from (RPL 3 = really ran in ring 3)
};

// Maps the kernel image user-accessible, sets up the TSS stack and the gate.
// Idempotent. Returns false when it could not (no room in the page tables).
bool setup();

// Runs fn(arg) at CPL 3 with RFLAGS |= extra_rflags (e.g. RFLAGS_AC).
Outcome run(uint64_t (*fn)(uint64_t), uint64_t arg, uint64_t extra_rflags = 0);

// Called by the exception handler for a fault whose CS has RPL 3.
void on_user_fault(idt::InterruptFrame& f);

}  // namespace natsume::guest::usermode
