// How a channel's memory is laid out for one paravirtual device, frontend and
// backend alike (docs/channels.md). Page 0 holds the control block, then one
// page per shared ring (netif: tx and rx; blkif: one), then the data pages.
// A request's grant reference is the index of a data page, 0 .. data_pages-1:
// on a static partitioner there is nothing to grant, both sides map the whole
// channel. Pure arithmetic, host-tested.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume::drivers::pv {

inline constexpr uint32_t CONTROL_MAGIC   = 0x4e41564bu;  // "KVAN"
inline constexpr uint32_t CONTROL_VERSION = 1;

enum class Kind : uint32_t { None = 0, Net = 1, Block = 2 };

// Page 0. Each side writes only its own fields.
struct Control {
    uint32_t magic;                    // frontend: CONTROL_MAGIC once the rings are initialised
    uint32_t version;                  // frontend: CONTROL_VERSION
    Kind kind;                         // frontend
    uint32_t rings;                    // frontend: shared-ring pages after page 0
    uint32_t front_state, back_state;  // each side's own: 0 down, 1 connected
    uint64_t disk_sectors;             // backend, blkif: the disk's size in 512-byte sectors
    uint8_t mac[6];                    // backend, netif: the address it gives the frontend
    uint8_t pad[2];
};
static_assert(sizeof(Control) <= 4096, "the control block is one page");

struct Layout {
    size_t ring_offset[2];  // bytes from the channel's start
    size_t data_offset;
    uint32_t data_pages;  // valid grant references: 0 .. data_pages - 1
    bool ok;              // the channel is large enough for the rings and one data page
};

// Layout of a channel of `size` bytes with `rings` ring pages (1 or 2).
constexpr Layout layout(uint64_t size, uint32_t rings) {
    Layout l{{0, 0}, 0, 0, false};
    if (rings < 1 || rings > 2) return l;
    uint64_t pages = size / 4096;
    if (pages < 2 + rings) return l;
    for (uint32_t r = 0; r < rings; r++) l.ring_offset[r] = size_t{4096} * (1 + r);
    l.data_offset = size_t{4096} * (1 + rings);
    uint64_t data = pages - 1 - rings;
    l.data_pages  = data > 0xffffffffu ? 0xffffffffu : static_cast<uint32_t>(data);
    l.ok          = true;
    return l;
}

}  // namespace natsume::drivers::pv
