#pragma once
#include <stdint.h>

namespace natsume::guest::paging {
// Builds the kernel's own identity map of [0, 4 GiB) with 2 MiB pages (the
// 0xFE000000+ window uncached) and switches CR3 to it.
void install();
// Makes the 2 MiB pages covering [base, base + size) uncached (PCD|PWT), for
// device registers such as memory BARs. Returns false above 4 GiB, where the
// kernel maps nothing.
bool map_uncached(uint64_t base, uint64_t size);
// Makes the 2 MiB pages covering [base, base + size) reachable from ring 3
// (U/S), for the user-mode tests. False above 4 GiB.
bool allow_user(uint64_t base, uint64_t size);
// Points the page directory for linear [gib << 30, (gib + 1) << 30) at the
// guest-physical page `directory` (0: not present), for tests that put a
// paging structure where they want one. gib must lie above the identity
// map (4..511). False otherwise.
bool set_directory(unsigned gib, uint64_t directory);
}  // namespace natsume::guest::paging
