// The IDT and the C++ side of interrupt dispatch.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "arch/layout.h"

namespace natsume::guest::idt {

// Mirrors the stack built by arch/isr.S, lowest address first.
struct InterruptFrame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;  // pushed by the CPU
};
static_assert(offsetof(InterruptFrame, vector) == ISR_FRAME_GPRS * 8);
static_assert(sizeof(InterruptFrame) == ISR_FRAME_WORDS * 8);

using Handler = void (*)(InterruptFrame&);

inline constexpr uint8_t VECTOR_TIMER       = 0x40;
inline constexpr uint8_t VECTOR_DEVICE      = 0x41;  // the e1000's INTx
inline constexpr uint8_t VECTOR_BENCH_TIMER = 0x42;
inline constexpr uint8_t VECTOR_ATTACK_IPI  = 0x43;  // what attack-ipi sends elsewhere
inline constexpr uint8_t VECTOR_DOORBELL    = 0x44;  // a channel peer's doorbell
inline constexpr uint8_t VECTOR_DISK        = 0x45;  // the IDE channel's completion interrupt
inline constexpr uint8_t VECTOR_SPURIOUS    = 0xff;
inline constexpr unsigned EXCEPTION_VECTORS = 32;

void install();
// TSC read first thing in the entry stub of the latest external interrupt
// (vector >= 32), written by arch/isr.S.
uint64_t last_entry_tsc();
// Handlers run with interrupts disabled (interrupt gates). A handler for an
// exception vector makes that exception non-fatal.
void set_handler(uint8_t vector, Handler h);
// Lets ring-3 code raise `vector` with INT n (gate DPL 3).
void set_user_gate(uint8_t vector);
// Loads an IDT with limit 0: any exception after this escalates to a triple fault.
void load_empty();

}  // namespace natsume::guest::idt
