// Little-endian byte builders shared by the parser tests.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace natsume::test {

using Bytes = std::vector<uint8_t>;

template <typename T>
void put(Bytes& b, size_t off, T v) {
    if (b.size() < off + sizeof v) b.resize(off + sizeof v);
    std::memcpy(b.data() + off, &v, sizeof v);
}

template <typename T>
void append(Bytes& b, T v) {
    put(b, b.size(), v);
}

inline void append_bytes(Bytes& b, const void* p, size_t n) {
    const auto* c = static_cast<const uint8_t*>(p);
    b.insert(b.end(), c, c + n);
}

inline void append_str(Bytes& b, const std::string& s) { append_bytes(b, s.c_str(), s.size() + 1); }

template <typename T>
T get(const Bytes& b, size_t off) {
    T v;
    std::memcpy(&v, b.data() + off, sizeof v);
    return v;
}

// Sets byte at so that the sum of b[from, from + len) is 0 mod 256.
inline void fix_checksum(Bytes& b, size_t at, size_t from, size_t len) {
    b[at]       = 0;
    uint8_t sum = 0;
    for (size_t i = from; i < from + len; ++i) sum = static_cast<uint8_t>(sum + b[i]);
    b[at] = static_cast<uint8_t>(-sum);
}

}  // namespace natsume::test
