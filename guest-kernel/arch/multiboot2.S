// Native entry: a multiboot2 loader (GRUB) enters multiboot2_entry32 in 32-bit
// protected mode, paging off, EAX = magic, EBX = physical address of the
// boot information (multiboot2 spec 3.3). This stub clears .bss, builds the
// identity page tables, enables long mode and SSE and jumps to 64-bit code.
#include "../src/arch/layout.h"
#include "drivers/multiboot2.h"
#include "drivers/x86/segments.h"

// multiboot2 spec 3.1
#define MB2_ARCH_I386    0
#define MB2_TAG_END      0
#define MB2_TAG_ENTRY    3

// Control bits (SDM Vol. 3A 2.5 control registers, 2.2.1 EFER).
#define CR0_PE (1 << 0)
#define CR0_MP (1 << 1)
#define CR0_EM (1 << 2)
#define CR0_NE (1 << 5)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define CR4_OSFXSR (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)

    .section .multiboot2, "a"
    .balign 8
    .global multiboot2_header
multiboot2_header:
    .long MB2_HEADER_MAGIC
    .long MB2_ARCH_I386
    .long multiboot2_header_end - multiboot2_header
    .long -(MB2_HEADER_MAGIC + MB2_ARCH_I386 + (multiboot2_header_end - multiboot2_header))
    // Entry address tag: the ELF e_entry is the 64-bit partition entry, so the
    // loader is told where the 32-bit entry is.
    .balign 8
    .short MB2_TAG_ENTRY
    .short 0
    .long 12
    .long multiboot2_entry32
    .balign 8
    .short MB2_TAG_END
    .short 0
    .long 8
multiboot2_header_end:

    .section .pagetables, "aw", @nobits
    .balign 4096
    .global guest_page_tables
guest_page_tables:
    .skip 4096 * GUEST_PAGE_TABLE_PAGES

    .section .rodata
    .balign 8
boot_gdt:
    .quad 0
    .quad X86_GDT_CODE64      // GUEST_SEL_CODE64: 64-bit code, DPL 0
    .quad X86_GDT_DATA        // GUEST_SEL_DATA: data, DPL 0
boot_gdt_end:
boot_gdt_ptr:
    .short boot_gdt_end - boot_gdt - 1
    .quad boot_gdt

    .section .text.boot32, "ax"
    .code32
    .global multiboot2_entry32
multiboot2_entry32:
    cli
    cld
    mov %eax, %ebp              // multiboot2 magic, checked in C++
    // EBX (boot information) is kept untouched until 64-bit code.

    // .bss holds the boot stack: clear it before the first push.
    mov $__bss_start, %edi
    mov $__bss_end, %ecx
    sub %edi, %ecx
    xor %eax, %eax
    rep stosb
    mov $guest_boot_stack_top, %esp

    // PML4[0] -> PDPT; PDPT[0..3] -> four page directories.
    mov $guest_page_tables, %edi
    mov $(4096 * GUEST_PAGE_TABLE_PAGES / 4), %ecx
    xor %eax, %eax
    rep stosl
    mov $guest_page_tables, %edi
    lea (4096 + PTE_P + PTE_RW)(%edi), %eax
    mov %eax, (%edi)
    xor %ecx, %ecx
1:  lea (8192 + PTE_P + PTE_RW)(%edi), %eax
    mov %ecx, %edx
    shl $12, %edx
    add %edx, %eax
    mov %eax, 4096(%edi, %ecx, 8)
    inc %ecx
    cmp $4, %ecx
    jb 1b

    // 2048 directory entries, 2 MiB each: identity map of [0, 4 GiB).
    xor %ecx, %ecx
2:  mov %ecx, %eax
    shl $21, %eax
    or $(PTE_P + PTE_RW + PTE_PS), %eax
    cmp $UNCACHED_FIRST_2M_PAGE, %ecx
    jb 3f
    or $(PTE_PCD + PTE_PWT), %eax
3:  mov %eax, 8192(%edi, %ecx, 8)
    movl $0, 8196(%edi, %ecx, 8)
    inc %ecx
    cmp $2048, %ecx
    jb 2b

    mov %cr4, %eax
    or $(CR4_PAE + CR4_OSFXSR + CR4_OSXMMEXCPT), %eax
    mov %eax, %cr4
    mov %edi, %cr3
    mov $MSR_EFER, %ecx
    rdmsr
    or $EFER_LME, %eax
    wrmsr
    mov %cr0, %eax
    and $~CR0_EM, %eax
    or $(CR0_PE + CR0_MP + CR0_NE + CR0_PG), %eax
    mov %eax, %cr0

    lgdt boot_gdt_ptr
    ljmp $GUEST_SEL_CODE64, $native_entry64

    .code64
native_entry64:
    mov $GUEST_SEL_DATA, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %eax, %eax
    mov %ax, %fs
    mov %ax, %gs
    mov $GUEST_ENTRY_MULTIBOOT2, %edi
    mov %ebx, %esi              // zero-extends: the info lies below 4 GiB
    mov %ebp, %edx
    jmp guest_common_entry64
