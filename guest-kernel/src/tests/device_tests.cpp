#include "tests/device_tests.h"

#include <string.h>

#include "kernel/hypercall.h"
#include "lib/cmdline.h"
#include "tests/device_common.h"

namespace natsume::guest::device_tests {

uint64_t arg(const char* key, uint64_t fallback) { return cmdline::get_u64(boot::context().cmdline, key, fallback); }

bool read_stats(natsume_stats& out) {
    if (!in_partition()) return false;
    return hypercall::call(NATSUME_HC_STATS_READ, reinterpret_cast<uintptr_t>(&out)) == NATSUME_OK;
}

bool wait_count_change(const volatile uint64_t* counter, uint64_t seen, uint64_t deadline) {
    cpu::enable_interrupts();
    while (*counter == seen && cpu::rdtsc() < deadline) cpu::pause();
    cpu::disable_interrupts();
    return *counter != seen;
}

void busy_for(uint64_t us) {
    uint64_t end = cpu::rdtsc() + ticks_for_us(us);
    uint64_t x   = 0x9e3779b97f4a7c15ull;
    while (cpu::rdtsc() < end) {
        for (unsigned i = 0; i < 64; ++i) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            asm volatile("" : "+r"(x));
        }
    }
}

namespace {
struct Entry {
    const char* name;
    void (*run)();
};
constexpr Entry ENTRIES[] = {
    {"pci", run_pci_list},
    {"e1000", run_e1000},
    {"bench-irq", run_bench_irq},
    {"bench-exits", run_bench_exits},
    {"load-cpu", run_load_cpu},
    {"load-irq", run_load_irq},
    {"load-rx", run_load_rx},
    {"net-bench", run_net_bench},
    {"load-attack", run_load_attack},
    {"attack-pci", run_attack_pci},
    {"attack-ioapic", run_attack_ioapic},
    {"attack-ipi", run_attack_ipi},
    {"shared-line-rt", run_shared_line_rt},
    {"shared-line-gp", run_shared_line_gp},
    {"shared-line-native", run_shared_line_native},
    {"channel-ping", run_channel_ping},
    {"channel-attack", run_channel_attack},
    {"channel-flood", run_channel_flood},
    {"channel-sink", run_channel_sink},
    {"vif-echo", run_vif_echo},
    {"vif-udp", run_vif_udp},
    {"vif-stream", run_vif_stream},
    {"vif-bridge", run_vif_bridge},
    {"vif-ping", run_vif_ping},
    {"vif-host", run_vif_host},
    {"ide-read", run_ide_read},
    {"blk-read", run_blk_read},
    {"blk-serve", run_blk_serve},
};
}  // namespace

bool run(const char* name) {
    for (const Entry& e : ENTRIES) {
        if (strcmp(name, e.name) == 0) {
            e.run();
            return true;
        }
    }
    return false;
}

}  // namespace natsume::guest::device_tests
