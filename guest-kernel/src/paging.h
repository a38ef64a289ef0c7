#pragma once
#include <stdint.h>

namespace paging {
// Builds the kernel's own identity map of [0, 4 GiB) with 2 MiB pages (the
// 0xFE000000+ window uncached) and switches CR3 to it.
void install();
// Makes the 2 MiB pages covering [base, base + size) uncached (PCD|PWT), for
// device registers such as memory BARs. Returns false above 4 GiB, where the
// kernel maps nothing.
bool map_uncached(uint64_t base, uint64_t size);
}  // namespace paging
