// Helpers shared by the libFuzzer harnesses in tests/fuzz/.
//
// A broken property aborts with a message: libFuzzer reports the abort as a
// crash and keeps the input, exactly as it does for a sanitizer report.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#define FUZZ_CHECK(cond)                                                                       \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            std::fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, __LINE__, #cond); \
            std::abort();                                                                      \
        }                                                                                      \
    } while (0)

// Harness bookkeeping (models, property loops) that is not itself under test:
// left out of coverage instrumentation, so the fuzzer's feedback and time go to
// the code under test.
#define FUZZ_MODEL __attribute__((no_sanitize("coverage")))

namespace natsume::fuzz {

template <typename T>
T load(const uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

template <typename T>
void store(uint8_t* p, T v) {
    std::memcpy(p, &v, sizeof v);
}

// Sets p[at] so that p[0..len) sums to zero modulo 256 (ACPI checksums).
FUZZ_MODEL inline void fix_checksum(uint8_t* p, size_t len, size_t at) {
    if (at >= len) return;
    p[at]       = 0;
    uint8_t sum = 0;
    for (size_t i = 0; i < len; ++i) sum = static_cast<uint8_t>(sum + p[i]);
    p[at] = static_cast<uint8_t>(-sum);
}

// An ACPI table (36-byte header, length at 4, checksum at 9) at offset off of
// buf[0..size): fixes its checksum when the table lies inside the buffer.
// Returns the table's length, or 0 when it does not fit.
FUZZ_MODEL inline uint32_t fix_table_checksum(uint8_t* buf, size_t size, uint64_t off) {
    if (off > size || size - off < 36) return 0;
    const uint32_t len = load<uint32_t>(buf + off + 4);
    if (len < 36 || len > size - off) return 0;
    fix_checksum(buf + off, len, 9);
    return len;
}

}  // namespace natsume::fuzz
