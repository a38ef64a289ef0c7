/*
 * VM entry and exit paths. The guest's general registers live in
 * struct natsume::x86::GuestRegs (rax, rcx, rdx, rbx, rbp, rsi, rdi, r8..r15);
 * RSP, RIP and RFLAGS are in the VMCS. HOST_RSP points at the top of the
 * core's exit stack, so every exit starts on a fresh, 16-byte-aligned frame.
 */
#include "arch/x86/gprs.S.inc"

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
    movq 0x00(%rdi), %rax
    movq 0x08(%rdi), %rcx
    movq 0x10(%rdi), %rdx
    movq 0x18(%rdi), %rbx
    movq 0x20(%rdi), %rbp
    movq 0x28(%rdi), %rsi
    movq 0x38(%rdi), %r8
    movq 0x40(%rdi), %r9
    movq 0x48(%rdi), %r10
    movq 0x50(%rdi), %r11
    movq 0x58(%rdi), %r12
    movq 0x60(%rdi), %r13
    movq 0x68(%rdi), %r14
    movq 0x70(%rdi), %r15
    movq 0x30(%rdi), %rdi
    vmlaunch
    pushfq
    popq %rdi
    andq $-16, %rsp
    call vmx_launch_failed
