/*
 * VM entry and exit paths. The guest's general registers live in
 * struct natsume::x86::GuestRegs (rax, rcx, rdx, rbx, rbp, rsi, rdi, r8..r15);
 * RSP, RIP and RFLAGS are in the VMCS. HOST_RSP points at the top of the
 * core's exit stack, so every exit starts on a fresh, 16-byte-aligned frame.
 */
#include "arch/x86/gprs.S.inc"
#include "arch/x86/guest_regs.h"

    .text
    .globl vmx_exit_entry
vmx_exit_entry:
    subq $8, %rsp                        /* keeps the call below 16-byte aligned */
    PUSH_GPRS
    movq %rsp, %rdi
    call vmx_exit_dispatch               /* returns only to resume the guest */
    POP_GPRS
    vmresume
    /* VMRESUME failed: RFLAGS says how (CF: no current VMCS, ZF: error field). */
    pushfq
    popq %rdi
    call vmx_resume_failed

/* void vmx_launch(const GuestRegs*) — returns only through vmx_launch_failed. */
    .globl vmx_launch
vmx_launch:
    movq GR_RAX(%rdi), %rax
    movq GR_RCX(%rdi), %rcx
    movq GR_RDX(%rdi), %rdx
    movq GR_RBX(%rdi), %rbx
    movq GR_RBP(%rdi), %rbp
    movq GR_RSI(%rdi), %rsi
    movq GR_R8(%rdi), %r8
    movq GR_R9(%rdi), %r9
    movq GR_R10(%rdi), %r10
    movq GR_R11(%rdi), %r11
    movq GR_R12(%rdi), %r12
    movq GR_R13(%rdi), %r13
    movq GR_R14(%rdi), %r14
    movq GR_R15(%rdi), %r15
    movq GR_RDI(%rdi), %rdi
    vmlaunch
    pushfq
    popq %rdi
    andq $-16, %rsp
    call vmx_launch_failed
