// test=bench-exits: the round trip of each common VM exit, timed from inside
// the partition (rdtsc before and after, N samples each): CPUID, the
// hypercalls, an unknown hypercall, a refused port, a refused MSR (the #GP
// the hypervisor injects and this kernel's fault handler included), a
// trapped local-APIC register, an IOAPIC register and a PCI config read.
// Each case prints one NATSUME-BENCH line with its tick statistics and the
// VM exits it caused per call (from the statistics hypercall), so a case
// that did not exit (a register the partition reaches directly) says so.
#include <stdio.h>
#include <stdlib.h>

#include <natsume/hypercall.h>

#include "drivers/pci/config.hpp"
#include "drivers/x86/ioapic.hpp"
#include "drivers/x86/lapic.hpp"
#include "drivers/x86/msr.hpp"

#include "bench/latency_stats.h"
#include "devices/ioapic.h"
#include "devices/lapic.h"
#include "devices/pci.h"
#include "kernel/hypercall.h"
#include "tests/device_common.h"
#include "tests/probe.h"
#include "tests/results.h"

namespace natsume::guest::device_tests {
namespace {

using ull                          = unsigned long long;
using sll                          = long long;
constexpr uint64_t DEFAULT_SAMPLES = 1000, MAX_SAMPLES = 100000;
constexpr uint64_t UNKNOWN_HYPERCALL = 0x7fff;
constexpr uint16_t UNOWNED_PORT      = 0x80;  // the POST port: no partition owns it

struct Case {
    const char* name;
    const char* what;
    bool (*once)();  // one exit's worth of work; false: the case cannot run here
};

natsume_partition_info g_info;
natsume_stats g_stats;
uintptr_t g_lapic_tpr;   // trapped xAPIC TPR (0: x2APIC mode, read by MSR)
uintptr_t g_ioapic_win;  // IOWIN with IOREGSEL = version
uint16_t g_cfg_bdf;

bool do_cpuid() {
    cpu::CpuidResult r = cpu::cpuid(0);
    asm volatile("" ::"r"(r.eax));
    return true;
}
bool do_hc_info() {
    return hypercall::call(NATSUME_HC_PARTITION_INFO, reinterpret_cast<uintptr_t>(&g_info)) == NATSUME_OK;
}
bool do_hc_stats() {
    return hypercall::call(NATSUME_HC_STATS_READ, reinterpret_cast<uintptr_t>(&g_stats)) == NATSUME_OK;
}
bool do_hc_unknown() { return hypercall::call(UNKNOWN_HYPERCALL) == NATSUME_ENOSYS; }
bool do_port() {
    uint8_t v = cpu::inb(UNOWNED_PORT);
    return v == 0xff;  // all ones: nobody answers
}
bool do_msr() {
    uint64_t v = 0;
    return probe::rdmsr(natsume::drivers::msr::IA32_TSC, v).vector == probe::GP;
}
bool do_lapic() {
    if (!g_lapic_tpr) {
        uint64_t v = cpu::rdmsr(natsume::drivers::lapic::x2apic_msr(natsume::drivers::lapic::Reg::Tpr));
        asm volatile("" ::"r"(v));
        return true;
    }
    uint32_t v = *reinterpret_cast<volatile uint32_t*>(g_lapic_tpr);
    asm volatile("" ::"r"(v));
    return true;
}
bool do_ioapic() {
    uint32_t v = *reinterpret_cast<volatile uint32_t*>(g_ioapic_win);
    return natsume::drivers::ioapic::pin_count(v) > 0;
}
bool do_pci() {
    uint32_t v = cpu::inl(natsume::pci::CONFIG_DATA_PORT);
    return (v & 0xffff) != 0xffff;
}

constexpr Case CASES[] = {
    {"cpuid", "CPUID leaf 0", do_cpuid},
    {"hc-partition-info", "hypercall PARTITION_INFO (fills 64 bytes)", do_hc_info},
    {"hc-stats-read", "hypercall STATS_READ (copies the counters)", do_hc_stats},
    {"hc-unknown", "hypercall with an unknown number (ENOSYS)", do_hc_unknown},
    {"io-refused", "IN from a port the partition does not own (all ones, counted)", do_port},
    {"msr-refused", "RDMSR IA32_TSC: refused, #GP injected, this kernel's #GP handler", do_msr},
    {"lapic-read", "read of the trapped xAPIC TPR (x2APIC: the TPR MSR, not intercepted)", do_lapic},
    {"ioapic-read", "read of the IOAPIC window (version register) in the trapped page", do_ioapic},
    {"pci-config-read", "IN from 0xCFC: the partition's own device's vendor/device id", do_pci},
};

bool prepare() {
    uintptr_t lapic_base =
        lapic::icr_low_address() - natsume::drivers::lapic::offset(natsume::drivers::lapic::Reg::IcrLow);
    g_lapic_tpr = lapic::x2apic() ? 0 : lapic_base + natsume::drivers::lapic::offset(natsume::drivers::lapic::Reg::Tpr);
    if (ioapic::init() != ioapic::Status::Ok) return false;
    namespace hw                                 = natsume::drivers::ioapic;
    hw::mmio(ioapic::base(), hw::Mmio::IOREGSEL) = hw::index(hw::Reg::VERSION);
    g_ioapic_win                                 = ioapic::base() + hw::offset(hw::Mmio::IOWIN);
    uint32_t gsi                                 = 0;
    if (!pci::find_assigned(0x8086, 0x100e, g_cfg_bdf, gsi)) return false;
    cpu::outl(natsume::pci::CONFIG_ADDRESS_PORT, natsume::pci::config_address(g_cfg_bdf, natsume::pci::VENDOR_ID));
    return true;
}

bool run_case(const Case& c, int64_t* samples, size_t n) {
    natsume_stats before{}, after{};
    bool counted = read_stats(before);
    for (size_t i = 0; i < n; ++i) {
        uint64_t t0 = rdtsc_ordered();
        bool ok     = c.once();
        uint64_t t1 = rdtsc_ordered();
        if (!ok) return false;
        samples[i] = static_cast<int64_t>(t1 - t0);
    }
    counted = counted && read_stats(after);
    // Exits per call, hypercalls included (they are the exit measured), less
    // the statistics hypercall that closes the window.
    uint64_t exits = counted ? after.exits_total - before.exits_total - 1 : 0;
    stats::sort(samples, n);
    stats::Summary s = stats::summarize(samples, n);
    char exits_text[24];
    if (counted)
        snprintf(exits_text, sizeof exits_text, "%llu", ull{exits});
    else
        snprintf(exits_text, sizeof exits_text, "null");
    printf(
        "NATSUME-BENCH {\"bench\":\"exits\",\"case\":\"%s\",\"what\":\"%s\",\"samples\":%llu,"
        "\"ticks\":{\"min\":%lld,\"p50\":%lld,\"p99\":%lld,\"max\":%lld},\"tsc_khz\":%llu,"
        "\"exits\":%s,\"x2apic\":%d}\n",
        c.name, c.what, ull{n}, sll{s.min}, sll{s.p50}, sll{s.p99}, sll{s.max}, ull{boot::context().tsc_khz},
        exits_text, lapic::x2apic() ? 1 : 0);
    return true;
}

}  // namespace

void run_bench_exits() {
    uint64_t n = arg("samples", DEFAULT_SAMPLES);
    if (n == 0 || n > MAX_SAMPLES) n = DEFAULT_SAMPLES;
    auto* buf = static_cast<int64_t*>(malloc(n * sizeof(int64_t)));
    probe::install();  // the refused-MSR case takes a #GP and returns from it
    bool ready = buf && in_partition() && prepare();
    if (!ready) {
        results::report("bench-exits", false, "\"reason\":\"%s\"",
                        !buf              ? "no memory for the samples"
                        : !in_partition() ? "runs only in a partition"
                                          : "no IOAPIC or no assigned e1000");
        free(buf);
        return;
    }
    unsigned done = 0;
    for (const Case& c : CASES) {
        bool ok = run_case(c, buf, n);
        if (!ok) printf("natsume-guest: bench-exits: case %s could not run\n", c.name);
        done += ok ? 1 : 0;
    }
    free(buf);
    results::report("bench-exits", done == sizeof CASES / sizeof CASES[0], "\"cases\":%u,\"samples\":%llu", done,
                    ull{n});
}

}  // namespace natsume::guest::device_tests
