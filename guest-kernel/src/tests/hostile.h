// The hostile-partition suite (issue 7, section 5): test=hostile
// group=<g>[,<g>...] tries every attack vector of the named groups in one
// boot and reports each as NATSUME-RESULT "hv-<vector>" with its expected
// and observed outcome (fault, refusal counters, readback). A vector passes
// only when the expected outcome happened; natively nothing can be judged,
// so the suite then reports one skipped result and touches nothing.
#pragma once
#include <stdint.h>

#include <natsume/hypercall.h>

#include "tests/probe.h"

namespace natsume::guest::hostile {

// Refusal counters between two snapshots of NATSUME_HC_STATS_READ.
struct Delta {
    uint64_t io = 0, msr = 0, other = 0, exits = 0;
    bool known = false;  // the statistics hypercall answered
    uint64_t refused() const { return io + msr + other; }
};

// One attack vector: construct (snapshot), attack, take delta(), report().
class Attempt {
public:
    Attempt(const char* name, const char* group, const char* expect);
    Delta delta();
    // Prints "hv-<name>" with group, expect, fault, the counter deltas and
    // the extra JSON members of fmt (may be nullptr).
    void report(bool pass, const probe::Fault& f, const char* fmt = nullptr, ...) __attribute__((format(printf, 4, 5)));

private:
    const char* name_;
    const char* group_;
    const char* expect_;
    natsume_stats before_{};
    Delta delta_{};
    bool measured_ = false;
};

// Common shapes: the access must fault with `vector` and add `msr`/`other`
// /`io` refusals (exact counts).
bool faulted_with(const probe::Fault& f, int vector);
bool counts(const Delta& d, uint64_t io, uint64_t msr, uint64_t other);
// A vector the CPU model cannot have: reported as passed with the reason.
void skipped(const char* name, const char* group, const char* expect, const char* reason);

// After a console flood: the hypervisor's console budget is gone, so the
// next result lines wait for it to refill (see pace_output in hostile.cpp).
void output_budget_spent();

// The groups; each reports its vectors.
void run_msr();
void run_cpu();
void run_hypercall();
void run_flood();
void run_lapic();       // trapped xAPIC page
void run_page_table();  // a paging structure inside the trapped xAPIC page
void run_x2apic();      // switch to x2APIC, then LVT and ICR filters through MSRs
void run_ioapic();
void run_io();  // legacy ports and PCI configuration space
// Ends the boot: a #DB whose delivery raises the next #DB at the same RIP
// (the CVE-2015-8104 class); the hypervisor must stop this partition.
void stop_db_loop();

void run();

}  // namespace natsume::guest::hostile
