// Checks of guest-supplied addresses and lengths, as hypercalls and exit
// handlers receive them in registers. Pure and overflow-safe: no sum of two
// guest values is ever formed, so gpa + len cannot wrap past 2^64 into RAM.
#pragma once
#include <stdint.h>

#include <natsume/hypercall.h>

namespace natsume {

// True when [gpa, gpa + len) lies inside guest RAM [0, ram_size). len 0 is
// accepted anywhere up to and including ram_size.
constexpr bool guest_range_ok(uint64_t ram_size, uint64_t gpa, uint64_t len) {
    return gpa <= ram_size && len <= ram_size - gpa;
}

// The same for an object the hypervisor reads or writes with one access of
// its natural alignment (align is a power of two), e.g. a guest page-table
// entry or a structure a hypercall fills in.
constexpr bool guest_aligned_range_ok(uint64_t ram_size, uint64_t gpa, uint64_t len, uint64_t align) {
    return align != 0 && (align & (align - 1)) == 0 && (gpa & (align - 1)) == 0 && guest_range_ok(ram_size, gpa, len);
}

// NATSUME_HC_CONSOLE_WRITE's arguments (include/natsume/hypercall.h):
// NATSUME_OK, NATSUME_EINVAL for a length above NATSUME_CONSOLE_WRITE_MAX,
// NATSUME_EFAULT for bytes outside guest RAM.
constexpr int64_t console_write_args(uint64_t ram_size, uint64_t gpa, uint64_t len) {
    if (len > NATSUME_CONSOLE_WRITE_MAX) return NATSUME_EINVAL;
    return guest_range_ok(ram_size, gpa, len) ? NATSUME_OK : NATSUME_EFAULT;
}

static_assert(guest_range_ok(0x1000, 0, 0x1000) && !guest_range_ok(0x1000, 1, 0x1000));
static_assert(!guest_range_ok(0x1000, 0x10, ~0ull - 0x8), "gpa + len wraps: refused");
static_assert(guest_aligned_range_ok(0x1000, 0xFF8, 8, 8) && !guest_aligned_range_ok(0x1000, 0xFF4, 8, 8));

}  // namespace natsume
