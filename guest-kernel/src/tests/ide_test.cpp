// test=ide-read: the IDE driver (devices/ide) against the harness's disk
// image, whose every sector starts with its own LBA (8 bytes, little-endian)
// followed by bytes (offset ^ LBA) & 0xff. Identifies the disk, then reads
// 64 KiB (128 sectors) at a time, by bus-master DMA, at LBAs spread over the
// whole disk and checks every byte; reports the ticks per read.
//
// kib=N adds a sequential read of N KiB in 32 KiB requests, the same pattern
// the paravirtual disk test (blk-read) uses, with the throughput per emulated
// second and the VM exits it caused: the Native and Passthrough columns of
// `./natsume bench io`. full=0 checks only each sector's stamp there. irq=1
// completes every read by the channel's interrupt (ISA line 15) instead of
// polling; the reads report the interrupts taken.
#include "arch/idt.h"
#include "bench/latency_stats.h"
#include "devices/dma.h"
#include "devices/ide.h"
#include "tests/device_common.h"
#include "tests/results.h"

namespace natsume::guest::device_tests {
namespace {

using ull = unsigned long long;

constexpr uint32_t CHUNK_SECTORS = 128;
constexpr unsigned READS         = 16;
int64_t g_read_ticks[READS];

constexpr uint32_t SEQ_MAX_KIB = ide::MAX_SECTORS / 2;  // one READ DMA

// req_kib=K (default 32, at most 128): the size of each request, as dd's bs.
void sequential(uint8_t* buf, uint64_t kib) {
    uint64_t req_kib = arg("req_kib", 32);
    if (req_kib == 0 || req_kib > SEQ_MAX_KIB) req_kib = 32;
    const auto sectors   = static_cast<uint32_t>(req_kib * 2);
    bool full            = arg("full", 1) != 0;
    uint64_t irqs0       = ide::irq_count();
    const ide::Info& inf = ide::info();
    uint64_t requests    = kib * 2 / sectors;
    if (requests * sectors > inf.sectors) requests = inf.sectors / sectors;
    natsume_stats a{}, b{};
    bool stats   = read_stats(a);  // natively: no counters, exits reported as 0
    uint64_t bad = 0, done = 0;
    uint64_t t0 = rdtsc_ordered();
    for (uint64_t r = 0; r < requests; r++) {
        if (ide::read(r * sectors, sectors, buf) != ide::Status::Ok) break;
        bool ok = true;
        for (uint32_t k = 0; k < sectors && ok; k++) ok = disk_sector_ok(buf + k * 512, r * sectors + k, full);
        bad += !ok;
        done++;
    }
    uint64_t ticks = rdtsc_ordered() - t0;
    stats          = read_stats(b) && stats;
    uint64_t exits = stats ? foreign_exits(a, b) : 0;
    uint64_t khz   = boot::context().tsc_khz;
    uint64_t kib_s = ticks ? done * sectors / 2 * khz * 1000 / ticks : 0;
    results::report("ide-seq", done == requests && bad == 0,
                    "\"requests\":%llu,\"request_bytes\":%u,\"bytes\":%llu,\"bad\":%llu,\"ticks\":%llu,"
                    "\"kib_per_emulated_s\":%llu,\"foreign_exits\":%llu,\"counted\":%s,\"full_check\":%s,"
                    "\"interrupts\":%llu",
                    ull{done}, sectors * 512, ull{done * sectors * 512}, ull{bad}, ull{ticks}, ull{kib_s}, ull{exits},
                    stats ? "true" : "false", full ? "true" : "false", ull{ide::irq_count() - irqs0});
}

}  // namespace

void run_ide_read() {
    ide::Status st       = ide::init();
    const ide::Info& inf = ide::info();
    results::report("ide-identify", st == ide::Status::Ok,
                    "\"error\":\"%s\",\"model\":\"%s\",\"sectors\":%llu,\"bm\":\"0x%x\"", ide::status_name(st),
                    inf.model, ull{inf.sectors}, inf.bm_base);
    if (st != ide::Status::Ok) return;
    if (arg("irq", 0)) {
        ide::Status is = ide::enable_interrupts(idt::VECTOR_DISK);
        results::report("ide-irq", is == ide::Status::Ok, "\"error\":\"%s\"", ide::status_name(is));
        if (is != ide::Status::Ok) return;
    }
    uint64_t irqs0 = ide::irq_count();
    // 128 KiB: room for the largest sequential request; 64 KiB-aligned, so a
    // 64 KiB read stays inside one window (one PRD).
    auto* buf = static_cast<uint8_t*>(dma::alloc(SEQ_MAX_KIB * 1024, 0x10000));
    if (!buf) {
        results::report("ide-read", false, "\"why\":\"no DMA memory for a 128 KiB buffer\"");
        return;
    }
    unsigned good = 0, bad_data = 0;
    ide::Status first_error = ide::Status::Ok;
    for (unsigned r = 0; r < READS; r++) {
        uint64_t lba    = (inf.sectors - CHUNK_SECTORS) * r / (READS - 1);
        uint64_t t0     = rdtsc_ordered();
        ide::Status s   = ide::read(lba, CHUNK_SECTORS, buf);
        g_read_ticks[r] = static_cast<int64_t>(rdtsc_ordered() - t0);
        if (s != ide::Status::Ok) {
            if (first_error == ide::Status::Ok) first_error = s;
            continue;
        }
        bool ok = true;
        for (uint32_t k = 0; k < CHUNK_SECTORS && ok; k++) ok = disk_pattern_ok(buf + k * 512, lba + k);
        ok ? good++ : bad_data++;
    }
    stats::sort(g_read_ticks, READS);
    stats::Summary t = stats::summarize(g_read_ticks, READS);
    results::report("ide-read", good == READS,
                    "\"reads\":%u,\"good\":%u,\"bad_data\":%u,\"error\":\"%s\",\"bytes_per_read\":%u,"
                    "\"read_ticks\":{\"min\":%lld,\"p50\":%lld,\"max\":%lld},\"interrupts\":%llu",
                    READS, good, bad_data, ide::status_name(first_error), CHUNK_SECTORS * 512,
                    static_cast<long long>(t.min), static_cast<long long>(t.p50), static_cast<long long>(t.max),
                    ull{ide::irq_count() - irqs0});
    if (uint64_t kib = arg("kib", 0)) sequential(buf, kib);
    ide::disable_interrupts();
}

}  // namespace natsume::guest::device_tests
