// What a backend checks in every request before it acts on it. The frontend
// may be buggy or hostile and may change the shared ring while it is read, so
// a backend copies each request out of the ring once (RING_COPY_REQUEST) and
// decides on the copy; a malformed request is answered with an error status
// and counted, never followed, and never stops the backend. Pure functions,
// host-tested on the real Xen structures.
#pragma once
#include <stdint.h>

#include "drivers/pv/xen_rings.hpp"

namespace natsume::drivers::pv {

// ---- netif --------------------------------------------------------------

enum class TxVerdict : uint8_t {
    Ok,
    BadRef,        // gref is not a data page of the channel
    CrossesPage,   // offset + size runs past the page
    TooShort,      // shorter than an Ethernet header
    TooLong,       // longer than a 1514-byte frame
    MultiSlot,     // NETTXF_more_data: frames in several slots are not supported
    ExtraInfo,     // NETTXF_extra_info: no extra-info segments are negotiated
    UnknownFlags,  // a flag bit netif.h does not define
};

constexpr uint16_t TX_KNOWN_FLAGS = NETTXF_csum_blank | NETTXF_data_validated | NETTXF_more_data | NETTXF_extra_info;

constexpr TxVerdict check_tx(const netif_tx_request& r, uint32_t data_pages) {
    if (r.flags & ~TX_KNOWN_FLAGS) return TxVerdict::UnknownFlags;
    if (r.flags & NETTXF_extra_info) return TxVerdict::ExtraInfo;
    if (r.flags & NETTXF_more_data) return TxVerdict::MultiSlot;
    if (r.gref >= data_pages) return TxVerdict::BadRef;
    if (r.size < ETH_MIN) return TxVerdict::TooShort;
    if (r.size > ETH_MAX) return TxVerdict::TooLong;
    if (uint32_t{r.offset} + r.size > PAGE_SIZE) return TxVerdict::CrossesPage;
    return TxVerdict::Ok;
}

constexpr int16_t tx_status(TxVerdict v) { return v == TxVerdict::Ok ? NETIF_RSP_OKAY : NETIF_RSP_ERROR; }

enum class RxVerdict : uint8_t { Ok, BadRef };

// An rx request offers one data page for the backend to fill; its id is the
// frontend's own and only echoed.
constexpr RxVerdict check_rx(const netif_rx_request& r, uint32_t data_pages) {
    return r.gref < data_pages ? RxVerdict::Ok : RxVerdict::BadRef;
}

// ---- blkif --------------------------------------------------------------

enum class BlkVerdict : uint8_t {
    Ok,
    BadOperation,     // not READ or WRITE: answered EOPNOTSUPP
    NoSegments,       // nr_segments 0
    TooManySegments,  // above BLKIF_MAX_SEGMENTS_PER_REQUEST
    BadRef,           // a segment's gref is not a data page of the channel
    BadSectors,       // first_sect > last_sect, or past the page's 8 sectors
    BeyondDisk,       // sector_number + sectors runs past the disk (or wraps)
};

inline constexpr uint8_t SECTORS_PER_PAGE = PAGE_SIZE / SECTOR_SIZE;

// Sectors a request moves, 0 when its segments are malformed.
constexpr uint64_t request_sectors(const blkif_request& r) {
    uint64_t n = 0;
    for (uint8_t i = 0; i < r.nr_segments && i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++) {
        const blkif_request_segment& s = r.seg[i];
        if (s.first_sect > s.last_sect || s.last_sect >= SECTORS_PER_PAGE) return 0;
        n += uint64_t{s.last_sect} - s.first_sect + 1;
    }
    return n;
}

constexpr BlkVerdict check_blk(const blkif_request& r, uint32_t data_pages, uint64_t disk_sectors) {
    if (r.operation != BLKIF_OP_READ && r.operation != BLKIF_OP_WRITE) return BlkVerdict::BadOperation;
    if (r.nr_segments == 0) return BlkVerdict::NoSegments;
    if (r.nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST) return BlkVerdict::TooManySegments;
    for (uint8_t i = 0; i < r.nr_segments; i++) {
        const blkif_request_segment& s = r.seg[i];
        if (s.gref >= data_pages) return BlkVerdict::BadRef;
        if (s.first_sect > s.last_sect || s.last_sect >= SECTORS_PER_PAGE) return BlkVerdict::BadSectors;
    }
    uint64_t n = request_sectors(r);
    if (r.sector_number > disk_sectors || n > disk_sectors - r.sector_number) return BlkVerdict::BeyondDisk;
    return BlkVerdict::Ok;
}

constexpr int16_t blk_status(BlkVerdict v) {
    return v == BlkVerdict::Ok             ? BLKIF_RSP_OKAY
           : v == BlkVerdict::BadOperation ? BLKIF_RSP_EOPNOTSUPP
                                           : BLKIF_RSP_ERROR;
}

[[nodiscard]] constexpr const char* to_string(TxVerdict v) {
    switch (v) {
    case TxVerdict::Ok: return "ok";
    case TxVerdict::BadRef: return "grant reference outside the data pages";
    case TxVerdict::CrossesPage: return "frame crosses its page";
    case TxVerdict::TooShort: return "frame shorter than an Ethernet header";
    case TxVerdict::TooLong: return "frame longer than 1514 bytes";
    case TxVerdict::MultiSlot: return "frame in several slots (more_data)";
    case TxVerdict::ExtraInfo: return "extra-info segment not negotiated";
    case TxVerdict::UnknownFlags: return "unknown flags";
    }
    return "unknown";
}

[[nodiscard]] constexpr const char* to_string(BlkVerdict v) {
    switch (v) {
    case BlkVerdict::Ok: return "ok";
    case BlkVerdict::BadOperation: return "operation not supported";
    case BlkVerdict::NoSegments: return "no segments";
    case BlkVerdict::TooManySegments: return "more than 11 segments";
    case BlkVerdict::BadRef: return "grant reference outside the data pages";
    case BlkVerdict::BadSectors: return "segment sectors outside its page";
    case BlkVerdict::BeyondDisk: return "sectors past the end of the disk";
    }
    return "unknown";
}

}  // namespace natsume::drivers::pv
