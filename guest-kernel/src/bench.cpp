// test=bench-irq: device-interrupt and timer latency, one NATSUME-BENCH line
// per case; test=load-cpu and test=load-irq: the other partition's load.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "device_common.h"
#include "e1000.h"
#include "idt.h"
#include "lapic.h"
#include "latency_stats.h"
#include "results.h"

namespace device_tests {
namespace {

constexpr uint64_t kDefaultSamples = 10000;
constexpr uint64_t kMaxSamples = 1000000;
constexpr uint64_t kDefaultPeriodUs = 100;
constexpr uint64_t kIrqTimeoutUs = 100000;
constexpr uint64_t kDefaultLoadSeconds = 5;

struct Case {
    const char* source;
    const char* timer_mode = nullptr;
    uint64_t* samples = nullptr;
    size_t n = 0;
    uint64_t irqs = 0;
    bool have_exits = false;
    uint64_t exits = 0;
};

// Appends to a fixed line buffer; the line is written with one printf so a
// hypercall console never splits it.
struct LineBuf {
    char buf[2048];
    size_t len = 0;
    __attribute__((format(printf, 2, 3))) void add(const char* fmt, ...)
    {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(buf + len, sizeof buf - len, fmt, ap);
        va_end(ap);
        if (n > 0)
            len = len + static_cast<size_t>(n) < sizeof buf ? len + static_cast<size_t>(n) : sizeof buf - 1;
    }
};

using ull = unsigned long long;

void print_case(Case& c)
{
    stats::sort(c.samples, c.n);
    stats::Summary s = stats::summarize(c.samples, c.n);
    static LineBuf l;
    l.len = 0;
    l.add("NATSUME-BENCH {\"bench\":\"irq\",\"source\":\"%s\",", c.source);
    if (c.timer_mode)
        l.add("\"timer\":\"%s\",", c.timer_mode);
    l.add("\"samples\":%llu,\"ticks\":{\"min\":%llu,\"p50\":%llu,\"p99\":%llu,\"max\":%llu},\"tsc_khz\":%llu,",
          ull{c.n}, ull{s.min}, ull{s.p50}, ull{s.p99}, ull{s.max}, ull{boot::context().tsc_khz});
    if (c.have_exits)
        l.add("\"exits\":%llu,", ull{c.exits});
    else
        l.add("\"exits\":null,");
    l.add("\"irqs\":%llu,\"hist\":[", ull{c.irqs});
    stats::Histogram h = stats::histogram(c.samples, c.n);
    for (unsigned k = 0; k < stats::kBuckets; ++k)
        l.add("%s[%llu,%llu]", k ? "," : "", ull{h.lo[k]}, ull{h.count[k]});
    l.add("]}");
    printf("%s\n", l.buf);
    fflush(stdout);
}

// Brackets a measured case with the hypervisor's counters (partition only).
struct ExitProbe {
    natsume_stats before{}, after{};
    bool ok = false;
    void start() { ok = read_stats(before); }
    void stop(Case& c)
    {
        c.have_exits = ok && read_stats(after);
        c.exits = c.have_exits ? foreign_exits(before, after) : 0;
    }
};

// rdtsc ordered against the MMIO store that follows it.
inline uint64_t rdtsc_ordered()
{
    uint32_t lo, hi;
    asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return (uint64_t{hi} << 32) | lo;
}

// --- device interrupt: e1000 ICS -> INTx -> IOAPIC -> this core ---------------

bool device_case(Case& c)
{
    if (e1000::init() != e1000::Status::Ok ||
        e1000::enable_interrupts(idt::kVectorDevice, e1000::kIntTxdw) != e1000::Status::Ok)
        return false;
    volatile uint32_t* ics = e1000::register_address(e1000::Reg::Ics);
    const volatile uint64_t* irqs = e1000::irq_counter();
    uint64_t first = *irqs;
    ExitProbe probe;
    probe.start();
    size_t got = 0;
    for (size_t i = 0; i < c.n; ++i) {
        uint64_t seen = *irqs;
        uint64_t t0 = rdtsc_ordered();
        *ics = e1000::kIntTxdw;
        if (!wait_count_change(irqs, seen, cpu::rdtsc() + ticks_for_us(kIrqTimeoutUs)))
            break;
        c.samples[got++] = idt::last_entry_tsc() - t0;
    }
    probe.stop(c);
    c.irqs = *irqs - first;
    e1000::disable_interrupts();
    bool complete = got == c.n;
    c.n = got;
    return complete;
}

// --- timer: LAPIC one-shot / TSC deadline, cyclictest-style ---------------------

volatile uint64_t g_timer_irqs = 0;

void on_bench_timer(idt::InterruptFrame&)
{
    g_timer_irqs = g_timer_irqs + 1;
    lapic::eoi();
}

// Arms the timer to fire `period` ticks from now; returns the expected TSC.
uint64_t arm(bool deadline, uint64_t period)
{
    if (deadline) {
        uint64_t expected = cpu::rdtsc() + period;
        lapic::arm_tsc_deadline(idt::kVectorBenchTimer, expected);
        return expected;
    }
    uint64_t tsc_khz = boot::context().tsc_khz, timer_khz = lapic::timer_khz();
    uint64_t counts = period * timer_khz / tsc_khz;
    if (counts == 0)
        counts = 1;
    uint64_t now = cpu::rdtsc();
    lapic::arm_oneshot_counts(idt::kVectorBenchTimer, static_cast<uint32_t>(counts));
    return now + counts * tsc_khz / timer_khz;
}

bool timer_case(Case& c, uint64_t period_us)
{
    bool deadline = lapic::has_tsc_deadline();
    c.timer_mode = deadline ? "tsc-deadline" : "oneshot";
    idt::set_handler(idt::kVectorBenchTimer, on_bench_timer);
    uint64_t period = ticks_for_us(period_us);
    uint64_t first = g_timer_irqs;
    ExitProbe probe;
    probe.start();
    size_t got = 0;
    for (size_t i = 0; i < c.n; ++i) {
        uint64_t seen = g_timer_irqs;
        uint64_t expected = arm(deadline, period);
        if (!wait_count_change(&g_timer_irqs, seen, expected + ticks_for_us(kIrqTimeoutUs)))
            break;
        uint64_t entry = idt::last_entry_tsc();
        c.samples[got++] = entry > expected ? entry - expected : 0;  // early (rounding) counts as 0
    }
    probe.stop(c);
    lapic::stop_timer();
    c.irqs = g_timer_irqs - first;
    bool complete = got == c.n;
    c.n = got;
    return complete;
}

uint64_t* sample_buffer(size_t n) { return static_cast<uint64_t*>(malloc(n * sizeof(uint64_t))); }

}  // namespace

void run_bench_irq()
{
    uint64_t n = arg("samples", kDefaultSamples);
    if (n == 0 || n > kMaxSamples)
        n = kDefaultSamples;
    uint64_t* buf = sample_buffer(n);
    if (!buf) {
        results::report("bench-irq", false, "\"reason\":\"no memory for %llu samples\"",
                        static_cast<unsigned long long>(n));
        return;
    }
    Case dev{"device"};
    dev.samples = buf;
    dev.n = n;
    bool dev_ok = device_case(dev);
    if (dev.n)
        print_case(dev);
    results::report("bench-irq-device", dev_ok, "\"samples\":%llu,\"device\":\"%s\"",
                    static_cast<unsigned long long>(dev.n), e1000::status_name(e1000::init()));

    Case tim{"timer"};
    tim.samples = buf;
    tim.n = n;
    bool tim_ok = timer_case(tim, arg("period_us", kDefaultPeriodUs));
    if (tim.n)
        print_case(tim);
    results::report("bench-irq-timer", tim_ok, "\"samples\":%llu,\"timer\":\"%s\"",
                    static_cast<unsigned long long>(tim.n), tim.timer_mode);
    free(buf);
}

// --- load ----------------------------------------------------------------------

// A CPU hog: arithmetic in registers, no memory traffic, no exits. Runs
// forever unless seconds= bounds it.
void run_load_cpu()
{
    uint64_t seconds = arg("seconds", 0);
    uint64_t end = seconds ? cpu::rdtsc() + seconds * boot::context().tsc_khz * 1000 : 0;
    uint64_t x = 0x9e3779b97f4a7c15ull, rounds = 0;
    printf("natsume-guest: load-cpu running%s\n", seconds ? " (bounded)" : " forever");
    fflush(stdout);
    for (;;) {
        for (unsigned i = 0; i < 4096; ++i) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            asm volatile("" : "+r"(x));
        }
        ++rounds;
        if (end && cpu::rdtsc() >= end)
            break;
    }
    results::report("load-cpu", rounds > 0, "\"rounds\":%llu,\"x\":\"0x%llx\"", static_cast<unsigned long long>(rounds),
                    static_cast<unsigned long long>(x));
}

// An interrupt storm on this partition's own e1000 for seconds= (default 5).
void run_load_irq()
{
    uint64_t seconds = arg("seconds", kDefaultLoadSeconds);
    e1000::Status s = e1000::init();
    if (s == e1000::Status::Ok)
        s = e1000::enable_interrupts(idt::kVectorDevice, e1000::kIntTxdw);
    if (s != e1000::Status::Ok) {
        results::report("load-irq", false, "\"error\":\"%s\"", e1000::status_name(s));
        return;
    }
    const volatile uint64_t* irqs = e1000::irq_counter();
    uint64_t first = *irqs, lost = 0;
    uint64_t start = cpu::rdtsc(), end = start + seconds * boot::context().tsc_khz * 1000;
    while (cpu::rdtsc() < end) {
        uint64_t seen = *irqs;
        e1000::write_ics(e1000::kIntTxdw);
        if (!wait_count_change(irqs, seen, cpu::rdtsc() + ticks_for_us(kIrqTimeoutUs)))
            ++lost;
    }
    e1000::disable_interrupts();
    uint64_t n = *irqs - first;
    uint64_t per_s = seconds ? n / seconds : 0;
    results::report("load-irq", n > 0 && lost == 0, "\"irqs\":%llu,\"lost\":%llu,\"per_second\":%llu",
                    static_cast<unsigned long long>(n), static_cast<unsigned long long>(lost),
                    static_cast<unsigned long long>(per_s));
}

}  // namespace device_tests
