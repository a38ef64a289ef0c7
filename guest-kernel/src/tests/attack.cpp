// Isolation attacks, run in a partition that does not own the targets. Each
// reports what it could reach; in a partition the status asserts that the
// hypervisor refused it, natively that the probe really reaches the
// hardware (so a "refused" in a partition means something).
#include <stdio.h>
#include <string.h>

#include "arch/idt.h"
#include "devices/ioapic.h"
#include "devices/lapic.h"
#include "devices/pci.h"
#include "lib/cmdline.h"
#include "tests/device_common.h"
#include "tests/probe.h"
#include "tests/results.h"

namespace natsume::guest::device_tests {
namespace {

using ull = unsigned long long;

bool owns_bdf(uint16_t bdf) {
    const boot::Context& c = boot::context();
    for (uint32_t i = 0; i < c.device_count; ++i)
        if (c.devices[i].bdf == bdf) return true;
    return false;
}

bool owns_gsi(uint32_t gsi) {
    const boot::Context& c = boot::context();
    for (uint32_t i = 0; i < c.device_count; ++i)
        if (c.devices[i].gsi == gsi) return true;
    return false;
}

volatile uint64_t g_stray = 0;
void on_stray(idt::InterruptFrame&) {
    g_stray = g_stray + 1;
    lapic::eoi();
}

}  // namespace

// --- config space -------------------------------------------------------------------

void run_attack_pci() {
    char seen[512]   = "";
    size_t len       = 0;
    unsigned visible = 0, foreign = 0, own_visible = 0;
    for (unsigned dev = 0; dev < 32; ++dev) {
        for (unsigned fn = 0; fn < 8; ++fn) {
            uint16_t bdf = pci::make_bdf(0, dev, fn);
            pci::Function f;
            if (!pci::probe(bdf, f)) continue;
            ++visible;
            bool allowed = bdf == pci::make_bdf(0, 0, 0) || owns_bdf(bdf);
            foreign += allowed ? 0 : 1;
            own_visible += owns_bdf(bdf) ? 1 : 0;
            int n = snprintf(seen + len, sizeof seen - len, "%s\"%02x:%02x.%x %04x:%04x\"", visible > 1 ? "," : "", 0,
                             dev, fn, f.vendor, f.device);
            if (n > 0 && len + static_cast<size_t>(n) < sizeof seen) len += static_cast<size_t>(n);
        }
    }
    // Partition: nothing foreign and every own device present. Natively the
    // scan must see more than a host bridge, or it proves nothing.
    bool pass = in_partition() ? foreign == 0 && own_visible == boot::context().device_count : visible > 1;
    results::report("attack-pci", pass, "\"mode\":\"%s\",\"visible\":%u,\"foreign\":%u,\"seen\":[%s]",
                    in_partition() ? "partition" : "native", visible, foreign, seen);
}

// --- IOAPIC -----------------------------------------------------------------------

void run_attack_ioapic() {
    uint64_t pin = arg("pin", 11);
    if (in_partition() && owns_gsi(static_cast<uint32_t>(pin))) {
        results::report("attack-ioapic", false, "\"reason\":\"pin %llu belongs to this partition\"", ull{pin});
        return;
    }
    if (ioapic::init() != ioapic::Status::Ok) {
        // No IOAPIC page at all: nothing to program, which is isolation too.
        results::report("attack-ioapic", in_partition(), "\"pin\":%llu,\"ioapic\":null", ull{pin});
        return;
    }
    if (pin >= ioapic::pins()) {
        results::report("attack-ioapic", false, "\"pin\":%llu,\"pins\":%u", ull{pin}, ioapic::pins());
        return;
    }
    idt::set_handler(idt::VECTOR_ATTACK_IPI, on_stray);
    natsume_stats a{}, b{};
    bool stats               = read_stats(a);
    uint64_t before          = ioapic::read_entry(static_cast<unsigned>(pin));
    ioapic::Redirection want = ioapic::pci_intx(idt::VECTOR_ATTACK_IPI, static_cast<uint8_t>(lapic::id()));
    want.masked              = false;
    ioapic::write_entry(static_cast<unsigned>(pin), ioapic::encode(want));
    uint64_t after          = ioapic::read_entry(static_cast<unsigned>(pin));
    stats                   = stats && read_stats(b);
    ioapic::Redirection got = ioapic::decode(after);
    bool took               = !got.masked && got.vector == want.vector;
    if (!in_partition()) ioapic::write_entry(static_cast<unsigned>(pin), before);  // natively: undo at once
    bool pass = in_partition() ? !took : took;
    results::report("attack-ioapic", pass,
                    "\"mode\":\"%s\",\"pin\":%llu,\"before\":\"0x%llx\",\"after\":\"0x%llx\",\"took\":%s,"
                    "\"refused_other\":%lld",
                    in_partition() ? "partition" : "native", ull{pin}, ull{before}, ull{after}, took ? "true" : "false",
                    stats ? static_cast<long long>(b.refused_other - a.refused_other) : -1ll);
}

// --- IPIs ---------------------------------------------------------------------------

namespace {

struct IpiOutcome {
    uint64_t fault = 0;     // exception vector, 0 = none
    bool idle      = true;  // xAPIC: delivery status cleared afterwards
};

IpiOutcome send(uint32_t target, lapic::Ipi kind) {
    IpiOutcome o;
    uint64_t icr = lapic::icr_value(target, kind, idt::VECTOR_ATTACK_IPI);
    // A fault (the hypervisor's #GP) is recorded by its vector, 0 = none.
    auto vector = [](const probe::Fault& f) { return f.none() ? uint64_t{0} : static_cast<uint64_t>(f.vector); };
    if (lapic::x2apic()) {
        o.fault = vector(probe::wrmsr(lapic::icr_msr(), icr));
    } else {
        o.fault = vector(probe::store(lapic::icr_high_address(), 4, target << 24));
        if (!o.fault) o.fault = vector(probe::store(lapic::icr_low_address(), 4, static_cast<uint32_t>(icr)));
        o.idle = lapic::icr_idle(1000000);
    }
    return o;
}

}  // namespace

// Expected outcome: x2APIC partitions must be refused (ICR filtered); an
// xAPIC partition is refused only with lapic=trapped, which the partition
// file states and the command line repeats as lapic=trapped|passthrough.
void run_attack_ipi() {
    uint32_t target = static_cast<uint32_t>(arg("target", 1));
    char mode[16]   = "passthrough";
    (void)cmdline::get(boot::context().cmdline, "lapic", mode, sizeof mode);
    probe::install();  // an injected #GP resumes after the probe
    natsume_stats a{}, b{};
    bool stats             = read_stats(a);
    IpiOutcome fixed       = send(target, lapic::Ipi::Fixed);
    IpiOutcome init        = send(target, lapic::Ipi::Init);
    stats                  = stats && read_stats(b);
    uint64_t refused_msr   = stats ? b.refused_msr - a.refused_msr : 0;
    uint64_t refused_other = stats ? b.refused_other - a.refused_other : 0;
    uint64_t exits         = stats ? foreign_exits(a, b) : 0;
    bool refused           = fixed.fault || init.fault || refused_msr >= 2 || refused_other >= 2;
    bool expect_refused    = in_partition() && (lapic::x2apic() || strcmp(mode, "trapped") == 0);
    results::report("attack-ipi", refused == expect_refused,
                    "\"mode\":\"%s\",\"x2apic\":%s,\"lapic\":\"%s\",\"target\":%u,\"fixed_fault\":%llu,"
                    "\"init_fault\":%llu,\"refused_msr\":%llu,\"refused_other\":%llu,\"exits\":%llu,\"refused\":%s,"
                    "\"expected_refused\":%s",
                    in_partition() ? "partition" : "native", lapic::x2apic() ? "true" : "false",
                    lapic::x2apic() ? "x2apic" : mode, target, ull{fixed.fault}, ull{init.fault}, ull{refused_msr},
                    ull{refused_other}, ull{exits}, refused ? "true" : "false", expect_refused ? "true" : "false");
}

}  // namespace natsume::guest::device_tests
