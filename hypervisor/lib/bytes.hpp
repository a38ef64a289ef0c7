// Unaligned little-endian loads and stores of the fields of firmware tables,
// boot information and file headers: one copy each, so nothing depends on
// the alignment of data that came from outside.
#pragma once
#include <stdint.h>

namespace natsume::bytes {

template <typename T>
T load(const uint8_t* p) {
    T v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}

template <typename T>
void store(uint8_t* p, T v) {
    __builtin_memcpy(p, &v, sizeof v);
}

}  // namespace natsume::bytes
