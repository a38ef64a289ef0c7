#include "tests/tests.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <natsume/hypercall.h>

#include "drivers/x86/cpuid.hpp"

#include "arch/cpu.h"
#include "arch/exceptions.h"
#include "arch/idt.h"
#include "boot/boot.h"
#include "devices/lapic.h"
#include "kernel/console.h"
#include "kernel/hypercall.h"
#include "lib/timer_math.h"
#include "tests/device_tests.h"
#include "tests/hostile.h"
#include "tests/results.h"

namespace natsume::guest::tests {
namespace {

bool in_partition() { return boot::context().mode == boot::Mode::Partition; }

// --- LAPIC timer --------------------------------------------------------------

volatile uint64_t g_timer_irqs   = 0;
volatile uint64_t g_last_irq_tsc = 0;

void on_timer(idt::InterruptFrame&) {
    g_last_irq_tsc = cpu::rdtsc();
    g_timer_irqs   = g_timer_irqs + 1;
    lapic::eoi();
}

constexpr uint64_t TICK_PERIOD_US = 10000;

// The vector attack-ipi sends. Another partition whose xAPIC is passed
// through can IPI this core (the documented risk of lapic = "passthrough");
// counting such interrupts instead of dying on an unexpected vector lets a
// test report the risk and show that the core keeps running.
volatile uint64_t g_stray_ipis = 0;

void on_stray_ipi(idt::InterruptFrame&) {
    g_stray_ipis = g_stray_ipis + 1;
    lapic::eoi();
}

// Waits with interrupts on until the interrupt count passes `seen`, or the
// TSC deadline `us` from now. Returns whether it passed.
bool wait_irq_after(uint64_t seen, uint64_t us) {
    uint64_t tsc_khz  = boot::context().tsc_khz;
    uint64_t deadline = cpu::rdtsc() + tsc_khz * us / 1000;
    cpu::enable_interrupts();
    while (g_timer_irqs <= seen && cpu::rdtsc() < deadline) cpu::pause();
    cpu::disable_interrupts();
    return g_timer_irqs > seen;
}

void oneshot() {
    idt::set_handler(idt::VECTOR_TIMER, on_timer);
    uint64_t before = g_timer_irqs;
    uint64_t start  = cpu::rdtsc();
    lapic::start_timer(lapic::TimerMode::OneShot, idt::VECTOR_TIMER, TICK_PERIOD_US);
    bool fired          = wait_irq_after(before, 10 * TICK_PERIOD_US);
    uint64_t latency_us = timer_math::tsc_to_us(g_last_irq_tsc - start, boot::context().tsc_khz);
    // A one-shot timer must stay quiet afterwards.
    bool extra = wait_irq_after(before + 1, 3 * TICK_PERIOD_US);
    lapic::stop_timer();
    results::report("lapic-oneshot", fired && !extra, "\"fired\":%s,\"extra\":%s,\"us\":%llu", fired ? "true" : "false",
                    extra ? "true" : "false", static_cast<unsigned long long>(fired ? latency_us : 0));
}

// --- exceptions -----------------------------------------------------------------

volatile uint64_t g_bp_hits = 0;
volatile uint64_t g_bp_rip  = 0;

// Clobbers xmm0: the entry code must restore the interrupted code's SSE state.
void on_breakpoint(idt::InterruptFrame& f) {
    g_bp_hits = g_bp_hits + 1;
    g_bp_rip  = f.rip;
    asm volatile("pxor %%xmm0, %%xmm0" ::: "xmm0");
}

void exceptions_test() {
    idt::set_handler(exceptions::BREAKPOINT, on_breakpoint);
    const uint64_t pattern = 0x1122334455667788ull;
    uint64_t after         = 0;
    uint64_t resume        = 0;
    asm volatile(
        "movq %[p], %%xmm0\n"
        "int3\n"
        "1: leaq 1b(%%rip), %[r]\n"
        "movq %%xmm0, %[a]\n"
        : [a] "=r"(after), [r] "=r"(resume)
        : [p] "r"(pattern)
        : "xmm0", "memory");
    idt::set_handler(exceptions::BREAKPOINT, nullptr);
    bool ok = g_bp_hits == 1 && g_bp_rip == resume && after == pattern;
    results::report("exceptions", ok, "\"vector\":3,\"hits\":%llu,\"rip_ok\":%s,\"sse_preserved\":%s",
                    static_cast<unsigned long long>(g_bp_hits), g_bp_rip == resume ? "true" : "false",
                    after == pattern ? "true" : "false");
}

// --- newlib -------------------------------------------------------------------

bool check_snprintf() {
    char buf[64];
    snprintf(buf, sizeof buf, "%d %x %f %s", -42, 0xbeefu, 3.25, "ok");
    return strcmp(buf, "-42 beef 3.250000 ok") == 0;
}

bool check_heap() {
    constexpr size_t BIG = 1 << 20;
    auto* a              = static_cast<unsigned char*>(malloc(BIG));
    auto* b              = static_cast<unsigned char*>(malloc(100));
    if (!a || !b) return false;
    memset(a, 0x5a, BIG);
    memset(b, 0xa5, 100);
    bool ok = a[0] == 0x5a && a[BIG - 1] == 0x5a && b[99] == 0xa5;
    free(a);
    free(b);
    // More than the heap can hold must fail cleanly, not crash.
    void* huge  = malloc(boot::context().ram_top);
    ok          = ok && huge == nullptr;
    void* again = malloc(BIG);
    ok          = ok && again != nullptr;
    free(again);
    return ok;
}

bool check_strtoul() {
    char* end = nullptr;
    return strtoul("0x1f", nullptr, 16) == 31 && strtoul("4294967295", nullptr, 10) == 4294967295ul &&
           strtoul("123abc", &end, 10) == 123 && strcmp(end, "abc") == 0;
}

bool check_libm() {
    volatile double two = 2.0;  // keep the call at run time
    double r            = sqrt(two);
    return fabs(r - 1.4142135623730951) < 1e-12 && fabs(sin(0.0)) < 1e-15;
}

void newlib_test() {
    bool fmt  = check_snprintf();
    bool heap = check_heap();
    bool conv = check_strtoul();
    bool m    = check_libm();
    results::report("newlib", fmt && heap && conv && m, "\"snprintf\":%s,\"malloc\":%s,\"strtoul\":%s,\"libm\":%s",
                    fmt ? "true" : "false", heap ? "true" : "false", conv ? "true" : "false", m ? "true" : "false");
}

// --- isolation ------------------------------------------------------------------

void triple_fault() {
    printf("natsume-guest: loading an empty IDT and executing ud2\n");
    fflush(stdout);
    console::drain();  // a UART loses what is still in flight at the reset
    idt::load_empty();
    asm volatile("ud2");
    results::report("triple-fault", false, "\"reason\":\"still running after ud2\"");
}

void read_outside() {
    uint64_t gpa = boot::context().ram_size + (1u << 20);
    printf("natsume-guest: reading gpa 0x%llx outside RAM\n", static_cast<unsigned long long>(gpa));
    fflush(stdout);
    uint8_t v = *reinterpret_cast<volatile uint8_t*>(gpa);
    // In a partition the read must have stopped us; natively it simply reads.
    results::report("read-outside", !in_partition(), "\"value\":%u,\"mode\":\"%s\"", v,
                    in_partition() ? "partition" : "native");
}

// An unhandled #UD: the exception report and the stop path are the test;
// the harness checks the report, so reaching the line below is a failure.
void fault_report() {
    printf("natsume-guest: executing ud2 with no handler\n");
    fflush(stdout);
    asm volatile("ud2");
    results::report("fault-report", false, "\"reason\":\"ud2 returned\"");
}

// --- hypercalls -------------------------------------------------------------------

bool has_natsume_signature() {
    cpu::CpuidResult r = cpu::cpuid(NATSUME_CPUID_BASE);
    return r.ebx == NATSUME_CPUID_SIG_EBX && r.ecx == NATSUME_CPUID_SIG_ECX && r.edx == NATSUME_CPUID_SIG_EDX;
}

void hypercalls() {
    if (!in_partition()) {
        // VMCALL outside VMX operation is #UD: nothing to test natively.
        results::report("hypercalls", false, "\"reason\":\"not running in a partition\"");
        return;
    }
    const boot::Context& c = boot::context();
    int64_t r              = hypercall::call(0xdead);
    results::report("hc-unknown", r == NATSUME_ENOSYS, "\"ret\":%lld", static_cast<long long>(r));

    natsume_partition_info info{};
    r         = hypercall::call(NATSUME_HC_PARTITION_INFO, reinterpret_cast<uintptr_t>(&info));
    bool same = r == NATSUME_OK && strncmp(info.name, c.name, sizeof info.name) == 0 &&
                info.apic_id == c.loader_apic_id && info.apic_id == lapic::id() && info.ram_size == c.ram_size;
    results::report("hc-partition-info", same, "\"ret\":%lld,\"name\":\"%.31s\",\"apic_id\":%u,\"ram_size\":%llu",
                    static_cast<long long>(r), info.name, info.apic_id, static_cast<unsigned long long>(info.ram_size));

    r = hypercall::call(NATSUME_HC_CONSOLE_WRITE, c.ram_size + 0x1000, 16);
    results::report("hc-console-efault", r == NATSUME_EFAULT, "\"ret\":%lld", static_cast<long long>(r));

    cpu::CpuidResult sig = cpu::cpuid(NATSUME_CPUID_BASE);
    results::report("cpuid-signature", has_natsume_signature(), "\"max_leaf\":\"0x%x\"", sig.eax);

    uint32_t ecx = cpu::cpuid(drivers::cpuid::leaf::FEATURES).ecx;
    results::report("cpuid-no-vmx", !(ecx & drivers::cpuid::ecx1::VMX), "\"ecx\":\"0x%x\"", ecx);
}

struct Test {
    const char* name;
    void (*run)();
};

constexpr Test TESTS[] = {
    {"triple-fault", triple_fault},  {"read-outside", read_outside}, {"hypercalls", hypercalls},
    {"exceptions", exceptions_test}, {"newlib", newlib_test},        {"lapic-oneshot", oneshot},
    {"fault-report", fault_report},  {"hostile", hostile::run},
};

void all_native_safe() {
    exceptions_test();
    newlib_test();
    oneshot();
    lapic_periodic(5);
}

}  // namespace

void lapic_periodic(uint64_t ticks) {
    idt::set_handler(idt::VECTOR_TIMER, on_timer);
    idt::set_handler(idt::VECTOR_ATTACK_IPI, on_stray_ipi);
    uint32_t apic  = lapic::id();
    uint64_t first = g_timer_irqs;
    uint64_t start = cpu::rdtsc();
    lapic::start_timer(lapic::TimerMode::Periodic, idt::VECTOR_TIMER, TICK_PERIOD_US);
    uint64_t got = 0;
    while (got < ticks && wait_irq_after(first + got, 10 * TICK_PERIOD_US)) {
        got = g_timer_irqs - first;
        printf("natsume-guest: tick %llu apic_id=%u\n", static_cast<unsigned long long>(got), apic);
    }
    uint64_t elapsed = g_last_irq_tsc - start;
    lapic::stop_timer();
    uint64_t period_us = got ? timer_math::tsc_to_us(elapsed, boot::context().tsc_khz) / got : 0;
    results::report("lapic-timer", got >= ticks, "\"ticks\":%llu,\"period_us\":%llu,\"stray_ipis\":%llu",
                    static_cast<unsigned long long>(got), static_cast<unsigned long long>(period_us),
                    static_cast<unsigned long long>(g_stray_ipis));
}

bool run(const char* name) {
    if (strcmp(name, "all") == 0) {
        all_native_safe();
        return true;
    }
    for (const Test& t : TESTS) {
        if (strcmp(name, t.name) == 0) {
            t.run();
            return true;
        }
    }
    return device_tests::run(name);
}

}  // namespace natsume::guest::tests
