#include "arch/usermode.h"

#include "arch/gdt.h"
#include "arch/layout.h"
#include "arch/paging.h"
#include "boot/boot.h"

extern "C" {
// Saved kernel RSP for the way back and the state of the current excursion.
volatile uint64_t g_user_return_rsp = 0;
volatile uint64_t g_user_rflags     = 0;
uint64_t usermode_enter(uint64_t fn, uint64_t arg, uint64_t user_rsp);
void usermode_return();
void usermode_exit_stub();
}

// usermode_enter(fn, arg, user_rsp): saves the callee-saved registers and
// RSP, then IRETQ to fn at CPL 3 with `arg` in RDI. The user stack holds
// usermode_exit_stub as return address, which hands RAX to the kernel with
// int $0x80. The kernel side (return_to_kernel) resumes at usermode_return
// with RSP restored and the result in RAX.
asm(R"(
    .text
    .global usermode_enter
usermode_enter:
    push %rbx
    push %rbp
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, g_user_return_rsp(%rip)
    lea usermode_exit_stub(%rip), %rax
    sub $8, %rdx
    mov %rax, (%rdx)
    pushq $0x2b               /* GUEST_SEL_USER_DATA | 3 */
    push %rdx
    pushq g_user_rflags(%rip)
    pushq $0x33               /* GUEST_SEL_USER_CODE64 | 3 */
    push %rdi
    mov %rsi, %rdi
    iretq
    .global usermode_return
usermode_return:
    movw $0x10, %dx
    movw %dx, %ds
    movw %dx, %es
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbp
    pop %rbx
    ret
    .global usermode_exit_stub
usermode_exit_stub:
    int $0x80
    ud2
)");

namespace natsume::guest::usermode {
namespace {

static_assert(GUEST_SEL_USER_DATA == 0x28 && GUEST_SEL_USER_CODE64 == 0x30, "selectors in usermode_enter");

alignas(16) uint8_t g_user_stack[8192];
alignas(16) uint8_t g_kernel_stack[8192];  // TSS RSP0: entry from ring 3
bool g_ready              = false;
volatile int g_fault      = -1;
volatile uint64_t g_error = 0;
volatile uint64_t g_cs    = 0;

constexpr uint64_t RFLAGS_RESERVED = 1ull << 1;

void return_to_kernel(idt::InterruptFrame& f) {
    g_cs     = f.cs;
    f.rip    = reinterpret_cast<uintptr_t>(usermode_return);
    f.cs     = GUEST_SEL_CODE64;
    f.ss     = GUEST_SEL_DATA;
    f.rsp    = g_user_return_rsp;
    f.rflags = RFLAGS_RESERVED;  // interrupts stay off, as in the caller
}

void on_return_gate(idt::InterruptFrame& f) {
    if (!(f.cs & 3)) {  // int $0x80 from the kernel itself: not ours
        g_fault = 0x80;
        return;
    }
    return_to_kernel(f);  // f.rax already holds the function's result
}

}  // namespace

void on_user_fault(idt::InterruptFrame& f) {
    g_fault = static_cast<int>(f.vector & 0xff);
    g_error = f.error_code;
    f.rax   = 0;
    return_to_kernel(f);
}

bool setup() {
    if (g_ready) return true;
    // The image (code, data, both stacks) must be reachable from ring 3.
    if (!paging::allow_user(0, boot::context().image_end)) return false;
    gdt::set_rsp0(reinterpret_cast<uintptr_t>(g_kernel_stack + sizeof g_kernel_stack));
    idt::set_user_gate(RETURN_VECTOR);
    idt::set_handler(RETURN_VECTOR, on_return_gate);
    g_ready = true;
    return true;
}

Outcome run(uint64_t (*fn)(uint64_t), uint64_t arg, uint64_t extra_rflags) {
    Outcome o;
    if (!setup()) {
        o.fault = 0x100;
        return o;
    }
    g_fault       = -1;
    g_error       = 0;
    g_cs          = 0;
    g_user_rflags = RFLAGS_RESERVED | extra_rflags;
    uint64_t v    = usermode_enter(reinterpret_cast<uintptr_t>(fn), arg,
                                   reinterpret_cast<uintptr_t>(g_user_stack + sizeof g_user_stack));
    o.fault       = g_fault;
    o.error       = g_error;
    o.value       = o.fault < 0 ? v : 0;
    o.cs          = g_cs;
    return o;
}

}  // namespace natsume::guest::usermode
