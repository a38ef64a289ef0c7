// Overflow-safe arithmetic on [base, base + size) physical address ranges.
#pragma once
#include <stdint.h>

namespace natsume {

// True when base + size does not wrap past 2^64 (the end is then representable
// as "last byte" = base + size - 1).
[[nodiscard]] constexpr bool range_fits(uint64_t base, uint64_t size) {
    return size == 0 || base <= UINT64_MAX - (size - 1);
}

// Empty ranges overlap nothing. Both ranges must satisfy range_fits.
[[nodiscard]] constexpr bool ranges_overlap(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size) {
    if (a_size == 0 || b_size == 0) return false;
    return a <= b + (b_size - 1) && b <= a + (a_size - 1);
}

// True when [inner, inner + inner_size) lies entirely inside [outer, outer + outer_size).
[[nodiscard]] constexpr bool range_contains(uint64_t outer, uint64_t outer_size, uint64_t inner, uint64_t inner_size) {
    if (inner_size == 0) return outer_size != 0 && inner >= outer && inner - outer < outer_size;
    if (outer_size == 0 || inner < outer) return false;
    return inner + (inner_size - 1) <= outer + (outer_size - 1);
}

[[nodiscard]] constexpr bool is_aligned(uint64_t v, uint64_t align) { return (v & (align - 1)) == 0; }

}  // namespace natsume
