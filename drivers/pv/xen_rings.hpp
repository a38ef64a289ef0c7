// The Xen shared-ring headers from Debian's libxen-dev, unchanged
// (xen/io/ring.h, netif.h, blkif.h), set up for a static partitioner: the
// memory barriers the headers leave to the includer, and no grant tables (a
// grant reference is a page index inside the channel's data area,
// drivers/pv/channel_layout.hpp). Include this header, never the Xen headers
// directly, so every tree sees them the same way.
#pragma once
#include <stddef.h>
#include <stdint.h>

// The interface the barrier macros below belong to (xen-compat.h: from
// 0x00030208 on the includer provides xen_mb/xen_rmb/xen_wmb).
#ifndef __XEN_INTERFACE_VERSION__
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#endif
// x86 keeps loads in order and stores in order; only a later load may pass an
// earlier store, which the full barrier (before checking the peer's event
// index) prevents (SDM Vol. 3A 9.2.2).
#define xen_mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define xen_rmb() asm volatile("" ::: "memory")
#define xen_wmb() asm volatile("" ::: "memory")

// ring.h's SHARED_RING_INIT clears padding with memset (the C library's
// declaration: newlib in the guest, the host's elsewhere).
#include <string.h>
#include <xen/io/blkif.h>
#include <xen/io/netif.h>
#include <xen/io/ring.h>

namespace natsume::drivers::pv {

inline constexpr size_t PAGE_SIZE   = 4096;
inline constexpr size_t SECTOR_SIZE = 512;  // blkif sectors, whatever the disk's own
// Ethernet frame bounds a netif request may carry in one slot: header to
// 1514 bytes (no FCS), the frame never crossing its page.
inline constexpr uint16_t ETH_MIN = 14, ETH_MAX = 1514;

}  // namespace natsume::drivers::pv
