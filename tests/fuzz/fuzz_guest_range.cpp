// Guest address checks for hypercall arguments (hypervisor/lib/guest_range.hpp),
// compared with exact 128-bit arithmetic.
//
// Asserts both ways: guest_range_ok accepts exactly the ranges with
// gpa + len <= ram_size computed without wrapping; guest_aligned_range_ok
// adds exactly natural alignment to a power of two; console_write_args
// returns EINVAL exactly for len > NATSUME_CONSOLE_WRITE_MAX, then EFAULT
// exactly for ranges outside RAM. Each input is also tried near the 2^64
// boundary, where a naive gpa + len check wraps.
#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz_util.hpp"
#include "hypervisor/lib/guest_range.hpp"

using namespace natsume;

namespace {

using u128 = unsigned __int128;

void check(uint64_t ram, uint64_t gpa, uint64_t len, uint64_t align) {
    const bool exact = u128{gpa} + len <= ram;
    FUZZ_CHECK(guest_range_ok(ram, gpa, len) == exact);
    const bool pow2 = align != 0 && (align & (align - 1)) == 0;
    FUZZ_CHECK(guest_aligned_range_ok(ram, gpa, len, align) == (exact && pow2 && gpa % align == 0));
    const int64_t cw = console_write_args(ram, gpa, len);
    if (len > NATSUME_CONSOLE_WRITE_MAX)
        FUZZ_CHECK(cw == NATSUME_EINVAL);
    else
        FUZZ_CHECK(cw == (exact ? NATSUME_OK : NATSUME_EFAULT));
    // Accepted means every byte of the range is a RAM byte.
    if (exact && len != 0) FUZZ_CHECK(gpa < ram && gpa + (len - 1) < ram && gpa + (len - 1) >= gpa);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const uint64_t ram   = in.ConsumeIntegral<uint64_t>();
    const uint64_t gpa   = in.ConsumeIntegral<uint64_t>();
    const uint64_t len   = in.ConsumeIntegral<uint64_t>();
    const uint64_t align = uint64_t{1} << in.ConsumeIntegralInRange<unsigned>(0, 64) % 64;
    check(ram, gpa, len, align);
    check(ram, gpa, len, in.ConsumeIntegral<uint64_t>());
    check(ram, ~gpa, len, align);       // gpa near 2^64
    check(ram, gpa, ~len, align);       // len near 2^64
    check(ram, ram - len, len, align);  // ranges ending exactly at, or wrapping around, the top
    check(ram, ram - len + 1, len, align);
    check(ram, gpa % (ram | 1), len % 8192, align);  // mostly inside RAM
    return 0;
}
