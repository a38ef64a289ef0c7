#pragma once

namespace paging {
// Builds the kernel's own identity map of [0, 4 GiB) with 2 MiB pages (the
// 0xFE000000+ window uncached) and switches CR3 to it.
void install();
}  // namespace paging
