// The pure parts of the VT-d boot integration (arch/x86/vtd/platform.hpp).
#include <catch2/catch.hpp>

#include "arch/x86/vtd/platform.hpp"

using namespace natsume::x86::vtd;

TEST_CASE("an RMRR cannot be identity-mapped where the domain maps guest RAM", "[vtd][platform]") {
    constexpr uint64_t ram = 0x2000000;  // guest RAM at IOVA [0, 32 MiB)
    CHECK(iova_taken(ram, 0, 0, 0x0, 0xfff));
    CHECK(iova_taken(ram, 0, 0, 0x1fff000, 0x1ffffff));           // last page of RAM
    CHECK_FALSE(iova_taken(ram, 0, 0, 0x2000000, 0x2000fff));     // first page after it
    CHECK_FALSE(iova_taken(ram, 0, 0, 0xbf7ec000, 0xbf7fffff));   // a typical USB RMRR below 3 GiB
    CHECK(iova_taken(0xc0000000, 0, 0, 0xbf7ec000, 0xbf7fffff));  // ... collides with 3 GiB of RAM
}

TEST_CASE("an RMRR cannot be identity-mapped inside the DMA window", "[vtd][platform]") {
    constexpr uint64_t ram = 0x2000000, base = 0x8000000, size = 0x800000;
    CHECK(iova_taken(ram, base, size, 0x8000000, 0x8000fff));
    CHECK(iova_taken(ram, base, size, 0x87ff000, 0x8800fff));  // straddles the window's end
    CHECK(iova_taken(ram, base, size, 0x7fff000, 0x8000000));  // last byte is the window's first
    CHECK_FALSE(iova_taken(ram, base, size, 0x7fff000, 0x7ffffff));
    CHECK_FALSE(iova_taken(ram, base, size, 0x8800000, 0x8800fff));
    CHECK_FALSE(iova_taken(ram, 0, 0, 0x8000000, 0x8000fff));  // no window: nothing there
}

TEST_CASE("domain ids leave 0 unused and give the hypervisor its own", "[vtd][platform]") {
    CHECK(partition_domain_id(0) == 1);
    CHECK(partition_domain_id(NATSUME_CONFIG_MAX_PARTITIONS - 1) == NATSUME_CONFIG_MAX_PARTITIONS);
    CHECK(HYPERVISOR_DOMAIN_ID == NATSUME_CONFIG_MAX_PARTITIONS + 1);
    for (uint32_t i = 0; i < NATSUME_CONFIG_MAX_PARTITIONS; i++) CHECK(partition_domain_id(i) != HYPERVISOR_DOMAIN_ID);
}
