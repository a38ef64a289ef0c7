// IEEE 802.3 CRC-32 (reflected, polynomial 0xEDB88320, init and final xor
// 0xFFFFFFFF), the checksum of the compiled partition file
// (include/natsume/config_blob.h). Freestanding: no tables in .data, no libc.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume {

// `seed` is the CRC of the bytes that came before, so a buffer can be
// checksummed in pieces: crc32(b, nb, crc32(a, na)) == crc32(a ++ b).
// The CRC of nothing is 0.
[[nodiscard]] uint32_t crc32(const void* data, size_t len, uint32_t seed = 0);

}  // namespace natsume
