#include "crc32.hpp"

namespace natsume {

namespace {
constexpr uint32_t POLYNOMIAL = 0xEDB88320u;  // 0x04C11DB7 bit-reversed (IEEE 802.3 clause 3.2.9)

// Bitwise on purpose: the blob is checked once per boot and a few hundred
// bytes long, so a 1 KiB table would buy nothing.
uint32_t update_byte(uint32_t crc, uint8_t byte) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (POLYNOMIAL & (0u - (crc & 1u)));
    return crc;
}
}  // namespace

uint32_t crc32(const void* data, size_t len, uint32_t seed) {
    const auto* bytes = static_cast<const uint8_t*>(data);
    uint32_t crc      = ~seed;
    for (size_t i = 0; i < len; ++i) crc = update_byte(crc, bytes[i]);
    return ~crc;
}

}  // namespace natsume
