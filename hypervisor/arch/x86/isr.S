/*
 * Hypervisor exception entry. Every vector pushes (error code or 0, vector),
 * then the general registers in the order of struct natsume::x86::TrapFrame,
 * and calls host_trap(TrapFrame*). host_trap returns only for NMIs.
 */
#include "arch/x86/gprs.S.inc"
#include "arch/x86/host_layout.h"

    .text
.macro ISR_NOERR n
    .globl isr_\n
isr_\n:
    pushq $0
    pushq $\n
    jmp isr_common
.endm
/* A stub named by its role, for the boot core's own vectors (host_layout.h). */
.macro ISR_AT name, vector
    .globl \name
\name:
    pushq $0
    pushq $\vector
    jmp isr_common
.endm
.macro ISR_ERR n
    .globl isr_\n
isr_\n:
    pushq $\n
    jmp isr_common
.endm

ISR_NOERR 0
ISR_NOERR 1
ISR_NOERR 2
ISR_NOERR 3
ISR_NOERR 4
ISR_NOERR 5
ISR_NOERR 6
ISR_NOERR 7
ISR_ERR   8
ISR_NOERR 9
ISR_ERR   10
ISR_ERR   11
ISR_ERR   12
ISR_ERR   13
ISR_ERR   14
ISR_NOERR 15
ISR_NOERR 16
ISR_ERR   17
ISR_NOERR 18
ISR_NOERR 19
ISR_NOERR 20
ISR_ERR   21
ISR_NOERR 22
ISR_NOERR 23
ISR_NOERR 24
ISR_NOERR 25
ISR_NOERR 26
ISR_NOERR 27
ISR_NOERR 28
ISR_ERR   29
ISR_ERR   30
ISR_NOERR 31
ISR_AT isr_spurious, HOST_VECTOR_SPURIOUS  /* spurious / unexpected vector */
ISR_AT isr_wake, HOST_VECTOR_WAKE          /* wake-up IPI to the boot core */
ISR_AT isr_shared_0, HOST_VECTOR_SHARED_FIRST + 0   /* shared INTx lines */
ISR_AT isr_shared_1, HOST_VECTOR_SHARED_FIRST + 1
ISR_AT isr_shared_2, HOST_VECTOR_SHARED_FIRST + 2
ISR_AT isr_shared_3, HOST_VECTOR_SHARED_FIRST + 3
ISR_AT isr_shared_4, HOST_VECTOR_SHARED_FIRST + 4
ISR_AT isr_shared_5, HOST_VECTOR_SHARED_FIRST + 5
ISR_AT isr_shared_6, HOST_VECTOR_SHARED_FIRST + 6
ISR_AT isr_shared_7, HOST_VECTOR_SHARED_FIRST + 7
.if HOST_SHARED_LINES != 8
    .error "isr.S has 8 shared-line stubs: keep HOST_SHARED_LINES in step"
.endif
ISR_AT isr_vtd_fault, HOST_VECTOR_VTD_FAULT

isr_common:
    PUSH_GPRS
    movq %rsp, %rdi
    movq %rsp, %rbx
    andq $-16, %rsp
    call host_trap
    movq %rbx, %rsp
    POP_GPRS
    addq $16, %rsp
    iretq

    .section .rodata
    .globl isr_table
    .balign 8
isr_table:
    .quad isr_0, isr_1, isr_2, isr_3, isr_4, isr_5, isr_6, isr_7
    .quad isr_8, isr_9, isr_10, isr_11, isr_12, isr_13, isr_14, isr_15
    .quad isr_16, isr_17, isr_18, isr_19, isr_20, isr_21, isr_22, isr_23
    .quad isr_24, isr_25, isr_26, isr_27, isr_28, isr_29, isr_30, isr_31
    .quad isr_spurious
    .globl shared_isr_table
shared_isr_table:
    .quad isr_shared_0, isr_shared_1, isr_shared_2, isr_shared_3
    .quad isr_shared_4, isr_shared_5, isr_shared_6, isr_shared_7
    .globl vtd_fault_isr
vtd_fault_isr:
    .quad isr_vtd_fault
