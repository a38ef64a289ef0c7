// Helpers shared by the device tests.
#pragma once
#include <stdint.h>

#include <natsume/hypercall.h>

#include "arch/cpu.h"
#include "boot/boot.h"

namespace natsume::guest::device_tests {

inline bool in_partition() { return boot::context().mode == boot::Mode::Partition; }
inline uint64_t ticks_for_us(uint64_t us) { return boot::context().tsc_khz * us / 1000; }
uint64_t arg(const char* key, uint64_t fallback);

// rdtsc ordered against the accesses around it (lfence first).
inline uint64_t rdtsc_ordered() {
    uint32_t lo, hi;
    asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return (uint64_t{hi} << 32) | lo;
}

// The harness's pattern disk (qemu/natsume_emu/disk.py): every sector starts
// with its LBA (8 bytes, little-endian), then bytes (offset ^ LBA) & 0xff.
inline bool disk_stamp_ok(const uint8_t* s, uint64_t lba) {
    uint64_t got = 0;
    for (int i = 7; i >= 0; i--) got = (got << 8) | s[i];
    return got == lba;
}
inline bool disk_pattern_ok(const uint8_t* s, uint64_t lba) {
    if (!disk_stamp_ok(s, lba)) return false;
    for (uint32_t i = 8; i < 512; i++)
        if (s[i] != static_cast<uint8_t>((i ^ lba) & 0xff)) return false;
    return true;
}

// A loaded backend (busy=US): after every pass over its rings it computes for
// `us` microseconds and never halts, as a backend sharing its core with a CPU
// hog gets the core back only every so often.
void busy_for(uint64_t us);

// full=0 on a test's command line: check only each sector's stamp (which
// sector arrived). The whole pattern costs about 3,400 ticks a sector, far
// more than reading it, so a throughput benchmark checks the stamps.
inline bool disk_sector_ok(const uint8_t* s, uint64_t lba, bool full) {
    return full ? disk_pattern_ok(s, lba) : disk_stamp_ok(s, lba);
}

// NATSUME_HC_STATS_READ; false natively or when the call fails.
bool read_stats(natsume_stats& out);
// VM exits between two snapshots that were not hypercalls, i.e. exits the
// measured code caused (0 on a zero-exit path).
inline uint64_t foreign_exits(const natsume_stats& a, const natsume_stats& b) {
    return (b.exits_total - a.exits_total) - (b.hypercalls - a.hypercalls);
}

// Waits with interrupts enabled until *counter differs from `seen` or the
// TSC passes `deadline`; interrupts are off again on return.
bool wait_count_change(const volatile uint64_t* counter, uint64_t seen, uint64_t deadline);

// Waits with interrupts enabled until `done()` returns true or `us` pass;
// interrupts are off again on return. `done` may consume what it finds (it
// is not called again after it returned true).
template <typename Done>
bool wait_us(Done done, uint64_t us) {
    uint64_t deadline = cpu::rdtsc() + ticks_for_us(us);
    bool ok           = false;
    cpu::enable_interrupts();
    while (!(ok = done()) && cpu::rdtsc() < deadline) cpu::pause();
    cpu::disable_interrupts();
    return ok;
}

void run_e1000();
void run_pci_list();
void run_bench_irq();
void run_bench_exits();
void run_load_cpu();
void run_load_irq();
void run_load_rx();
void run_net_bench();
void run_load_attack();
void run_attack_pci();
void run_attack_ioapic();
void run_attack_ipi();
void run_shared_line_rt();
void run_shared_line_gp();
void run_shared_line_native();
void run_channel_ping();
void run_channel_attack();
void run_channel_flood();
void run_channel_sink();
void run_vif_echo();
void run_vif_udp();
void run_vif_stream();
void run_vif_bridge();
void run_vif_ping();
void run_vif_host();
void run_ide_read();
void run_blk_read();
void run_blk_serve();

}  // namespace natsume::guest::device_tests
