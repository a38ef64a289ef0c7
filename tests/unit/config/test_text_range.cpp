#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

#include "common/bdf.hpp"
#include "common/range.hpp"
#include "common/text.hpp"
#include "natsume/config_blob.h"

using namespace natsume;

TEST_CASE("Text formats decimal and hex without libc", "[config][text]") {
    char buf[64];
    Text t(buf, sizeof buf);
    t.str("core ").dec(0).ch(' ').dec(18446744073709551615ull).ch(' ').hex(0).ch(' ').hex(0x6000000);
    CHECK(std::string(t.c_str()) == "core 0 18446744073709551615 0x0 0x6000000");
    CHECK_FALSE(t.truncated());
}

TEST_CASE("Text truncates and stays NUL-terminated", "[config][text]") {
    char buf[8];
    Text t(buf, sizeof buf);
    t.str("partition").hex(0xdeadbeef);
    CHECK(std::string(buf) == "partiti");
    CHECK(t.truncated());
    CHECK(t.size() == 7);
}

TEST_CASE("bounded_strlen and str_equal", "[config][text]") {
    char field[4] = {'a', 'b', 'c', 'd'};
    CHECK(bounded_strlen(field, sizeof field) == 4);
    field[2] = '\0';
    CHECK(bounded_strlen(field, sizeof field) == 2);
    CHECK(str_equal("rt0", "rt0"));
    CHECK_FALSE(str_equal("rt0", "rt"));
    CHECK_FALSE(str_equal("rt", "rt0"));
}

TEST_CASE("range arithmetic is overflow-safe", "[config][range]") {
    CHECK(ranges_overlap(0x1000, 0x1000, 0x1fff, 1));
    CHECK_FALSE(ranges_overlap(0x1000, 0x1000, 0x2000, 0x1000));  // adjacent
    CHECK_FALSE(ranges_overlap(0x1000, 0, 0x1000, 0x1000));       // empty
    CHECK(ranges_overlap(UINT64_MAX - 0xfff, 0x1000, UINT64_MAX, 1));
    CHECK(range_fits(UINT64_MAX - 0xfff, 0x1000));
    CHECK_FALSE(range_fits(UINT64_MAX - 0xfff, 0x1001));
    CHECK(range_contains(0x100000, 0xfef0000, 0x4000000, 0x2000000));
    CHECK_FALSE(range_contains(0x100000, 0xfef0000, 0xf000000, 0x2000000));
    CHECK_FALSE(range_contains(0x100000, 0xfef0000, 0x0, 0x200000));
    CHECK(is_aligned(0x4000000, 0x200000));
    CHECK_FALSE(is_aligned(0x4100000, 0x200000));
}

TEST_CASE("Text writes fixed-width hex and PCI addresses", "[config][text]") {
    char buf[64];
    Text t(buf, sizeof buf);
    t.hex_fixed(0x2, 2).ch(' ').hex_fixed(0x100e, 4).ch(' ').hex_fixed(0x12345, 2).ch(' ').hex_fixed(0, 1);
    CHECK(std::string(t.c_str()) == "02 100e 45 0");
    char b2[64];
    Text u(b2, sizeof b2);
    put_pci_id(put_bdf(u, NATSUME_BDF(0xff, 31, 7)).ch(' '), 0x8086, 0x100e);
    CHECK(std::string(u.c_str()) == "ff:1f.7 8086:100e");
    CHECK(pci::bdf_bus(NATSUME_BDF(0x12, 3, 4)) == 0x12);
    CHECK(pci::bdf_dev(NATSUME_BDF(0x12, 3, 4)) == 3);
    CHECK(pci::bdf_fn(NATSUME_BDF(0x12, 3, 4)) == 4);
}
