#include <catch2/catch.hpp>
#include <cstring>

#include "common/crc32.hpp"

using natsume::crc32;

TEST_CASE("crc32 matches the IEEE check value and known vectors", "[config][crc32]") {
    const char* check = "123456789";
    CHECK(crc32(check, std::strlen(check)) == 0xCBF43926u);
    CHECK(crc32("", 0) == 0u);
    CHECK(crc32("a", 1) == 0xE8B7BE43u);
    const char* fox = "The quick brown fox jumps over the lazy dog";
    CHECK(crc32(fox, std::strlen(fox)) == 0x414FA339u);
    const unsigned char zeros[32] = {};
    CHECK(crc32(zeros, sizeof zeros) == 0x190A55ADu);
}

TEST_CASE("crc32 can be computed in pieces through the seed", "[config][crc32]") {
    const char* s = "123456789";
    for (size_t cut = 0; cut <= 9; ++cut) {
        uint32_t first = crc32(s, cut);
        CHECK(crc32(s + cut, 9 - cut, first) == 0xCBF43926u);
    }
}
