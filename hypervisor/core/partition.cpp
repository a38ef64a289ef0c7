#include "core/partition.hpp"

#include <stdarg.h>

#include "core/log.hpp"
#include "core/spinlock.hpp"

namespace natsume {

Partition partitions[MAX_PARTITIONS];
uint32_t partition_count;

namespace {
// A misbehaving guest must not flood the console: the first refusals are
// logged in full, then they are only counted (and the counts printed at stop).
constexpr uint32_t REFUSALS_LOGGED = 16;
// Keeps one partition's stop report together on the console.
Spinlock report_lock;

void flush_line(Partition& p) {
    char line[sizeof p.console_line + 48];
    size_t n = log::format(line, sizeof line, "[%s] ", p.cfg.name);
    for (size_t i = 0; i < p.console_len && n + 2 < sizeof line; i++) {
        char c = p.console_line[i];
        // Keep the console one line per record: control bytes become '.'.
        line[n++] = (c >= 0x20 && c < 0x7f) || c == '\t' ? c : '.';
    }
    line[n++] = '\n';
    log::write(line, n);
    p.console_len = 0;
}
}  // namespace

void partition_console_write(Partition& p, const char* bytes, size_t len) {
    for (size_t i = 0; i < len; i++) {
        char c = bytes[i];
        if (c == '\r') continue;
        if (c == '\n') { flush_line(p); continue; }
        p.console_line[p.console_len++] = c;
        if (p.console_len == sizeof p.console_line) flush_line(p);
    }
}

void partition_print_counters(const Partition& p) {
    log::print("natsume: stats: partition %s: hypercalls=%lu refused io=%lu msr=%lu other=%lu\n",
               p.cfg.name, p.counters.hypercalls, p.counters.refused_io, p.counters.refused_msr,
               p.counters.refused_other);
    char line[400];
    size_t n = log::format(line, sizeof line, "natsume: stats: partition %s: exits", p.cfg.name);
    uint64_t total = 0;
    for (size_t r = 0; r < EXIT_REASON_SLOTS; r++) {
        if (!p.counters.exits[r]) continue;
        total += p.counters.exits[r];
        n += log::format(line + n, sizeof line - n, " %zu:%lu", r, p.counters.exits[r]);
    }
    log::print("%s total=%lu (reason:count)\n", line, total);
}

void partition_report_stop(Partition& p, const char* reason) {
    LockGuard g(report_lock);
    if (p.console_len) flush_line(p);
    log::format(p.stop_reason, sizeof p.stop_reason, "%s", reason);
    log::print("natsume: partition %s stopped: %s\n", p.cfg.name, reason);
    partition_print_counters(p);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    p.state = PartitionState::Stopped;
}

void partition_log_refusal(Partition& p, const char* fmt, ...) {
    if (p.refusals_logged >= REFUSALS_LOGGED) return;
    if (++p.refusals_logged == REFUSALS_LOGGED) {
        log::print("natsume: refuse: partition %s: further refusals are counted, not logged\n", p.cfg.name);
        return;
    }
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    log::vformat(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log::print("natsume: refuse: partition %s: %s\n", p.cfg.name, msg);
}

}  // namespace natsume
