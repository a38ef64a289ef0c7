// A paravirtual disk over one channel: a Xen blkif ring (drivers/pv/xen_rings.hpp)
// in the channel layout of channel_layout.hpp (one ring page). BlkFront is
// the partition that reads the disk, BlkBack the one that owns it and serves
// requests through the checks of request_check.hpp. As with netif, neither
// end rings a doorbell itself. Pure memory code, host-tested.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "drivers/pv/backend.hpp"
#include "drivers/pv/channel_layout.hpp"
#include "drivers/pv/request_check.hpp"
#include "drivers/pv/xen_rings.hpp"

namespace natsume::drivers::pv {

struct BlkChannel {
    uint8_t* base = nullptr;
    Layout layout = {};
    Control* control() const { return reinterpret_cast<Control*>(base); }
    blkif_sring* ring() const { return reinterpret_cast<blkif_sring*>(base + layout.ring_offset[0]); }
    uint8_t* page(grant_ref_t ref) const { return base + layout.data_offset + size_t{ref} * PAGE_SIZE; }
};

class BlkFront {
public:
    bool init(uint8_t* base, uint64_t size);
    // The disk's size the backend published (0 until it attached).
    uint64_t disk_sectors() const;
    // Posts a read of `pages` whole pages (8 sectors each, at most 11) from
    // `sector` into data pages first_page .. first_page + pages - 1.
    bool read(uint64_t id, uint64_t sector, grant_ref_t first_page, uint8_t pages, Notify& n);
    // The next response, false when none has arrived; a response the ring
    // cannot hold (a broken backend index) is counted and not read.
    bool response(blkif_response& out);
    bool arm_response();

    const BlkChannel& channel() const { return ch_; }
    blkif_front_ring& ring() { return ring_; }  // for tests that misbehave on purpose
    uint64_t errors = 0;

private:
    BlkChannel ch_;
    blkif_front_ring ring_{};
};

class BlkBack {
public:
    // Attaches to a channel a blkif frontend initialised; publishes the disk's
    // size in sectors.
    bool attach(uint8_t* base, uint64_t size, uint64_t disk_sectors);
    // Serves every posted request: `read(sector, count, dst)` for each segment
    // of a good READ (false = the disk failed); WRITE and everything else the
    // checks refuse are answered with an error and counted.
    template <typename Read>
    Served serve(Read read);
    // The same with the whole request at once, for a disk that reads into
    // several buffers with one command (scatter-gather):
    // `read_request(sector, segments, n)`, the segments in disk order.
    struct Segment {
        uint8_t* dst;
        uint32_t sectors;
    };
    template <typename ReadRequest>
    Served serve_gather(ReadRequest read_request);
    bool arm_requests();

    uint64_t served = 0, refused = 0, disk_errors = 0, broken = 0;

private:
    BlkChannel ch_;
    blkif_back_ring ring_{};
    uint64_t sectors_ = 0;
};

template <typename Read>
Served BlkBack::serve(Read read) {
    return serve_gather([&](uint64_t sector, const Segment* seg, uint32_t n) {
        bool ok = true;
        for (uint32_t i = 0; i < n && ok; i++) {
            ok = read(sector, seg[i].sectors, seg[i].dst);
            sector += seg[i].sectors;
        }
        return ok;
    });
}

template <typename ReadRequest>
Served BlkBack::serve_gather(ReadRequest read_request) {
    Served s = serve_requests<blkif_request, blkif_response>(ring_, [&](const blkif_request& r) {
        blkif_response rsp{};
        rsp.id        = r.id;
        rsp.operation = r.operation;
        BlkVerdict v  = check_blk(r, ch_.layout.data_pages, sectors_);
        if (v == BlkVerdict::Ok && r.operation != BLKIF_OP_READ) v = BlkVerdict::BadOperation;  // read-only disk
        if (v != BlkVerdict::Ok) {
            refused++;
            rsp.status = blk_status(v);
            return rsp;
        }
        Segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
        for (uint8_t i = 0; i < r.nr_segments; i++) {  // check_blk: nr_segments within the array
            const blkif_request_segment& g = r.seg[i];
            seg[i] = {ch_.page(g.gref) + size_t{g.first_sect} * SECTOR_SIZE, uint32_t{g.last_sect} - g.first_sect + 1};
        }
        bool ok = read_request(r.sector_number, static_cast<const Segment*>(seg), uint32_t{r.nr_segments});
        ok ? served++ : disk_errors++;
        rsp.status = ok ? BLKIF_RSP_OKAY : BLKIF_RSP_ERROR;
        return rsp;
    });
    if (s.broken) broken++;
    return s;
}

}  // namespace natsume::drivers::pv
