/*
 * Interrupt entries for the self-test's MSI vectors. Each saves the
 * caller-saved registers (SysV ABI) and calls selftest_irq(vector), which
 * records where the interrupt arrived and signals EOI.
 */
    .text
.macro TEST_VECTOR n
    .globl selftest_isr_\n
selftest_isr_\n:
    pushq %rax
    movl $\n, %eax
    jmp  selftest_isr_common
.endm

TEST_VECTOR 0x41
TEST_VECTOR 0x42
TEST_VECTOR 0x43
TEST_VECTOR 0x44

/* Entry RSP is 16-byte aligned before the 5-word frame; +rax +8 pushes keeps 16. */
selftest_isr_common:
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    movl %eax, %edi
    call selftest_irq
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rax
    iretq
