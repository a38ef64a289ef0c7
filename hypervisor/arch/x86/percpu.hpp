// Per-core state, reached through GS (GS base = the structure; `self` points to it).
// Other cores read only its `shared` part; everything else is private to the
// owning core.
#pragma once
#include <atomic>
#include <stddef.h>
#include <stdint.h>

#include "drivers/x86/descriptors.hpp"

#include "arch/x86/guest_regs.h"

namespace natsume {
struct Partition;
}

namespace natsume::x86 {

constexpr size_t MAX_CPUS   = 16;
constexpr size_t STACK_SIZE = 16384;
static_assert(STACK_SIZE % 4096 == 0, "stacks are whole pages, each above a guard page");

// Saved by vmx_entry.S in this order; RSP/RIP/RFLAGS live in the VMCS.
struct GuestRegs {
    uint64_t rax, rcx, rdx, rbx, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15;
};
// vmx_entry.S loads GuestRegs by the offsets in guest_regs.h.
static_assert(offsetof(GuestRegs, rax) == GR_RAX && offsetof(GuestRegs, rcx) == GR_RCX &&
                  offsetof(GuestRegs, rdx) == GR_RDX && offsetof(GuestRegs, rbx) == GR_RBX &&
                  offsetof(GuestRegs, rbp) == GR_RBP && offsetof(GuestRegs, rsi) == GR_RSI &&
                  offsetof(GuestRegs, rdi) == GR_RDI && offsetof(GuestRegs, r8) == GR_R8 &&
                  offsetof(GuestRegs, r9) == GR_R9 && offsetof(GuestRegs, r10) == GR_R10 &&
                  offsetof(GuestRegs, r11) == GR_R11 && offsetof(GuestRegs, r12) == GR_R12 &&
                  offsetof(GuestRegs, r13) == GR_R13 && offsetof(GuestRegs, r14) == GR_R14 &&
                  offsetof(GuestRegs, r15) == GR_R15 && sizeof(GuestRegs) == GR_SIZE,
              "guest_regs.h and GuestRegs disagree");

// Saved by isr.S.
struct TrapFrame {
    uint64_t rax, rcx, rdx, rbx, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t vector, error_code, rip, cs, rflags, rsp, ss;
};
static_assert(offsetof(TrapFrame, vector) == 15 * 8, "isr.S pushes 15 registers above the vector");

using Tss = drivers::x86::Tss;  // SDM Vol. 3A 8.7

enum class CpuState : uint32_t {
    Absent,
    Online,
    VmxReady,
    Failed,
    Running,
    Parked,
};

// What other cores read: the boot rendezvous reads `state` and, for a failed
// core, `failure`. The owner writes `failure` first and then publishes the
// state with release; a reader loads the state with acquire before it reads
// `failure`, so it never sees a half-written sentence.
struct CpuShared {
    uint32_t index;  // position in the MADT; fixed before the core starts
    uint32_t apic_id;
    std::atomic<CpuState> state;
    char failure[160];  // why this core could not start

    void publish(CpuState s) { state.store(s, std::memory_order_release); }
    CpuState observe() const { return state.load(std::memory_order_acquire); }
};
static_assert(std::atomic<CpuState>::is_always_lock_free);

// The state of the vCPU a partition core runs that is its own, not the
// partition's (several cores may run one partition).
struct VcpuState {
    uint32_t index;           // its place in the partition's cores (0: the boot CPU)
    uint32_t xapic_icr_high;  // lapic = "trapped": ICR destination, sent with the low half
    // #AC/#DB reflected to the guest: the same vector at the same RIP again and
    // again means an exception loop (CVE-2015-5307/-8104 class).
    uint64_t reflect_rip;
    uint32_t reflect_vector, reflect_repeats;
    // The guest turned paging off (CR0.PG = 0) in compatibility mode: the CPU
    // keeps paging on through the hypervisor's identity tables (exit_cpu.cpp)
    // and window_cr3 is the CR3 the guest wrote meanwhile.
    bool paging_off, window_logged;
    uint64_t window_cr3;
};

struct alignas(4096) PerCpu {
    alignas(4096) uint8_t vmxon_region[4096];
    alignas(4096) uint8_t vmcs_region[4096];
    // Each stack sits on a guard page that the host page tables leave
    // unmapped (host_paging.cpp): an overflow faults instead of corrupting
    // the VMCS or the stack below; the double-fault handler reports it on
    // the IST stack.
    alignas(4096) uint8_t stack_guard[4096];
    alignas(4096) uint8_t stack[STACK_SIZE];  // boot and hypervisor stack
    alignas(4096) uint8_t exit_stack_guard[4096];
    alignas(4096) uint8_t exit_stack[STACK_SIZE];  // VM-exit handling
    alignas(4096) uint8_t ist_stack_guard[4096];
    alignas(4096) uint8_t ist_stack[4096];  // NMI and double fault
    PerCpu* self;
    CpuShared shared;
    // Private to the owning core from here on.
    Partition* partition;  // the partition this core runs, if any
    VcpuState vcpu;
    uint64_t gdt[6];  // null, code, data, TSS (2 slots), spare
    Tss tss;
    GuestRegs launch_regs;
    uint64_t host_nmis;
    uint64_t guest_rsp_copy;  // exit handlers' view of the guest's RSP
};

extern PerCpu cpus[MAX_CPUS];
extern uint32_t cpu_count;

inline PerCpu& this_cpu() {
    PerCpu* p;
    asm volatile("movq %%gs:%c1, %0" : "=r"(p) : "i"(offsetof(PerCpu, self)));
    return *p;
}

// Loads this core's GDT, TSS, the shared IDT and GS base.
void cpu_local_init(PerCpu& c);
uint64_t stack_top(uint8_t* stack, size_t size);

}  // namespace natsume::x86
