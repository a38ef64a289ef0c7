#include "partition/partition.hpp"

#include <stdarg.h>

#include "drivers/x86/cpu.hpp"

#include "base/clock.hpp"
#include "base/log.hpp"
#include "base/spinlock.hpp"

namespace natsume {

constinit Partition partitions[MAX_PARTITIONS];  // constant-initialized: the image runs no constructors
uint32_t partition_count;

namespace {
// A misbehaving guest must not flood the console. Refusals: a burst of 16
// lines, then 4 a second (the first of each kind always). Console output: a
// burst of 16 KiB, then 4 KiB a second — below what a 115200-baud UART
// carries (11.5 KB/s), so one partition cannot crowd out the others.
constexpr uint64_t REFUSAL_BURST = 16, REFUSALS_PER_SECOND = 4;
constexpr uint64_t CONSOLE_BURST = 16384, CONSOLE_BYTES_PER_SECOND = 4096;

rate::Limit limit(uint64_t burst, uint64_t per_second) {
    return {burst, rate::ticks_per_token(clock::tsc_khz(), per_second)};
}
// Keeps one partition's stop report together on the console.
Spinlock report_lock;

void flush_line(Partition& p) {
    if (!rate::take(p.console.budget, limit(CONSOLE_BURST, CONSOLE_BYTES_PER_SECOND), x86::rdtsc(),
                    p.console.len + 1)) {
        p.console.dropped += p.console.len + 1;
        p.console.dropped_total += p.console.len + 1;
        p.console.len = 0;
        return;
    }
    if (p.console.dropped) {
        log::print("natsume: console: partition %s: %lu bytes dropped by the rate limit\n", p.name(),
                   p.console.dropped);
        p.console.dropped = 0;
    }
    char line[sizeof p.console.line + 48];
    size_t n = log::format(line, sizeof line, "[%s] ", p.name());
    for (size_t i = 0; i < p.console.len && n + 2 < sizeof line; i++) {
        char c = p.console.line[i];
        // Keep the console one line per record: control bytes become '.'.
        line[n++] = (c >= 0x20 && c < 0x7f) || c == '\t' ? c : '.';
    }
    line[n++] = '\n';
    log::write(line, n);
    p.console.len = 0;
}
}  // namespace

void partition_console_write(Partition& p, const char* bytes, size_t len) {
    for (size_t i = 0; i < len; i++) {
        char c = bytes[i];
        if (c == '\r') continue;
        if (c == '\n') {
            flush_line(p);
            continue;
        }
        p.console.line[p.console.len++] = c;
        if (p.console.len == sizeof p.console.line) flush_line(p);
    }
}

void partition_print_counters(const Partition& p) {
    log::print(
        "natsume: stats: partition %s: hypercalls=%lu refused io=%lu msr=%lu other=%lu (unlogged %lu), "
        "console bytes dropped %lu\n",
        p.name(), p.counters.hypercalls, p.counters.refused_io, p.counters.refused_msr, p.counters.refused_other,
        p.refusals.unlogged_total, p.console.dropped_total);
    uint64_t received = p.counters.doorbells_received.load(std::memory_order_relaxed);
    if (p.counters.doorbells_sent || p.counters.doorbells_refused || received)
        log::print("natsume: stats: partition %s: doorbells sent=%lu received=%lu refused=%lu\n", p.name(),
                   p.counters.doorbells_sent, received, p.counters.doorbells_refused);
    char line[400];
    size_t n       = log::format(line, sizeof line, "natsume: stats: partition %s: exits", p.name());
    uint64_t total = 0;
    for (size_t r = 0; r < EXIT_REASON_SLOTS; r++) {
        if (!p.counters.exits[r]) continue;
        total += p.counters.exits[r];
        n += log::format(line + n, sizeof line - n, " %zu:%lu", r, p.counters.exits[r]);
    }
    log::print("%s total=%lu (reason:count)\n", line, total);
}

namespace {
// Told after a partition stopped (the boot core's wake-up, set by the boot flow).
std::atomic<void (*)()> stop_listener;
}  // namespace

void partition_report_stop(Partition& p, const char* reason) {
    LockGuard g(report_lock);
    if (p.console.len) flush_line(p);
    log::format(p.stop_reason, sizeof p.stop_reason, "%s", reason);
    log::print("natsume: partition %s stopped: %s\n", p.name(), reason);
    partition_print_counters(p);
    p.publish_state(PartitionState::Stopped);                           // the reason is visible before the state
    if (auto fn = stop_listener.load(std::memory_order_seq_cst)) fn();  // see Partition::state
}

void partition_set_stop_listener(void (*fn)()) { stop_listener.store(fn, std::memory_order_seq_cst); }

void partition_refuse(Partition& p, Refusal kind, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    partition_vrefuse(p, kind, fmt, ap);
    va_end(ap);
}

void partition_vrefuse(Partition& p, Refusal kind, const char* fmt, va_list ap) {
    if (kind == Refusal::Msr)
        p.counters.refused_msr++;
    else if (kind == Refusal::Io)
        p.counters.refused_io++;
    else
        p.counters.refused_other++;
    RefusalLog& r = p.refusals;
    uint32_t bit  = 1u << static_cast<unsigned>(kind);
    bool first    = !(r.kinds_seen & bit);
    r.kinds_seen |= bit;
    bool budget = rate::take(r.budget, limit(REFUSAL_BURST, REFUSALS_PER_SECOND), x86::rdtsc(), 1);
    if (!first && !budget) {
        r.unlogged++;
        r.unlogged_total++;
        return;
    }
    char msg[256];
    log::vformat(msg, sizeof msg, fmt, ap);
    if (r.unlogged) {
        log::print("natsume: refuse: partition %s: %s (and %lu refusals counted, not logged)\n", p.name(), msg,
                   r.unlogged);
        r.unlogged = 0;
    } else {
        log::print("natsume: refuse: partition %s: %s\n", p.name(), msg);
    }
}

void partition_refuse_port(Partition& p, uint16_t port, const char* fmt, ...) {
    uint8_t& byte   = p.refusals.io_port_logged[port / 8];
    const auto mask = static_cast<uint8_t>(1u << (port % 8));
    if (byte & mask) {
        p.counters.refused_io++;
        p.refusals.unlogged++;
        p.refusals.unlogged_total++;
        return;
    }
    byte = static_cast<uint8_t>(byte | mask);
    va_list ap;
    va_start(ap, fmt);
    partition_vrefuse(p, Refusal::Io, fmt, ap);
    va_end(ap);
}

}  // namespace natsume
