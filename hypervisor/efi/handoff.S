/*
 * natsume.efi's trampoline: copied to a page below 4 GiB that UEFI maps 1:1,
 * entered as void trampoline(uint64_t entry32, uint64_t info) (System V:
 * RDI, RSI). Position-independent: it uses no absolute address of its own.
 * Intel SDM Vol. 3A 9.8.5.4: switch to compatibility mode, clear CR0.PG
 * (IA32_EFER.LMA follows), clear IA32_EFER.LME; the multiboot2 machine state
 * (spec 3.3): CS 32-bit flat code, DS/ES/FS/GS/SS flat data, paging off,
 * interrupts off, EAX = magic, EBX = boot information.
 */
#include "drivers/multiboot2.h"

#define MSR_EFER     0xc0000080
#define EFER_LME     0x100
#define CR4_PCIDE    (1 << 17)   /* must be clear before CR0.PG is (SDM Vol. 3A 4.10.1) */
#define CR0_PG       0x80000000
#define SEL_CODE32   0x08
#define SEL_DATA     0x10

    .section .text
    .code64
    .globl natsume_efi_trampoline, natsume_efi_trampoline_end
natsume_efi_trampoline:
    cli
    movq %cr4, %rax
    andq $~CR4_PCIDE, %rax
    movq %rax, %cr4
    /* GDT pointer on the stack: the trampoline's page need not be writable. */
    leaq tramp_gdt(%rip), %rax
    subq $16, %rsp
    movw $(tramp_gdt_end - tramp_gdt - 1), (%rsp)
    movq %rax, 2(%rsp)
    lgdt (%rsp)
    leaq tramp_compat32(%rip), %rax
    pushq $SEL_CODE32
    pushq %rax
    lretq

    .code32
tramp_compat32:
    movl $SEL_DATA, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %fs
    movl %eax, %gs
    movl %eax, %ss
    movl %cr0, %eax
    andl $~CR0_PG, %eax
    movl %eax, %cr0             /* legacy protected mode: LMA is clear now */
    movl $MSR_EFER, %ecx
    rdmsr
    andl $~EFER_LME, %eax
    wrmsr
    movl $MB2_BOOTLOADER_MAGIC, %eax
    movl %esi, %ebx
    jmp  *%edi

    .balign 8
tramp_gdt:
    .quad 0
    .quad 0x00cf9a000000ffff    /* 0x08: 32-bit code, base 0, 4 GiB */
    .quad 0x00cf92000000ffff    /* 0x10: data, base 0, 4 GiB */
tramp_gdt_end:
natsume_efi_trampoline_end:
    .section .note.GNU-stack, "", @progbits
