// test=blk-read kib=N (frontend) with test=blk-serve (backend): a paravirtual
// disk (drivers/pv/blkif, a Xen blkif ring) over the partitions' first channel.
// The backend owns the IDE controller and serves reads from the harness's
// pattern disk (devices/ide, copied into the channel's data pages); the
// frontend, with no disk of its own, reads N KiB sequentially, four 32 KiB
// requests in flight (128 KiB), checks every sector's pattern, and reports
// the throughput per emulated second and the exits per request.
//
// hostile=1 (frontend): first posts malformed requests (a write to the
// read-only disk, an unknown operation, too many segments, a page that is no
// data page, a sector past the disk), each answered with an error.
#include <string.h>

#include <natsume/bootinfo.h>

#include "drivers/pv/blkif.hpp"

#include "arch/idt.h"
#include "devices/dma.h"
#include "devices/ide.h"
#include "devices/lapic.h"
#include "kernel/hypercall.h"
#include "tests/channel_common.h"
#include "tests/device_common.h"
#include "tests/results.h"

namespace natsume::guest::device_tests {
namespace {

using ull    = unsigned long long;
namespace pv = natsume::drivers::pv;

constexpr uint64_t MEET_US          = 5000000;
constexpr uint64_t REQUEST_US       = 200000;
constexpr uint8_t PAGES_PER_REQUEST = 8;  // 32 KiB
constexpr unsigned IN_FLIGHT        = 4;  // 128 KiB outstanding
constexpr uint32_t FRONT_DONE       = 2;
constexpr uint64_t SECTORS_PER_REQ  = PAGES_PER_REQUEST * pv::SECTORS_PER_PAGE;

// Doorbells this side rang (not reported: the exit counts say it).
uint64_t g_rung = 0;
void ring(const natsume_boot_channel& ch, bool wanted) { ring_if(ch, wanted, g_rung); }

// hostile=1: the malformed requests; returns how many were posted.
unsigned inject_malformed(const natsume_boot_channel& ch, pv::BlkFront& f) {
    blkif_front_ring& r = f.ring();
    const uint8_t ops[] = {BLKIF_OP_WRITE, BLKIF_OP_DISCARD, BLKIF_OP_READ, BLKIF_OP_READ, BLKIF_OP_READ};
    unsigned n          = 0;
    for (unsigned k = 0; k < sizeof ops; k++) {
        blkif_request* q = RING_GET_REQUEST(&r, r.req_prod_pvt);
        memset(q, 0, sizeof *q);
        q->operation     = ops[k];
        q->nr_segments   = k == 2 ? 200 : 1;
        q->id            = 1000 + k;
        q->seg[0]        = {k == 3 ? 0xfffffu : 0u, 0, 7};
        q->sector_number = k == 4 ? f.disk_sectors() : 0;
        r.req_prod_pvt++;
        n++;
    }
    int notify = 0;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&r, notify);
    ring(ch, notify != 0);
    return n;
}

void blk_frontend(const natsume_boot_channel& ch, uint64_t kib, bool hostile) {
    bool full = arg("full", 1) != 0;
    pv::BlkFront f;
    if (!f.init(reinterpret_cast<uint8_t*>(ch.gpa), ch.size)) {
        results::report("blk-read", false, "\"why\":\"channel too small for a blkif\"");
        return;
    }
    if (!wait_us([&] { return f.disk_sectors() != 0; }, MEET_US)) {
        results::report("blk-read", false, "\"why\":\"no backend attached within %llu ms\"", ull{MEET_US / 1000});
        return;
    }
    unsigned injected = 0, answered_bad = 0;
    if (hostile) {
        injected = inject_malformed(ch, f);
        blkif_response r{};
        for (unsigned got = 0; got < injected;) {
            if (!wait_us([&] { return f.response(r) || (f.arm_response() && f.response(r)); }, REQUEST_US)) break;
            got++;
            answered_bad += r.status != BLKIF_RSP_OKAY;
        }
    }
    uint64_t total = kib * 2, disk = f.disk_sectors();
    if (total > disk) total = disk - disk % SECTORS_PER_REQ;
    uint64_t requests = total / SECTORS_PER_REQ, posted = 0, done = 0, bad = 0, lost = 0;
    natsume_stats a{}, b{};
    bool ok         = read_stats(a);
    uint64_t bells0 = doorbells_received();
    uint64_t t0     = rdtsc_ordered();
    while (done < requests && lost == 0) {
        while (posted < requests && posted - done < IN_FLIGHT) {
            pv::Notify n{};
            auto slot = static_cast<grant_ref_t>((posted % IN_FLIGHT) * PAGES_PER_REQUEST);
            if (!f.read(posted, posted * SECTORS_PER_REQ, slot, PAGES_PER_REQUEST, n)) break;
            ring(ch, n.peer);
            posted++;
        }
        blkif_response r{};
        if (!wait_us([&] { return f.response(r) || (f.arm_response() && f.response(r)); }, REQUEST_US)) {
            lost++;
            break;
        }
        bool good           = r.status == BLKIF_RSP_OKAY && r.id == done;  // one backend, served in order
        const uint8_t* data = f.channel().page(static_cast<grant_ref_t>((r.id % IN_FLIGHT) * PAGES_PER_REQUEST));
        for (uint64_t k = 0; k < SECTORS_PER_REQ && good; k++)
            good = disk_sector_ok(data + k * 512, r.id * SECTORS_PER_REQ + k, full);
        bad += !good;
        done++;
    }
    uint64_t ticks                     = rdtsc_ordered() - t0;
    ok                                 = read_stats(b) && ok;
    f.channel().control()->front_state = FRONT_DONE;
    (void)hypercall::doorbell(ch.id);
    uint64_t bytes = done * SECTORS_PER_REQ * 512, khz = boot::context().tsc_khz;
    uint64_t kib_s = ticks ? bytes / 1024 * khz * 1000 / ticks : 0;
    results::report(
        "blk-read",
        ok && lost == 0 && bad == 0 && done == requests && answered_bad == injected && foreign_exits(a, b) == 0,
        "\"requests\":%llu,\"request_bytes\":%llu,\"bytes\":%llu,\"bad\":%llu,\"lost\":%llu,"
        "\"injected\":%u,\"answered_with_errors\":%u,\"ticks\":%llu,\"kib_per_emulated_s\":%llu,"
        "\"exits_per_request\":%llu.%02llu,\"foreign_exits\":%llu,\"full_check\":%s,\"interrupts\":%llu",
        ull{done}, ull{SECTORS_PER_REQ * 512}, ull{bytes}, ull{bad}, ull{lost}, injected, answered_bad, ull{ticks},
        ull{kib_s}, ull{done ? (b.exits_total - a.exits_total) / done : 0},
        ull{done ? (b.exits_total - a.exits_total) * 100 / done % 100 : 0}, ull{foreign_exits(a, b)},
        full ? "true" : "false", ull{doorbells_received() - bells0});
}

void blk_backend(const natsume_boot_channel& ch) {
    ide::Status st = ide::init();
    auto* buf      = st == ide::Status::Ok ? static_cast<uint8_t*>(dma::alloc(0x10000, 0x10000)) : nullptr;
    if (!buf) {
        results::report("blk-serve", false, "\"why\":\"no disk: %s\"", ide::status_name(st));
        return;
    }
    if (arg("irq", 0) && (st = ide::enable_interrupts(idt::VECTOR_DISK)) != ide::Status::Ok) {
        results::report("blk-serve", false, "\"why\":\"no disk interrupt: %s\"", ide::status_name(st));
        return;
    }
    uint64_t irqs0 = ide::irq_count();
    pv::BlkBack bk;
    auto* base = reinterpret_cast<uint8_t*>(ch.gpa);
    if (!wait_us([&] { return bk.attach(base, ch.size, ide::info().sectors); }, MEET_US)) {
        results::report("blk-serve", false, "\"why\":\"no blkif frontend within %llu ms\"", ull{MEET_US / 1000});
        return;
    }
    const pv::Control& c = *reinterpret_cast<const pv::Control*>(base);
    uint64_t busy_us = arg("busy", 0), halted = 0, t0 = cpu::rdtsc();
    uint64_t deadline = t0 + ticks_for_us(REQUEST_US * 4096);
    // One READ DMA per request (a PRD per segment). Straight into the
    // frontend's pages when the file lets this partition's devices reach the
    // channel; else into a DMA buffer, then copied (the controller writes only
    // this partition's own DMA memory).
    auto read = [&](uint64_t sector, const pv::BlkBack::Segment* seg, uint32_t n) {
        ide::Piece pieces[ide::MAX_PIECES];
        uint32_t bytes = 0;
        for (uint32_t i = 0; i < n && i < ide::MAX_PIECES; i++) {
            uint32_t len = seg[i].sectors * 512;
            pieces[i]    = {ch.dma_address ? ch.dma_address + (seg[i].dst - base) : dma::bus_address(buf + bytes), len};
            bytes += len;
        }
        if (n > ide::MAX_PIECES || ide::read_pieces(sector, pieces, n) != ide::Status::Ok) return false;
        for (uint32_t i = 0, at = 0; !ch.dma_address && i < n; at += seg[i].sectors * 512, i++)
            memcpy(seg[i].dst, buf + at, seg[i].sectors * 512);
        return true;
    };
    while (c.front_state != FRONT_DONE && cpu::rdtsc() < deadline) {
        pv::Served s = bk.serve_gather(read);
        ring(ch, s.notify);
        if (s.broken) break;
        if (busy_us) {
            busy_for(busy_us);
            continue;
        }
        if (s.requests == 0 && !bk.arm_requests() && c.front_state != FRONT_DONE) {
            uint64_t h = cpu::rdtsc();
            asm volatile("sti; hlt; cli" ::: "memory");
            halted += cpu::rdtsc() - h;
        }
    }
    uint64_t ticks = cpu::rdtsc() - t0;
    results::report("blk-serve", c.front_state == FRONT_DONE && bk.disk_errors == 0 && bk.broken == 0,
                    "\"served\":%llu,\"refused\":%llu,\"disk_errors\":%llu,\"broken\":%llu,\"busy_us\":%llu,"
                    "\"ticks\":%llu,\"busy_ticks\":%llu,\"busy_ticks_per_request\":%llu,\"zero_copy\":%s,"
                    "\"disk_interrupts\":%llu",
                    ull{bk.served}, ull{bk.refused}, ull{bk.disk_errors}, ull{bk.broken}, ull{busy_us}, ull{ticks},
                    ull{ticks - halted}, ull{bk.served ? (ticks - halted) / bk.served : 0},
                    ch.dma_address ? "true" : "false", ull{ide::irq_count() - irqs0});
    ide::disable_interrupts();
}

void run_blk(bool backend) {
    const natsume_boot_channel* ch = backend ? open_first_channel("blk-serve", NATSUME_CHANNEL_BACKEND)
                                             : open_first_channel("blk-read", NATSUME_CHANNEL_FRONTEND);
    if (!ch) return;
    if (backend)
        blk_backend(*ch);
    else
        blk_frontend(*ch, arg("kib", 4096), arg("hostile", 0) != 0);
}

}  // namespace

void run_blk_read() { run_blk(false); }
void run_blk_serve() { run_blk(true); }

}  // namespace natsume::guest::device_tests
