/*
 * Natsume hypervisor entry: multiboot2 header, 32-bit protected mode entry
 * (GRUB, multiboot2 spec 3.3: EAX = magic, EBX = info), switch to long mode
 * on an identity map of the low 64 GiB, then natsume_main. Application
 * processors arrive through the real-mode trampoline below and share the
 * long-mode switch.
 */
#include "arch/x86/host_layout.h"
#include "drivers/multiboot2.h"
#include "drivers/x86/segments.h"

#define MSR_EFER         0xc0000080
#define EFER_LME         0x100
#define CR4_PAE          0x20
#define CR0_PE_PG        0x80000001
#define PTE_P_RW         0x3
#define PDE_P_RW_PS      0x83
#define PDE_UC           0x18          /* PCD | PWT: MMIO window 3-4 GiB */
#define BOOT_STACK_SIZE  16384

    .section .multiboot2, "a"
    .balign 8
mb2_header:
    .long MB2_HEADER_MAGIC
    .long 0                             /* i386 protected mode */
    .long mb2_header_end - mb2_header
    .long -(MB2_HEADER_MAGIC + 0 + (mb2_header_end - mb2_header))
    .balign 8                           /* end tag */
    .short 0, 0
    .long 8
mb2_header_end:

    .section .text.entry, "ax"
    .code32
    .globl natsume_entry32
natsume_entry32:
    cli
    cld
    movl %eax, boot_mb2_magic
    movl %ebx, boot_mb2_info
    movl $boot_stack_top, %esp
    cmpl $MB2_BOOTLOADER_MAGIC, %eax
    jne  fail_no_multiboot
    /* CPUID 0x80000001 EDX bit 29: long mode. */
    movl $0x80000000, %eax
    cpuid
    cmpl $0x80000001, %eax
    jb   fail_no_long_mode
    movl $0x80000001, %eax
    cpuid
    btl  $29, %edx
    jnc  fail_no_long_mode
    call build_boot_page_tables
    jmp  enter_long_mode_bsp

/* PML4[0] -> PDPT; PDPT[0..63] -> 64 page directories of 2 MiB pages. */
build_boot_page_tables:
    movl $boot_pdpt, %eax
    orl  $PTE_P_RW, %eax
    movl %eax, boot_pml4
    movl $0, boot_pml4 + 4
    xorl %ecx, %ecx
1:  movl %ecx, %eax
    shll $12, %eax
    addl $boot_pd, %eax
    orl  $PTE_P_RW, %eax
    movl %eax, boot_pdpt(,%ecx,8)
    movl $0, boot_pdpt + 4(,%ecx,8)
    incl %ecx
    cmpl $HOST_MAPPED_GIB, %ecx
    jb   1b
    /* ecx = 2 MiB page index; physical = index << 21 (high dword = index >> 11) */
    xorl %ecx, %ecx
2:  movl %ecx, %eax
    shll $21, %eax
    orl  $PDE_P_RW_PS, %eax
    cmpl $0x600, %ecx                    /* pages 0x600..0x7ff: 3 GiB .. 4 GiB */
    jb   3f
    cmpl $0x800, %ecx
    jae  3f
    orl  $PDE_UC, %eax
3:  movl %eax, boot_pd(,%ecx,8)
    movl %ecx, %eax
    shrl $11, %eax
    movl %eax, boot_pd + 4(,%ecx,8)
    incl %ecx
    cmpl $(HOST_MAPPED_GIB * 512), %ecx
    jb   2b
    ret

.macro ENABLE_LONG_MODE target
    movl $boot_pml4, %eax
    movl %eax, %cr3
    movl %cr4, %eax
    orl  $CR4_PAE, %eax
    movl %eax, %cr4
    movl $MSR_EFER, %ecx
    rdmsr
    orl  $EFER_LME, %eax
    wrmsr
    movl %cr0, %eax
    orl  $CR0_PE_PG, %eax
    movl %eax, %cr0
    lgdt boot_gdt_ptr
    ljmp $BOOT_SEL_CODE64, $\target
.endm

enter_long_mode_bsp:
    ENABLE_LONG_MODE bsp_long_mode

    .globl ap_entry32
ap_entry32:
    movw $BOOT_SEL_DATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    ENABLE_LONG_MODE ap_long_mode

/* Early failures: write a sentence to COM1 and stop. */
fail_no_multiboot:
    movl $msg_no_mb2, %esi
    jmp  early_fail
fail_no_long_mode:
    movl $msg_no_lm, %esi
early_fail:
    movw $0x3f8, %dx
1:  lodsb
    testb %al, %al
    jz   2f
    outb %al, %dx
    jmp  1b
2:  hlt
    jmp  2b

    .code64
bsp_long_mode:
    movw $BOOT_SEL_DATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs
    movq $boot_stack_top, %rsp
    movl boot_mb2_magic, %edi
    movl boot_mb2_info, %esi
    call natsume_main
1:  cli
    hlt
    jmp 1b

ap_long_mode:
    movw $BOOT_SEL_DATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs
    movq ap_boot_stack_top, %rsp
    call ap_main
1:  cli
    hlt
    jmp 1b

/*
 * Real-mode trampoline, copied to AP_TRAMPOLINE_PHYS (page-aligned, below
 * 1 MiB) and started by SIPI. Position-independent: it only uses offsets
 * from its own start and absolute addresses in the hypervisor image.
 */
    .section .rodata
    .code16
    .globl ap_trampoline_start, ap_trampoline_end
    .balign 16
ap_trampoline_start:
    cli
    cld
    xorw %ax, %ax
    movw %ax, %ds
    lgdtl AP_TRAMPOLINE_PHYS + (tramp_gdt_ptr - ap_trampoline_start)
    movl %cr0, %eax
    orl  $1, %eax
    movl %eax, %cr0
    ljmpl $BOOT_SEL_CODE32, $ap_entry32
    .balign 8
tramp_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt
ap_trampoline_end:
    .code64

    .section .rodata
    .balign 16
boot_gdt:
    .quad 0
    .quad X86_GDT_CODE64                /* BOOT_SEL_CODE64 */
    .quad X86_GDT_DATA                  /* BOOT_SEL_DATA */
    .quad X86_GDT_CODE32                /* BOOT_SEL_CODE32: the AP trampoline's 32-bit code */
.if BOOT_SEL_CODE64 != 0x08 || BOOT_SEL_DATA != 0x10 || BOOT_SEL_CODE32 != 0x18
    .error "boot_gdt's slots and host_layout.h's BOOT_SEL_* disagree"
.endif
boot_gdt_end:
boot_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .quad boot_gdt

msg_no_mb2: .asciz "natsume: PANIC: not started by a multiboot2 loader (bad magic in EAX)\r\n"
msg_no_lm:  .asciz "natsume: PANIC: this CPU has no long mode (CPUID 0x80000001 EDX bit 29)\r\n"

    .data
    .globl boot_mb2_magic, boot_mb2_info, ap_boot_stack_top, boot_pml4
    .balign 8
boot_mb2_magic:    .long 0
boot_mb2_info:     .long 0
ap_boot_stack_top: .quad 0

    .bss
    .balign 4096
boot_pml4:  .skip 4096
boot_pdpt:  .skip 4096
boot_pd:    .skip 4096 * HOST_MAPPED_GIB
    .balign 16
boot_stack: .skip BOOT_STACK_SIZE
boot_stack_top:
