#include "tests/hostile.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arch/cpu.h"
#include "boot/boot.h"
#include "lib/cmdline.h"
#include "tests/device_common.h"
#include "tests/results.h"
#include "tests/tests.h"

namespace natsume::guest::hostile {
namespace {

using ull = unsigned long long;

bool snapshot(natsume_stats& s) { return device_tests::read_stats(s); }

// The hypervisor rate-limits each partition's console (a burst, then a few
// KiB a second) and drops whole lines beyond it, silently for the caller.
// This suite prints far more than the burst, so it paces its own result
// lines with a more conservative bucket: none of them is lost.
constexpr uint64_t PACE_BURST = 14336, PACE_BYTES_PER_SECOND = 3584;
uint64_t g_pace_tokens = PACE_BURST;
uint64_t g_pace_last   = 0;

void pace_output(uint64_t bytes) {
    const uint64_t khz            = boot::context().tsc_khz;
    const uint64_t ticks_per_byte = khz * 1000 / PACE_BYTES_PER_SECOND + 1;
    if (g_pace_last == 0) g_pace_last = cpu::rdtsc();
    for (;;) {
        uint64_t now    = cpu::rdtsc();
        uint64_t earned = (now - g_pace_last) / ticks_per_byte;
        if (earned) {
            g_pace_tokens = earned >= PACE_BURST - g_pace_tokens ? PACE_BURST : g_pace_tokens + earned;
            g_pace_last += earned * ticks_per_byte;
        }
        if (g_pace_tokens >= bytes || g_pace_tokens == PACE_BURST) {
            g_pace_tokens -= g_pace_tokens >= bytes ? bytes : g_pace_tokens;
            return;
        }
        cpu::pause();
    }
}

// Availability: end the boot by a fault the hypervisor must stop this
// partition for (with a reason), e.g. right after a console flood.
void stop_triple() { (void)tests::run("triple-fault"); }
void stop_ept() { (void)tests::run("read-outside"); }

struct Group {
    const char* name;
    void (*run)();
};

constexpr Group GROUPS[] = {
    {"msr", run_msr},
    {"cpu", run_cpu},
    {"hypercall", run_hypercall},
    {"flood", run_flood},
    {"lapic", run_lapic},
    {"x2apic", run_x2apic},
    {"ioapic", run_ioapic},
    {"io", run_io},
    {"page-table", run_page_table},
    {"stop-triple", stop_triple},
    {"stop-ept", stop_ept},
    {"stop-db-loop", stop_db_loop},
};

bool run_group(const char* name, size_t len) {
    for (const Group& g : GROUPS) {
        if (strlen(g.name) == len && strncmp(g.name, name, len) == 0) {
            printf("natsume-guest: hostile: group %s\n", g.name);
            fflush(stdout);
            g.run();
            return true;
        }
    }
    return false;
}

}  // namespace

void output_budget_spent() {
    g_pace_tokens = 0;
    g_pace_last   = cpu::rdtsc();
}

Attempt::Attempt(const char* name, const char* group, const char* expect)
    : name_(name), group_(group), expect_(expect) {
    delta_.known = snapshot(before_);
}

Delta Attempt::delta() {
    natsume_stats after{};
    if (delta_.known && snapshot(after)) {
        delta_.io    = after.refused_io - before_.refused_io;
        delta_.msr   = after.refused_msr - before_.refused_msr;
        delta_.other = after.refused_other - before_.refused_other;
        delta_.exits = device_tests::foreign_exits(before_, after);
    } else {
        delta_.known = false;
    }
    measured_ = true;
    return delta_;
}

void Attempt::report(bool pass, const probe::Fault& f, const char* fmt, ...) {
    if (!measured_) delta();
    char extra[384] = "";
    if (fmt) {
        extra[0] = ',';
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(extra + 1, sizeof extra - 1, fmt, ap);
        va_end(ap);
    }
    char test[64];
    snprintf(test, sizeof test, "hv-%s", name_);
    // the fixed part (test, status and counter fields) stays below 160 bytes
    pace_output(strlen(test) + strlen(extra) + strlen(expect_) + strlen(group_) + 160);
    results::report(test, pass && delta_.known,
                    "\"group\":\"%s\",\"expect\":\"%s\",\"fault\":\"%s\",\"refused_io\":%llu,\"refused_msr\":%llu,"
                    "\"refused_other\":%llu,\"exits\":%llu%s",
                    group_, expect_, probe::name(f), ull{delta_.io}, ull{delta_.msr}, ull{delta_.other},
                    ull{delta_.exits}, extra);
}

bool faulted_with(const probe::Fault& f, int vector) { return f.vector == vector; }

bool counts(const Delta& d, uint64_t io, uint64_t msr, uint64_t other) {
    return d.known && d.io == io && d.msr == msr && d.other == other;
}

void skipped(const char* name, const char* group, const char* expect, const char* reason) {
    char test[64];
    snprintf(test, sizeof test, "hv-%s", name);
    pace_output(strlen(test) + strlen(group) + strlen(expect) + strlen(reason) + 100);
    results::report(test, true, "\"group\":\"%s\",\"expect\":\"%s\",\"skipped\":true,\"reason\":\"%s\"", group, expect,
                    reason);
}

void run() {
    if (!device_tests::in_partition()) {
        // Every vector is judged against the hypervisor's answer; natively the
        // same instructions would reset the machine or reprogram its APIC.
        results::report("hostile", true, "\"skipped\":true,\"reason\":\"judged only in a partition\"");
        return;
    }
    probe::install();
    char groups[128] = "";
    if (!cmdline::get(boot::context().cmdline, "group", groups, sizeof groups)) {
        results::report("hostile", false, "\"reason\":\"no group= on the command line\"");
        return;
    }
    for (const char* p = groups; *p;) {
        const char* end = strchr(p, ',');
        size_t len      = end ? static_cast<size_t>(end - p) : strlen(p);
        if (!run_group(p, len))
            results::report("hostile", false, "\"reason\":\"unknown group '%.*s'\"", static_cast<int>(len), p);
        p += len + (end ? 1 : 0);
    }
    pace_output(64);  // room for NATSUME-DONE
}

}  // namespace natsume::guest::hostile
