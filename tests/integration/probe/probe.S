/* Multiboot2 header and 32-bit entry of the harness probe kernel.
 * Multiboot2 spec 3.1.1: magic, architecture 0 (i386 protected mode),
 * header length, checksum so that the four fields sum to 0 mod 2^32. */
#define MB2_MAGIC 0xe85250d6
#define MB2_ARCH  0
    .section .multiboot2, "a"
    .balign 8
mb2_header:
    .long MB2_MAGIC
    .long MB2_ARCH
    .long mb2_header_end - mb2_header
    .long -(MB2_MAGIC + MB2_ARCH + (mb2_header_end - mb2_header))
    /* end tag: type 0, flags 0, size 8 */
    .short 0
    .short 0
    .long 8
mb2_header_end:

    .text
    .code32
    .globl _start
_start:
    /* EAX = bootloader magic, EBX = boot information (spec 3.3). */
    movl $stack_top, %esp
    pushl %ebx
    pushl %eax
    call probe_main
1:  cli
    hlt
    jmp 1b

    .bss
    .balign 16
    .skip 8192
stack_top:
