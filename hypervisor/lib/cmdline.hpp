// The hypervisor's command line: space-separated words and key=value pairs.
#pragma once
#include <stdint.h>

namespace natsume::cmdline {
// True when `word` stands alone in the command line ("emulator-exit").
bool has_word(const char* cmdline, const char* word);
// The decimal value of key=N, or `fallback` when the key is absent or has no digits.
uint64_t number(const char* cmdline, const char* key, uint64_t fallback);
}  // namespace natsume::cmdline
