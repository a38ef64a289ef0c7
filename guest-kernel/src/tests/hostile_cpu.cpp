// Control registers and instructions: CR0/CR4 bits, VMX instructions,
// XSETBV and XCR0, INVD/WBINVD, #AC and #DB (intercepted and reflected),
// hypercalls from ring 3.
#include <stdio.h>

#include <natsume/hypercall.h>

#include "drivers/x86/cpuid.hpp"

#include "arch/cpu.h"
#include "arch/idt.h"
#include "arch/usermode.h"
#include "kernel/console.h"
#include "tests/hostile.h"

namespace natsume::guest::hostile {
namespace {

using ull = unsigned long long;

// SDM Vol. 3A 2.5 (control registers).
constexpr uint64_t CR0_PG      = 1ull << 31;
constexpr uint64_t CR0_CD      = 1ull << 30;
constexpr uint64_t CR0_NW      = 1ull << 29;
constexpr uint64_t CR0_AM      = 1ull << 18;
constexpr uint64_t CR4_VMXE    = 1ull << 13;
constexpr uint64_t CR4_OSXSAVE = 1ull << 18;

void cr_refused(const char* name, const char* what, bool cr4, uint64_t v) {
    uint64_t before = cr4 ? probe::read_cr4() : probe::read_cr0();
    Attempt a(name, "cpu", "#GP, register unchanged");
    probe::Fault f = cr4 ? probe::write_cr4(v) : probe::write_cr0(v);
    a.delta();
    uint64_t after = cr4 ? probe::read_cr4() : probe::read_cr0();
    if (f.none() && after != before)  // it took: undo before anything else runs
        (void)(cr4 ? probe::write_cr4(before) : probe::write_cr0(before));
    a.report(faulted_with(f, probe::GP) && after == before, f,
             "\"attack\":\"%s\",\"wrote\":\"0x%llx\",\"before\":\"0x%llx\",\"after\":\"0x%llx\"", what, ull{v},
             ull{before}, ull{after});
}

void control_registers() {
    uint64_t cr4 = probe::read_cr4(), cr0 = probe::read_cr0();
    cr_refused("cr4-vmxe", "CR4.VMXE set", true, cr4 | CR4_VMXE);
    cr_refused("cr4-reserved-31", "reserved CR4 bit 31", true, cr4 | (1ull << 31));
    cr_refused("cr4-reserved-63", "reserved CR4 bit 63", true, cr4 | (1ull << 63));
    cr_refused("cr0-pg-clear", "CR0.PG cleared in 64-bit mode", false, cr0 & ~CR0_PG);
    cr_refused("cr0-nw-without-cd", "CR0.NW=1 with CD=0", false, (cr0 | CR0_NW) & ~CR0_CD);
}

struct VmxVector {
    const char* name;
    probe::Vmx insn;
};
constexpr VmxVector VMX[] = {
    {"vmx-vmxon", probe::Vmx::Vmxon},       {"vmx-vmclear", probe::Vmx::Vmclear},
    {"vmx-vmptrld", probe::Vmx::Vmptrld},   {"vmx-vmread", probe::Vmx::Vmread},
    {"vmx-vmwrite", probe::Vmx::Vmwrite},   {"vmx-vmlaunch", probe::Vmx::Vmlaunch},
    {"vmx-vmresume", probe::Vmx::Vmresume}, {"vmx-vmxoff", probe::Vmx::Vmxoff},
    {"vmx-invept", probe::Vmx::Invept},     {"vmx-invvpid", probe::Vmx::Invvpid},
};

void vmx_instructions() {
    for (const VmxVector& v : VMX) {
        Attempt a(v.name, "cpu", "#UD, refused_other +1");
        probe::Fault f = probe::vmx(v.insn);
        Delta d        = a.delta();
        a.report(faulted_with(f, probe::UD) && counts(d, 0, 0, 1), f);
    }
}

// --- XSETBV -------------------------------------------------------------------

constexpr const char* XSAVE_GROUP = "cpu";

void xsetbv_vector(const char* name, const char* expect, uint32_t index, uint64_t v, bool accepted) {
    Attempt a(name, XSAVE_GROUP, expect);
    probe::Fault f = probe::xsetbv(index, v);
    a.delta();
    uint64_t now    = 0;
    probe::Fault rf = probe::xgetbv(0, now);
    bool pass       = accepted ? f.none() && rf.none() && now == v : faulted_with(f, probe::GP);
    a.report(pass, f, "\"xcr\":%u,\"wrote\":\"0x%llx\",\"xcr0\":\"0x%llx\"", index, ull{v}, ull{now});
}

void xsave() {
    const char* names[] = {"xsetbv-no-osxsave", "xsetbv-x87",        "xsetbv-x87-sse",      "xsetbv-zero",
                           "xsetbv-sse-only",   "xsetbv-avx-no-sse", "xsetbv-unlisted-bit", "xsetbv-xcr1"};
    if (!drivers::cpuid::has_ecx1(drivers::cpuid::ecx1::XSAVE)) {
        for (const char* n : names)
            skipped(n, XSAVE_GROUP, "as the contract says with XSAVE", "CPUID.1:ECX.XSAVE[26] = 0 on this model");
        return;
    }
    uint64_t cr4 = probe::read_cr4();
    {
        Attempt a(names[0], XSAVE_GROUP, "#UD (CR4.OSXSAVE = 0)");
        probe::Fault f = probe::xsetbv(0, 1);
        a.report(faulted_with(f, probe::UD), f, "\"cr4\":\"0x%llx\"", ull{cr4});
    }
    probe::Fault osx   = probe::write_cr4(cr4 | CR4_OSXSAVE);
    bool on            = osx.none() && (probe::read_cr4() & CR4_OSXSAVE);
    cpu::CpuidResult d = cpu::cpuid(drivers::cpuid::leaf::XSAVE, 0);
    uint64_t supported = (uint64_t{d.edx} << 32) | d.eax;
    uint64_t unlisted  = 0;
    for (unsigned b = 2; b < 63 && !unlisted; ++b)
        if (!(supported & (1ull << b))) unlisted = 1ull << b;
    if (!on) {
        for (unsigned i = 1; i < 8; ++i) {
            Attempt a(names[i], XSAVE_GROUP, "needs CR4.OSXSAVE");
            a.report(false, osx, "\"reason\":\"MOV to CR4.OSXSAVE did not take\",\"cr4\":\"0x%llx\"",
                     ull{probe::read_cr4()});
        }
        return;
    }
    xsetbv_vector(names[1], "accepted, XGETBV reads 1", 0, 1, true);
    xsetbv_vector(names[2], "accepted, XGETBV reads 3", 0, 3, true);
    xsetbv_vector(names[3], "#GP (x87 bit clear)", 0, 0, false);
    xsetbv_vector(names[4], "#GP (SSE without x87)", 0, 2, false);
    xsetbv_vector(names[5], "#GP (AVX without SSE)", 0, 5, false);
    xsetbv_vector(names[6], "#GP (a bit CPUID 0xD does not list)", 0, 3 | unlisted, false);
    xsetbv_vector(names[7], "#GP (XCR index 1)", 1, 1, false);
    (void)probe::xsetbv(0, 3);
    (void)probe::write_cr4(cr4);
}

// --- cache instructions -----------------------------------------------------------

void caches() {
    {
        Attempt a("invd", "cpu", "executes (as WBINVD), the guest continues");
        probe::Fault f = probe::invd();
        a.report(f.none(), f);
    }
    {
        Attempt a("wbinvd", "cpu", "executes, the guest continues");
        probe::Fault f = probe::wbinvd();
        a.report(f.none(), f);
    }
}

// --- #DB, #AC, ring 3 ---------------------------------------------------------------

volatile uint64_t g_db_hits = 0;
volatile uint64_t g_db_rip  = 0;

void on_db(idt::InterruptFrame& f) {
    g_db_hits = g_db_hits + 1;
    g_db_rip  = f.rip;
    f.rflags &= ~(1ull << 8);  // TF off: exactly one step
}

void single_step() {
    Attempt a("db-single-step", "cpu", "the guest's #DB handler runs once (intercepted and reflected)");
    idt::set_handler(probe::DB, on_db);
    g_db_hits           = 0;
    uint64_t expect_rip = 0;
    asm volatile(
        "pushfq\n"
        "orq $0x100, (%%rsp)\n"
        "popfq\n"
        "nop\n"
        "1: leaq 1b(%%rip), %0\n"
        "nop\n"
        : "=r"(expect_rip)
        :
        : "memory", "cc");
    probe::install();  // the probe handler back on #DB
    a.report(g_db_hits == 1 && g_db_rip == expect_rip, probe::Fault{}, "\"hits\":%llu,\"rip_ok\":%s", ull{g_db_hits},
             g_db_rip == expect_rip ? "true" : "false");
}

alignas(16) volatile uint8_t g_misaligned[16];

// Ring 3: a 4-byte load from an odd address.
uint64_t user_misaligned_load(uint64_t addr) {
    uint32_t v;
    asm volatile("movl (%1), %0" : "=r"(v) : "r"(addr) : "memory");
    return v;
}

const char g_user_msg[] = "natsume-guest: hostile: this console write came from ring 3\n";

// Ring 3: a console-write hypercall; returns RAX.
uint64_t user_vmcall(uint64_t) {
    uint64_t rax = NATSUME_HC_CONSOLE_WRITE;
    asm volatile("vmcall"
                 : "+a"(rax)
                 : "D"(reinterpret_cast<uintptr_t>(g_user_msg)), "S"(sizeof g_user_msg - 1), "d"(0)
                 : "memory");
    return rax;
}

uint64_t user_nothing(uint64_t v) { return v + 1; }

void user_mode() {
    if (!usermode::setup()) {
        Attempt a("user-trampoline", "cpu", "ring 3 reachable");
        a.report(false, probe::Fault{}, "\"reason\":\"page tables\"");
        return;
    }
    {
        Attempt a("user-trampoline", "cpu", "a ring-3 function runs and returns (test infrastructure)");
        usermode::Outcome o = usermode::run(user_nothing, 41);
        a.report(o.fault < 0 && o.value == 42 && (o.cs & 3) == 3, probe::Fault{o.fault, o.error},
                 "\"value\":%llu,\"cs\":\"0x%llx\"", ull{o.value}, ull{o.cs});
    }
    {
        Attempt a("hc-user-mode", "cpu", "VMCALL at CPL 3 returns EPERM, refused_other +1");
        usermode::Outcome o = usermode::run(user_vmcall, 0);
        Delta d             = a.delta();
        auto ret            = static_cast<int64_t>(o.value);
        a.report(o.fault < 0 && ret == NATSUME_EPERM && counts(d, 0, 0, 1), probe::Fault{o.fault, o.error},
                 "\"ret\":%lld,\"cs\":\"0x%llx\"", static_cast<long long>(ret), ull{o.cs});
    }
    {
        Attempt a("ac-user-misaligned", "cpu",
                  "with CR0.AM and RFLAGS.AC a misaligned ring-3 load raises the guest's #AC once");
        uint64_t cr0    = probe::read_cr0();
        probe::Fault am = probe::write_cr0(cr0 | CR0_AM);
        bool am_on      = am.none() && (probe::read_cr0() & CR0_AM);
        usermode::Outcome o =
            usermode::run(user_misaligned_load, reinterpret_cast<uintptr_t>(&g_misaligned[1]), usermode::RFLAGS_AC);
        (void)probe::write_cr0(cr0);
        a.report(am_on && o.fault == probe::AC, probe::Fault{o.fault, o.error}, "\"cr0_am\":%s,\"error\":%llu",
                 am_on ? "true" : "false", ull{o.error});
    }
}

volatile uint64_t g_db_loop_hits = 0;
// Leaves RF clear: IRET returns to the breakpointed instruction, which
// faults again before it executes.
void on_db_loop(idt::InterruptFrame& f) {
    g_db_loop_hits = g_db_loop_hits + 1;
    f.rflags &= ~(1ull << 16);
    // Rewriting DR7 changes nothing on hardware; Bochs re-checks code
    // breakpoints only after a DR7 write, so this keeps the loop going there.
    asm volatile("mov %0, %%dr7" ::"r"(uint64_t{1}) : "memory");
}
}  // namespace

// An instruction breakpoint (DR0, R/W = 00, SDM Vol. 3A 17.2.4) whose #DB
// handler never sets RF: the same instruction faults forever and the guest
// makes no progress, each #DB an intercepted exit (the CVE-2015-8104 class
// of #DB loop, here without the help of a delivery fault). The hypervisor
// must notice and stop the partition rather than reflect forever.
void stop_db_loop() {
    printf("natsume-guest: #DB loop: instruction breakpoint with a handler that never sets RF\n");
    fflush(stdout);
    console::drain();
    idt::set_handler(probe::DB, on_db_loop);
    constexpr uint64_t DR7 = 1;  // L0, execute, length 1
    asm volatile(
        "leaq 2f(%%rip), %%rax\n\t"
        "mov %%rax, %%dr0\n\t"
        "mov %0, %%dr7\n"
        "2: nop" ::"r"(DR7)
        : "rax", "memory");
    asm volatile("mov %0, %%dr7" ::"r"(uint64_t{0}) : "memory");
    Attempt a("db-loop", "cpu", "the partition is stopped for an exception loop");
    a.report(false, probe::Fault{}, "\"reason\":\"still running after the #DB loop started\",\"hits\":%llu",
             ull{g_db_loop_hits});
}

void run_cpu() {
    control_registers();
    caches();
    single_step();
    user_mode();
    xsave();
    vmx_instructions();
}

}  // namespace natsume::guest::hostile
