// Interrupt and exception entry. Every vector gets a stub that pushes a
// uniform (vector, error code) pair; the common path saves the general
// registers and the FP/SSE state (the kernel and newlib use SSE freely) and
// calls isr_dispatch(InterruptFrame*). Layout checked in src/arch/idt.h.
#include "../src/arch/layout.h"


    .text
    .code64

// The CPU pushes an error code for vectors 8, 10-14, 17, 21, 29, 30 (SDM Vol. 3A table 6-1).
.macro ISR_STUB vector
    .balign 16
isr_stub_\vector:
    // External vectors stamp the TSC before anything else, for the latency
    // benchmarks (interrupt gates: no nesting, one slot is enough).
    .if \vector >= 32
    push %rax
    push %rdx
    rdtsc
    shl $32, %rdx
    or %rdx, %rax
    mov %rax, isr_entry_tsc(%rip)
    pop %rdx
    pop %rax
    .endif
    .if !((\vector == 8) || ((\vector >= 10) && (\vector <= 14)) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30))
    pushq $0
    .endif
    pushq $\vector
    jmp isr_common
.endm

.altmacro
.macro ISR_STUBS from, to
    ISR_STUB %(\from)
    .if \to-\from
    ISR_STUBS %(\from+1), \to
    .endif
.endm

    ISR_STUBS 0, 63
    ISR_STUBS 64, 127
    ISR_STUBS 128, 191
    ISR_STUBS 192, 255

isr_common:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rbx              // frame; rbx survives the call
    and $~15, %rsp
    sub $512, %rsp
    fxsave64 (%rsp)
    mov %rbx, %rdi
    cld
    call isr_dispatch
    fxrstor64 (%rsp)
    mov %rbx, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp               // vector and error code
    iretq

.macro ISR_ENTRY vector
    .quad isr_stub_\vector
.endm
.macro ISR_ENTRIES from, to
    ISR_ENTRY %(\from)
    .if \to-\from
    ISR_ENTRIES %(\from+1), \to
    .endif
.endm

    .section .bss
    .balign 8
    .global isr_entry_tsc
isr_entry_tsc:
    .skip 8

    .section .rodata
    .balign 8
    .global isr_stub_table
isr_stub_table:
    ISR_ENTRIES 0, 63
    ISR_ENTRIES 64, 127
    ISR_ENTRIES 128, 191
    ISR_ENTRIES 192, 255
