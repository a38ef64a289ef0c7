// test=bench-irq: device-interrupt and timer latency, one NATSUME-BENCH line
// per case; test=load-cpu and test=load-irq: the other partition's load.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "drivers/x86/lapic.hpp"

#include "arch/idt.h"
#include "bench/latency_stats.h"
#include "devices/e1000.h"
#include "devices/lapic.h"
#include "kernel/hypercall.h"
#include "tests/device_common.h"
#include "tests/results.h"

namespace natsume::guest::device_tests {
namespace {

constexpr uint64_t DEFAULT_SAMPLES      = 10000;
constexpr uint64_t MAX_SAMPLES          = 1000000;
constexpr uint64_t DEFAULT_PERIOD_US    = 100;
constexpr uint64_t IRQ_TIMEOUT_US       = 100000;
constexpr uint64_t DEFAULT_LOAD_SECONDS = 5;
constexpr uint32_t MSR_TSC_DEADLINE     = 0x6e0;  // IA32_TSC_DEADLINE (SDM Vol. 3A, "TSC-Deadline Mode")

struct Case {
    const char* source;
    const char* timer_mode = nullptr;
    int64_t* samples       = nullptr;
    size_t n               = 0;
    uint64_t irqs          = 0;      // handler entries during the case
    bool have_empty        = false;  // device: entries that found no cause are counted
    uint64_t empty_irqs    = 0;
    bool have_exits        = false;
    uint64_t exits         = 0;
};

// Appends to a fixed line buffer; the line is written with one printf so a
// hypercall console never splits it.
struct LineBuf {
    char buf[2048];
    size_t len = 0;
    __attribute__((format(printf, 2, 3))) void add(const char* fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(buf + len, sizeof buf - len, fmt, ap);
        va_end(ap);
        if (n > 0) len = len + static_cast<size_t>(n) < sizeof buf ? len + static_cast<size_t>(n) : sizeof buf - 1;
    }
};

using ull = unsigned long long;
using sll = long long;

void print_case(Case& c) {
    stats::sort(c.samples, c.n);
    stats::Summary s = stats::summarize(c.samples, c.n);
    static LineBuf l;
    l.len = 0;
    l.add("NATSUME-BENCH {\"bench\":\"irq\",\"source\":\"%s\",", c.source);
    if (c.timer_mode) l.add("\"timer\":\"%s\",", c.timer_mode);
    l.add("\"samples\":%llu,\"ticks\":{\"min\":%lld,\"p50\":%lld,\"p99\":%lld,\"max\":%lld},\"tsc_khz\":%llu,",
          ull{c.n}, sll{s.min}, sll{s.p50}, sll{s.p99}, sll{s.max}, ull{boot::context().tsc_khz});
    if (c.have_exits)
        l.add("\"exits\":%llu,", ull{c.exits});
    else
        l.add("\"exits\":null,");
    if (c.have_empty) l.add("\"irqs_without_cause\":%llu,", ull{c.empty_irqs});
    l.add("\"irqs\":%llu,\"hist\":[", ull{c.irqs});
    stats::Histogram h = stats::histogram(c.samples, c.n);
    for (unsigned k = 0; k < stats::BUCKETS; ++k) l.add("%s[%lld,%llu]", k ? "," : "", sll{h.lo[k]}, ull{h.count[k]});
    l.add("]}");
    printf("%s\n", l.buf);
    fflush(stdout);
}

// Brackets a measured case with the hypervisor's counters (partition only).
struct ExitProbe {
    natsume_stats before{}, after{};
    bool ok = false;
    void start() { ok = read_stats(before); }
    void stop(Case& c) {
        c.have_exits = ok && read_stats(after);
        c.exits      = c.have_exits ? foreign_exits(before, after) : 0;
    }
};

// --- device interrupt: e1000 ICS -> INTx -> IOAPIC -> this core ---------------

// The bench's own e1000 handler. A sample is the entry of the handler run
// that acknowledged the cause the sample raised. A run that finds ICR empty
// is a second delivery of a line that was already acknowledged: Bochs' IOAPIC
// keeps an asserted level-triggered pin in its IRR and re-sends it whenever
// any other pin rises (it models no Remote IRR), so another partition's
// device can make this core take such runs. They are counted apart instead
// of overwriting the timestamp of the delivery being measured.
volatile uint32_t* g_icr      = nullptr;
volatile uint64_t g_dev_acks  = 0;
volatile uint64_t g_dev_empty = 0;
volatile uint64_t g_dev_entry = 0;

void on_bench_device(idt::InterruptFrame&) {
    uint64_t entry = idt::last_entry_tsc();
    if (*g_icr != 0) {  // read-to-clear: the acknowledge that drops INTx
        g_dev_entry = entry;
        g_dev_acks  = g_dev_acks + 1;
    } else {
        g_dev_empty = g_dev_empty + 1;
    }
    lapic::eoi();
}

// Takes an interrupt left pending in the LAPIC (a second delivery that came
// in after the wait ended), so it cannot stand in for the next sample's.
inline void drain_pending() { asm volatile("sti; nop; nop; cli" ::: "memory"); }

bool device_case(Case& c) {
    if (e1000::init() != e1000::Status::Ok ||
        e1000::enable_interrupts(idt::VECTOR_DEVICE, e1000::INT_TXDW) != e1000::Status::Ok)
        return false;
    g_icr = e1000::register_address(e1000::Reg::Icr);
    idt::set_handler(idt::VECTOR_DEVICE, on_bench_device);
    volatile uint32_t* ics = e1000::register_address(e1000::Reg::Ics);
    uint64_t first = g_dev_acks, first_empty = g_dev_empty;
    ExitProbe probe;
    probe.start();
    size_t got = 0;
    for (size_t i = 0; i < c.n; ++i) {
        drain_pending();
        uint64_t seen = g_dev_acks;
        uint64_t t0   = rdtsc_ordered();
        *ics          = e1000::INT_TXDW;
        if (!wait_count_change(&g_dev_acks, seen, cpu::rdtsc() + ticks_for_us(IRQ_TIMEOUT_US))) break;
        c.samples[got++] = static_cast<int64_t>(g_dev_entry - t0);
    }
    drain_pending();
    probe.stop(c);
    c.have_empty = true;
    c.empty_irqs = g_dev_empty - first_empty;
    c.irqs       = g_dev_acks - first + c.empty_irqs;
    e1000::disable_interrupts();
    bool complete = got == c.n;
    c.n           = got;
    return complete;
}

// --- timer: LAPIC one-shot / TSC deadline, cyclictest-style ---------------------

volatile uint64_t g_timer_irqs  = 0;
volatile uint64_t g_timer_entry = 0;

void on_bench_timer(idt::InterruptFrame&) {
    g_timer_entry = idt::last_entry_tsc();
    g_timer_irqs  = g_timer_irqs + 1;
    lapic::eoi();
}

// LAPIC timer registers written directly, so that arming a one-shot period
// is one store (xAPIC) or one WRMSR (x2APIC) right after the timestamp: a
// write of the initial count restarts the countdown (SDM Vol. 3A, "APIC
// Timer"). Offsets and MSR numbers: drivers/x86/lapic.hpp.
namespace apic                              = natsume::drivers::lapic;
constexpr uintptr_t XAPIC_ICR_LOW           = apic::offset(apic::Reg::IcrLow);
constexpr uintptr_t XAPIC_TIMER_INITIAL     = apic::offset(apic::Reg::TimerInitial);
constexpr uint32_t MSR_X2APIC_TIMER_INITIAL = apic::x2apic_msr(apic::Reg::TimerInitial);

void write_initial_count(uint32_t counts) {
    if (lapic::x2apic())
        cpu::wrmsr(MSR_X2APIC_TIMER_INITIAL, counts);
    else
        *reinterpret_cast<volatile uint32_t*>(lapic::icr_low_address() - XAPIC_ICR_LOW + XAPIC_TIMER_INITIAL) = counts;
}

enum class TimerKind : uint8_t { TscDeadline, OneShot };

struct OneShotPeriod {
    uint32_t counts;  // LAPIC timer counts at divide-by-1
    uint64_t ticks;   // the same span in TSC ticks
};

// Both conversions round to nearest: truncating both ways made the expected
// expiry one tick early whenever the two separately measured rates differed
// by one part in their last digit (e.g. 10000 vs 10001 kHz).
uint64_t div_round(uint64_t a, uint64_t b) { return (a + b / 2) / b; }

OneShotPeriod oneshot_period(uint64_t period) {
    uint64_t tsc_khz = boot::context().tsc_khz, timer_khz = lapic::timer_khz();
    uint64_t counts = timer_khz ? div_round(period * timer_khz, tsc_khz) : 0;
    if (counts == 0) counts = 1;
    return {static_cast<uint32_t>(counts), timer_khz ? div_round(counts * tsc_khz, timer_khz) : period};
}

// Arms the timer `period` ticks from now; returns the expected TSC. The
// timestamp is taken right before the one write that starts the countdown.
uint64_t arm(TimerKind kind, uint64_t period, OneShotPeriod oneshot) {
    if (kind == TimerKind::TscDeadline) {
        uint64_t expected = rdtsc_ordered() + period;
        cpu::wrmsr(MSR_TSC_DEADLINE, expected);
        return expected;
    }
    uint64_t t0 = rdtsc_ordered();
    write_initial_count(oneshot.counts);
    return t0 + oneshot.ticks;
}

bool timer_case(Case& c, TimerKind kind, uint64_t period_us) {
    c.timer_mode = kind == TimerKind::TscDeadline ? "tsc-deadline" : "oneshot";
    idt::set_handler(idt::VECTOR_BENCH_TIMER, on_bench_timer);
    uint64_t period       = ticks_for_us(period_us);
    OneShotPeriod oneshot = oneshot_period(period);
    // LVT mode, vector and divider once; the loop only restarts the count.
    if (kind == TimerKind::TscDeadline)
        lapic::arm_tsc_deadline(idt::VECTOR_BENCH_TIMER, 0);  // 0 disarms (SDM "TSC-Deadline Mode")
    else
        lapic::arm_oneshot_counts(idt::VECTOR_BENCH_TIMER, 0);  // count 0 does not start it
    uint64_t first = g_timer_irqs;
    ExitProbe probe;
    probe.start();
    size_t got = 0;
    for (size_t i = 0; i < c.n; ++i) {
        uint64_t seen     = g_timer_irqs;
        uint64_t expected = arm(kind, period, oneshot);
        if (!wait_count_change(&g_timer_irqs, seen, expected + ticks_for_us(IRQ_TIMEOUT_US))) break;
        // Signed: an early interrupt is a finding, not a zero.
        c.samples[got++] = static_cast<int64_t>(g_timer_entry - expected);
    }
    probe.stop(c);
    lapic::stop_timer();
    c.irqs        = g_timer_irqs - first;
    bool complete = got == c.n;
    c.n           = got;
    return complete;
}

int64_t* sample_buffer(size_t n) { return static_cast<int64_t*>(malloc(n * sizeof(int64_t))); }

// --- hypercall round trip: VMCALL -> hypervisor -> VMRESUME --------------------

// The cheapest hypercall that does real work (PARTITION_INFO fills 64 bytes):
// what another partition's flood costs this one's exit handling shows here.
bool hypercall_case(Case& c) {
    static natsume_partition_info info;
    ExitProbe probe;
    probe.start();
    for (size_t i = 0; i < c.n; ++i) {
        uint64_t t0 = rdtsc_ordered();
        int64_t r   = hypercall::call(NATSUME_HC_PARTITION_INFO, reinterpret_cast<uintptr_t>(&info));
        uint64_t t1 = rdtsc_ordered();
        if (r != NATSUME_OK) {
            c.n = i;
            return false;
        }
        c.samples[i] = static_cast<int64_t>(t1 - t0);
    }
    probe.stop(c);
    return true;
}

void run_bench_irq_cases() {
    uint64_t n = arg("samples", DEFAULT_SAMPLES);
    if (n == 0 || n > MAX_SAMPLES) n = DEFAULT_SAMPLES;
    int64_t* buf = sample_buffer(n);
    if (!buf) {
        results::report("bench-irq", false, "\"reason\":\"no memory for %llu samples\"",
                        static_cast<unsigned long long>(n));
        return;
    }
    Case dev{"device"};
    dev.samples = buf;
    dev.n       = n;
    bool dev_ok = device_case(dev);
    if (dev.n) print_case(dev);
    results::report("bench-irq-device", dev_ok, "\"samples\":%llu,\"device\":\"%s\"",
                    static_cast<unsigned long long>(dev.n), e1000::status_name(e1000::init()));

    // TSC-deadline where the CPU has it, and one-shot on every CPU: the
    // one-shot figures compare across CPU models, and they stand beside the
    // TSC-deadline ones where an emulator's deadline timer misbehaves.
    uint64_t period_us          = arg("period_us", DEFAULT_PERIOD_US);
    bool deadline               = lapic::has_tsc_deadline();
    constexpr TimerKind KINDS[] = {TimerKind::TscDeadline, TimerKind::OneShot};
    for (TimerKind kind : KINDS) {
        if (kind == TimerKind::TscDeadline && !deadline) continue;
        Case tim{"timer"};
        tim.samples = buf;
        tim.n       = n;
        bool tim_ok = timer_case(tim, kind, period_us);
        if (tim.n) print_case(tim);
        // The first timer line keeps its historic name; a second one says its mode.
        bool extra = kind == TimerKind::OneShot && deadline;
        results::report(extra ? "bench-irq-timer-oneshot" : "bench-irq-timer", tim_ok,
                        "\"samples\":%llu,\"timer\":\"%s\"", static_cast<unsigned long long>(tim.n), tim.timer_mode);
    }
    if (in_partition()) {
        Case hc{"hypercall"};
        hc.samples = buf;
        hc.n       = n;
        bool hc_ok = hypercall_case(hc);
        if (hc.n) print_case(hc);
        results::report("bench-hypercall", hc_ok, "\"samples\":%llu", static_cast<unsigned long long>(hc.n));
    }
    free(buf);
}

// A timer tick that only bounds a HLT (wait_seconds, run_load_rx).
void on_eoi_tick(idt::InterruptFrame&) { lapic::eoi(); }

// after_s=N: the measurement starts N seconds after the kernel gets here, so
// it falls inside a load that needs time to begin next door (Linux booting to
// its stress test). The core halts meanwhile, woken every millisecond by its
// timer, so it costs the emulator almost nothing.
void wait_seconds(uint64_t seconds) {
    if (!seconds) return;
    idt::set_handler(idt::VECTOR_TIMER, on_eoi_tick);
    lapic::start_timer(lapic::TimerMode::Periodic, idt::VECTOR_TIMER, 1000);
    const uint64_t end = cpu::rdtsc() + seconds * boot::context().tsc_khz * 1000;
    while (cpu::rdtsc() < end) asm volatile("sti; hlt; cli" ::: "memory");
    lapic::stop_timer();
}

}  // namespace

void run_bench_irq() {
    wait_seconds(arg("after_s", 0));
    // The TSC span of the whole measurement, for a harness that checks a
    // load next door covered it.
    const uint64_t window_start = cpu::rdtsc();
    run_bench_irq_cases();
    printf("NATSUME-BENCH-WINDOW {\"tsc_start\":%llu,\"tsc_end\":%llu}\n",
           static_cast<unsigned long long>(window_start), static_cast<unsigned long long>(cpu::rdtsc()));
    fflush(stdout);
}

// --- load ----------------------------------------------------------------------

// A CPU hog: arithmetic in registers, no memory traffic, no exits. Runs
// forever unless seconds= bounds it; cli=1 turns interrupts off first, so
// nothing at all brings the core back (the hostile-never-exits scenario).
void run_load_cpu() {
    uint64_t seconds   = arg("seconds", 0);
    bool no_interrupts = arg("cli", 0) != 0;
    uint64_t end       = seconds ? cpu::rdtsc() + seconds * boot::context().tsc_khz * 1000 : 0;
    uint64_t x = 0x9e3779b97f4a7c15ull, rounds = 0;
    printf("natsume-guest: load-cpu running%s%s\n", seconds ? " (bounded)" : " forever",
           no_interrupts ? " (interrupts off)" : "");
    fflush(stdout);
    if (no_interrupts) asm volatile("cli" ::: "memory");
    for (;;) {
        for (unsigned i = 0; i < 4096; ++i) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            asm volatile("" : "+r"(x));
        }
        ++rounds;
        if (end && cpu::rdtsc() >= end) break;
    }
    results::report("load-cpu", rounds > 0, "\"rounds\":%llu,\"x\":\"0x%llx\"", static_cast<unsigned long long>(rounds),
                    static_cast<unsigned long long>(x));
}

namespace {

// --- self-IPI storm ---------------------------------------------------------------

// Self-IPIs reach only this core's LAPIC: no device, no IOAPIC pin. As the
// other partition's load they separate "interrupt traffic on another core"
// from "another device line changing level" (see docs/results/irq.md).
// x2APIC: the SELF IPI register (SDM Vol. 3A, "Self IPI Register"); xAPIC:
// the ICR with destination shorthand self, fixed delivery.
constexpr uint32_t MSR_X2APIC_SELF_IPI = apic::x2apic_msr(apic::Reg::SelfIpi);
constexpr auto ICR_SHORTHAND_SELF =
    static_cast<uint32_t>(uint64_t(apic::Shorthand::Self) << apic::icr::SHORTHAND_SHIFT);
volatile uint64_t g_ipis = 0;

void on_load_ipi(idt::InterruptFrame&) {
    g_ipis = g_ipis + 1;
    lapic::eoi();
}

void send_self_ipi(uint8_t vector) {
    if (lapic::x2apic())
        cpu::wrmsr(MSR_X2APIC_SELF_IPI, vector);
    else
        *reinterpret_cast<volatile uint32_t*>(lapic::icr_low_address()) = ICR_SHORTHAND_SELF | vector;
}

void run_load_ipi(uint64_t seconds) {
    // The bench-timer vector is free here: a load partition runs no timer case.
    idt::set_handler(idt::VECTOR_BENCH_TIMER, on_load_ipi);
    uint64_t first = g_ipis, lost = 0;
    uint64_t end = cpu::rdtsc() + seconds * boot::context().tsc_khz * 1000;
    while (cpu::rdtsc() < end) {
        uint64_t seen = g_ipis;
        send_self_ipi(idt::VECTOR_BENCH_TIMER);
        if (!wait_count_change(&g_ipis, seen, cpu::rdtsc() + ticks_for_us(IRQ_TIMEOUT_US))) ++lost;
    }
    uint64_t n = g_ipis - first;
    results::report("load-irq", n > 0 && lost == 0,
                    "\"via\":\"self-ipi\",\"irqs\":%llu,\"lost\":%llu,\"per_second\":%llu",
                    static_cast<unsigned long long>(n), static_cast<unsigned long long>(lost),
                    static_cast<unsigned long long>(seconds ? n / seconds : 0));
}

}  // namespace

// An interrupt storm for seconds= (default 5): on this partition's own e1000,
// or with ipi=1 by self-IPIs (no device involved).
void run_load_irq() {
    uint64_t seconds = arg("seconds", DEFAULT_LOAD_SECONDS);
    if (arg("ipi", 0)) {
        run_load_ipi(seconds);
        return;
    }
    e1000::Status s = e1000::init();
    if (s == e1000::Status::Ok) s = e1000::enable_interrupts(idt::VECTOR_DEVICE, e1000::INT_TXDW);
    if (s != e1000::Status::Ok) {
        results::report("load-irq", false, "\"error\":\"%s\"", e1000::status_name(s));
        return;
    }
    const volatile uint64_t* irqs = e1000::irq_counter();
    uint64_t first = *irqs, lost = 0;
    uint64_t start = cpu::rdtsc(), end = start + seconds * boot::context().tsc_khz * 1000;
    while (cpu::rdtsc() < end) {
        uint64_t seen = *irqs;
        e1000::write_ics(e1000::INT_TXDW);
        if (!wait_count_change(irqs, seen, cpu::rdtsc() + ticks_for_us(IRQ_TIMEOUT_US))) ++lost;
    }
    e1000::disable_interrupts();
    uint64_t n     = *irqs - first;
    uint64_t per_s = seconds ? n / seconds : 0;
    results::report("load-irq", n > 0 && lost == 0, "\"irqs\":%llu,\"lost\":%llu,\"per_second\":%llu",
                    static_cast<unsigned long long>(n), static_cast<unsigned long long>(lost),
                    static_cast<unsigned long long>(per_s));
}

// The receiving end of an I/O load: a UDP flood from outside (the harness's
// flooder through Bochs' socket backend) into this partition's own e1000, taken
// by interrupt and dropped, for seconds= (default: an hour, i.e. until the
// measured partition has finished). Every 32 frames it says how many so far,
// so the harness can check the flood ran through the measurement.
void run_load_rx() {
    uint64_t seconds = arg("seconds", 3600);
    idt::set_handler(idt::VECTOR_TIMER, on_eoi_tick);  // bounds every HLT: the deadline is seen
    lapic::start_timer(lapic::TimerMode::Periodic, idt::VECTOR_TIMER, 1000);
    e1000::Status s = e1000::init();
    if (s == e1000::Status::Ok) s = e1000::enable_interrupts(idt::VECTOR_DEVICE, e1000::INT_RXT0);
    if (s != e1000::Status::Ok) {
        results::report("load-rx", false, "\"error\":\"%s\"", e1000::status_name(s));
        return;
    }
    static uint8_t frame[e1000::BUFFER_SIZE];
    uint64_t frames = 0, bytes = 0, end = cpu::rdtsc() + seconds * boot::context().tsc_khz * 1000;
    printf("natsume-guest: load-rx receiving\n");
    while (cpu::rdtsc() < end) {
        size_t n = e1000::receive(frame, sizeof frame);
        if (n == 0) {
            asm volatile("sti; hlt; cli" ::: "memory");  // the next frame's interrupt, or the tick
            continue;
        }
        frames++;
        bytes += n;
        if (frames % 32 == 0)
            printf("natsume-guest: load-rx frames=%llu irqs=%llu\n", static_cast<unsigned long long>(frames),
                   static_cast<unsigned long long>(e1000::irq_count()));
    }
    lapic::stop_timer();
    e1000::disable_interrupts();
    results::report("load-rx", frames > 0, "\"frames\":%llu,\"bytes\":%llu,\"irqs\":%llu",
                    static_cast<unsigned long long>(frames), static_cast<unsigned long long>(bytes),
                    static_cast<unsigned long long>(e1000::irq_count()));
}

}  // namespace natsume::guest::device_tests
