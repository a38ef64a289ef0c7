// Hypervisor memory for page tables, VMX bitmaps and other page-sized
// objects: a fixed pool inside the image (so the validator already keeps
// partitions away from it). Pages are never freed.
#pragma once
#include <stdint.h>

namespace natsume::page_pool {
// Physical (= virtual) address of a zeroed 4 KiB page; 0 when exhausted.
uint64_t alloc();
uint64_t pages_used();
uint64_t pages_total();
}  // namespace natsume::page_pool
