/*
 * Hypervisor exception entry. Every vector pushes (error code or 0, vector),
 * then the general registers in the order of struct natsume::x86::TrapFrame,
 * and calls host_trap(TrapFrame*). host_trap returns only for NMIs.
 */
#include "arch/x86/gprs.S.inc"

    .text
.macro ISR_NOERR n
    .globl isr_\n
isr_\n:
    pushq $0
    pushq $\n
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
ISR_NOERR 255                            /* spurious / unexpected vector */
ISR_NOERR 240                            /* wake-up IPI to the boot core */
ISR_NOERR 224                            /* shared INTx lines (shared_intx.hpp VECTOR_BASE) */
ISR_NOERR 225
ISR_NOERR 226
ISR_NOERR 227
ISR_NOERR 228
ISR_NOERR 229
ISR_NOERR 230
ISR_NOERR 231
ISR_NOERR 232                            /* VT-d fault events */

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
    .quad isr_255
    .globl shared_isr_table
shared_isr_table:
    .quad isr_224, isr_225, isr_226, isr_227, isr_228, isr_229, isr_230, isr_231
    .globl vtd_fault_isr
vtd_fault_isr:
    .quad isr_232
