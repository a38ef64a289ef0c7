// 64-bit entry points and the switch to the kernel's main stack.
#include "../src/arch/layout.h"

    .section .bss
    .balign 16
    .global guest_boot_stack_top
guest_boot_stack:
    .skip GUEST_BOOT_STACK_SIZE
guest_boot_stack_top:

    .text
    .code64
// ELF entry, used by the Natsume loader: long mode, paging by the hypervisor's
// tables, RDI = gpa of struct natsume_boot_info (include/natsume/bootinfo.h).
// Nothing guarantees .bss is clear, and the hypervisor's stack is tiny.
    .global partition_entry
partition_entry:
    cli
    cld
    mov %rdi, %rbx
    mov $__bss_start, %rdi
    mov $__bss_end, %rcx
    sub %rdi, %rcx
    xor %eax, %eax
    rep stosb
    mov $guest_boot_stack_top, %rsp
    mov $GUEST_ENTRY_64BIT, %edi
    mov %rbx, %rsi
    xor %edx, %edx
    // fall through

// rdi = entry kind, rsi = boot information pointer, rdx = loader magic.
    .global guest_common_entry64
guest_common_entry64:
    mov $guest_boot_stack_top, %rsp
    xor %ebp, %ebp
    call kernel_early           // returns the top of the main stack
    mov %rax, %rsp
    xor %ebp, %ebp
    call kernel_main            // never returns
1:  cli
    hlt
    jmp 1b
