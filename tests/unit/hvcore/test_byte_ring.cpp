// The console ring: whole records or nothing, order kept across wrap-around,
// drops counted.
#include <catch2/catch.hpp>
#include <string>

#include "hypervisor/lib/byte_ring.hpp"

using natsume::ByteRing;

TEST_CASE("records go in whole or not at all, and come out in order", "[byte_ring]") {
    char storage[16];
    ByteRing r(storage, sizeof storage);
    CHECK(r.empty());
    CHECK(r.push("hello\n", 6));
    CHECK(r.push("world!\n", 7));
    CHECK(r.used() == 13);
    CHECK_FALSE(r.push("toolong", 7));  // 3 bytes left: the whole record is dropped
    CHECK(r.take_dropped() == 7);
    CHECK(r.take_dropped() == 0);
    char out[32];
    size_t n = r.pop(out, 4);
    CHECK(std::string(out, n) == "hell");
    CHECK(r.push("abcdef", 6));  // wraps around the end of the storage
    std::string all;
    while ((n = r.pop(out, 5)) != 0) all.append(out, n);
    CHECK(all == "o\nworld!\nabcdef");
    CHECK(r.empty());
}

TEST_CASE("a record as large as the ring fits an empty ring only", "[byte_ring]") {
    char storage[8];
    ByteRing r(storage, sizeof storage);
    CHECK(r.push("12345678", 8));
    CHECK_FALSE(r.push("9", 1));
    char out[8];
    CHECK(r.pop(out, 8) == 8);
    CHECK(std::string(out, 8) == "12345678");
    CHECK(r.push("9", 1));
}
