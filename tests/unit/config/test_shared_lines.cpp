#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "blob_fixture.hpp"
#include "common/config/validate.hpp"

using namespace natsume::config;
using natsume::test::Blob;

namespace {

const uint32_t APICS[] = {0, 1, 2};
const Range USABLE[]   = {{0x100000, 0xfef0000}};

// Bochs BIOS PIRQ routing puts slot1 (00:02.0) and slot5 (00:06.0) on one line.
const PlatformDevice DEVICES[] = {
    {NATSUME_BDF(0, 2, 0), 0x8086, 0x100e, 11, false},
    {NATSUME_BDF(0, 3, 0), 0xfefe, 0xefef, 9, false},
    {NATSUME_BDF(0, 4, 0), 0x8086, 0x100e, 10, false},
    {NATSUME_BDF(0, 6, 0), 0xfefe, 0xefef, 11, false},
    {NATSUME_BDF(0, 7, 0), 0x1234, 0x1111, NATSUME_GSI_AUTO, false},  // no INTx pin
};

Platform machine() {
    Platform p{APICS, 3, 0, USABLE, 1, nullptr, 0};
    p.devices      = DEVICES;
    p.device_count = sizeof DEVICES / sizeof DEVICES[0];
    return p;
}

std::vector<SharedLine> lines(Blob& b, const Platform& p) {
    Report r;
    REQUIRE(validate_blob(b.bytes(), b.size, r));
    SharedLine out[4];
    size_t n = shared_intx_lines(&b.header(), p, out, 4);
    REQUIRE(n <= 4);
    return std::vector<SharedLine>(out, out + n);
}

}  // namespace

TEST_CASE("no shared line when each line has one owner", "[config][shared-intx]") {
    Blob b(3);
    b.add_device(0, NATSUME_BDF(0, 2, 0));
    b.add_device(0, NATSUME_BDF(0, 6, 0));  // same line, same partition: routed directly
    b.add_device(1, NATSUME_BDF(0, 3, 0));
    b.add_device(2, NATSUME_BDF(0, 7, 0));  // no INTx at all
    b.seal();
    CHECK(lines(b, machine()).empty());
}

TEST_CASE("a line shared by two partitions lists every device on it", "[config][shared-intx]") {
    Blob b(3);
    b.add_device(0, NATSUME_BDF(0, 2, 0));
    b.add_device(1, NATSUME_BDF(0, 3, 0));
    b.add_device(2, NATSUME_BDF(0, 6, 0));
    b.add_device(0, NATSUME_BDF(0, 4, 0), 11);  // explicit GSI joins line 11
    b.seal();
    auto got = lines(b, machine());
    REQUIRE(got.size() == 1);
    CHECK(got[0].gsi == 11);
    REQUIRE(got[0].count == 3);
    CHECK_FALSE(got[0].truncated);
    CHECK(got[0].bdf[0] == NATSUME_BDF(0, 2, 0));
    CHECK(got[0].partition[0] == 0);
    CHECK(got[0].bdf[1] == NATSUME_BDF(0, 4, 0));
    CHECK(got[0].partition[1] == 0);
    CHECK(got[0].bdf[2] == NATSUME_BDF(0, 6, 0));
    CHECK(got[0].partition[2] == 2);
}

TEST_CASE("an explicit intx_gsi overrides the platform's", "[config][shared-intx]") {
    Blob b;
    b.add_device(0, NATSUME_BDF(0, 2, 0), 9);  // moved off line 11 onto the pcipnic's line 9
    b.add_device(1, NATSUME_BDF(0, 3, 0));
    b.add_device(1, NATSUME_BDF(0, 6, 0));
    b.seal();
    auto got = lines(b, machine());
    REQUIRE(got.size() == 1);
    CHECK(got[0].gsi == 9);
    REQUIRE(got[0].count == 2);
    CHECK(got[0].bdf[0] == NATSUME_BDF(0, 2, 0));
    CHECK(got[0].bdf[1] == NATSUME_BDF(0, 3, 0));
    CHECK(got[0].partition[1] == 1);
}

TEST_CASE("offline, with no platform, only explicit GSIs count", "[config][shared-intx]") {
    Blob b;
    b.add_device(0, NATSUME_BDF(0, 2, 0));
    b.add_device(1, NATSUME_BDF(0, 6, 0));
    b.seal();
    Platform none{nullptr, 0, 0, nullptr, 0, nullptr, 0};
    CHECK(lines(b, none).empty());           // both automatic: unknown offline
    CHECK(lines(b, machine()).size() == 1);  // both on 11 at boot
    b.part(0).devices[0].intx_gsi = 5;
    b.part(1).devices[0].intx_gsi = 5;
    b.seal();
    auto got = lines(b, none);
    REQUIRE(got.size() == 1);
    CHECK(got[0].gsi == 5);
}

TEST_CASE("shared lines come in ascending GSI order and respect the cap", "[config][shared-intx]") {
    Blob b;
    for (uint32_t gsi : {20u, 3u, 7u}) {
        b.add_device(0, NATSUME_BDF(1, gsi, 0), gsi);
        b.add_device(1, NATSUME_BDF(2, gsi, 0), gsi);
    }
    b.add_device(1, NATSUME_BDF(3, 0, 0), 0);  // GSI 0 with one owner: not shared
    b.seal();
    auto got = lines(b, machine());
    REQUIRE(got.size() == 3);
    CHECK(got[0].gsi == 3);
    CHECK(got[1].gsi == 7);
    CHECK(got[2].gsi == 20);
    SharedLine two[2];
    CHECK(shared_intx_lines(&b.header(), machine(), two, 2) == 3);  // the count is complete
    CHECK(two[1].gsi == 7);
    CHECK(shared_intx_lines(&b.header(), machine(), nullptr, 0) == 3);
}

TEST_CASE("a line with more devices than a SharedLine holds is marked truncated", "[config][shared-intx]") {
    Blob b;
    for (uint16_t dev = 0; dev < 6; ++dev) {
        b.add_device(0, NATSUME_BDF(1, dev, 0), 4);
        b.add_device(1, NATSUME_BDF(2, dev, 0), 4);
    }
    b.seal();
    auto got = lines(b, machine());
    REQUIRE(got.size() == 1);
    CHECK(got[0].count == NATSUME_CONFIG_MAX_DEVICES);
    CHECK(got[0].truncated);
    CHECK(got[0].partition[7] == 1);
}
