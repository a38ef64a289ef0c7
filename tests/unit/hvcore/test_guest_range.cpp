#include <catch2/catch.hpp>

#include "lib/guest_range.hpp"

using namespace natsume;

TEST_CASE("guest ranges: inside RAM, up to its end, never by wrapping", "[guest_range]") {
    constexpr uint64_t ram = 32ull << 20;
    CHECK(guest_range_ok(ram, 0, ram));
    CHECK(guest_range_ok(ram, ram, 0));
    CHECK(guest_range_ok(ram, ram - 1, 1));
    CHECK_FALSE(guest_range_ok(ram, ram, 1));
    CHECK_FALSE(guest_range_ok(ram, ram + 1, 0));
    // gpa + len wraps to a small number: a naive `gpa + len <= ram` would accept it.
    CHECK_FALSE(guest_range_ok(ram, 0x1000, ~0ull - 0xFFF + 1));
    CHECK_FALSE(guest_range_ok(ram, ~0ull, 2));
}

TEST_CASE("guest ranges: natural alignment", "[guest_range]") {
    CHECK(guest_aligned_range_ok(0x10000, 0x8, 8, 8));
    CHECK_FALSE(guest_aligned_range_ok(0x10000, 0xC, 8, 8));
    CHECK_FALSE(guest_aligned_range_ok(0x10000, 0xFFF8, 16, 8));
    CHECK_FALSE(guest_aligned_range_ok(0x10000, 0x8, 8, 0));
    CHECK_FALSE(guest_aligned_range_ok(0x10000, 0x8, 8, 12));
}

TEST_CASE("guest ranges: console write arguments", "[guest_range]") {
    CHECK(console_write_args(0x10000, 0x100, 16) == NATSUME_OK);
    CHECK(console_write_args(0x10000, 0x100, NATSUME_CONSOLE_WRITE_MAX + 1) == NATSUME_EINVAL);
    CHECK(console_write_args(0x10000, 0xFFFF, 2) == NATSUME_EFAULT);
    CHECK(console_write_args(0x10000, ~0ull, 16) == NATSUME_EFAULT);
}
