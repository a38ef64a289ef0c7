// Kernel command line: space-separated key=value words. Pure code.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume::guest::cmdline {

// Copies the value of `key` into out (NUL-terminated, truncated to fit).
// Returns false when the key is absent. A bare word "key" has value "".
[[nodiscard]] bool get(const char* line, const char* key, char* out, size_t out_size);
// Decimal or 0x-prefixed hex value of `key`, or `fallback` when it is absent
// or not a number.
[[nodiscard]] uint64_t get_u64(const char* line, const char* key, uint64_t fallback);

}  // namespace natsume::guest::cmdline
