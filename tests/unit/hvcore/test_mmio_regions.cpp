#include <catch2/catch.hpp>
#include <cstring>

#include "partition/mmio_regions.hpp"

using namespace natsume;
using Error = MmioRegistry::Error;

TEST_CASE("MMIO registry: find returns the region a page is in, nothing else", "[hvcore][mmio]") {
    MmioRegistry r;
    REQUIRE(r.add(0xfee00000, 0x1000, MmioKind::Lapic) == Error::Ok);
    REQUIRE(r.add(0xfec00000, 0x1000, MmioKind::Ioapic) == Error::Ok);
    REQUIRE(r.add(0xfebf0000, 0x2000, MmioKind::MsixTable, 3) == Error::Ok);
    REQUIRE(r.add(0xb0000000, 0x10000000, MmioKind::Ecam) == Error::Ok);
    CHECK(r.count() == 4);
    CHECK(r.find(0xfee00300)->kind == MmioKind::Lapic);
    CHECK(r.find(0xfee00fff)->kind == MmioKind::Lapic);
    CHECK(r.find(0xfee01000) == nullptr);
    CHECK(r.find(0xfedfffff) == nullptr);
    CHECK(r.find(0xfec00010)->kind == MmioKind::Ioapic);
    const MmioRegion* m = r.find(0xfebf1ff0);
    REQUIRE(m != nullptr);
    CHECK(m->kind == MmioKind::MsixTable);
    CHECK(m->device == 3);
    CHECK(r.find(0xbfffffff)->kind == MmioKind::Ecam);
    CHECK(r.find(0xc0000000) == nullptr);
    CHECK(r.find(0) == nullptr);
    CHECK(std::strcmp(to_string(MmioKind::Ecam), "PCI ECAM") == 0);
}

TEST_CASE("MMIO registry refuses overlaps, unaligned and empty regions, and overflow", "[hvcore][mmio]") {
    MmioRegistry r;
    REQUIRE(r.add(0x10000, 0x3000, MmioKind::MsixTable, 0) == Error::Ok);
    CHECK(r.add(0x12000, 0x1000, MmioKind::DeviceRegister, 1) == Error::Overlap);  // inside
    CHECK(r.add(0xf000, 0x2000, MmioKind::DeviceRegister, 1) == Error::Overlap);   // straddles the start
    CHECK(r.add(0x13000, 0x1000, MmioKind::DeviceRegister, 1) == Error::Ok);       // adjacent is fine
    CHECK(r.add(0x20800, 0x1000, MmioKind::Lapic) == Error::Unaligned);
    CHECK(r.add(0x30000, 0x800, MmioKind::Lapic) == Error::Unaligned);
    CHECK(r.add(0x40000, 0, MmioKind::Lapic) == Error::Empty);
    CHECK(r.add(0xfffffffffffff000ull, 0x2000, MmioKind::Lapic) == Error::Overlap);  // wraps
    CHECK(r.count() == 2);
    MmioRegistry full;
    for (size_t i = 0; i < MmioRegistry::MAX; i++)
        REQUIRE(full.add(0x100000 + i * 0x1000, 0x1000, MmioKind::Lapic) == Error::Ok);
    CHECK(full.add(0x900000, 0x1000, MmioKind::Lapic) == Error::Full);
    CHECK(std::strlen(to_string(Error::Overlap)) > 10);
}
