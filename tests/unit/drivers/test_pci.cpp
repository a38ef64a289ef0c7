#include <catch2/catch.hpp>

#include "drivers/pci/config.hpp"

using namespace natsume::pci;
using Bar = BarRegister;

TEST_CASE("BDF packing matches NATSUME_BDF", "[drivers][pci]") {
    CHECK(make_bdf(0, 2, 0) == 0x0010);
    CHECK(make_bdf(1, 31, 7) == 0x01ff);
    CHECK(make_bdf(0xff, 0x1f, 7) == 0xffff);
    uint16_t b = make_bdf(3, 17, 5);
    CHECK(bdf_bus(b) == 3);
    CHECK(bdf_dev(b) == 17);
    CHECK(bdf_fn(b) == 5);
}

TEST_CASE("configuration mechanism #1 addresses", "[drivers][pci]") {
    CHECK(config_address(make_bdf(0, 0, 0), 0) == 0x80000000u);
    CHECK(config_address(make_bdf(0, 2, 0), BAR0) == 0x80001010u);
    CHECK(config_address(make_bdf(1, 3, 2), 0x3c) == 0x80011a3cu);
    // Byte offsets inside a dword select the same dword.
    CHECK(config_address(make_bdf(0, 2, 0), 0x3d) == config_address(make_bdf(0, 2, 0), 0x3c));
    CHECK(config_address(make_bdf(0, 2, 0), 0x06) == config_address(make_bdf(0, 2, 0), 0x04));
}

TEST_CASE("BAR decoding", "[drivers][pci]") {
    Bar m = decode_bar(0xc0000000u, 0);
    CHECK_FALSE(m.io);
    CHECK_FALSE(m.is64);
    CHECK(m.base == 0xc0000000u);

    Bar io = decode_bar(0x0000c001u, 0);
    CHECK(io.io);
    CHECK(io.base == 0xc000u);

    Bar m64 = decode_bar(0xfe00000cu, 0x1u);  // 64-bit, prefetchable
    CHECK(m64.is64);
    CHECK(m64.prefetchable);
    CHECK(m64.base == 0x1fe000000ull);
}

TEST_CASE("memory BAR size from the all-ones readback", "[drivers][pci]") {
    CHECK(memory_bar_size(0xfffe0000u) == 0x20000u);  // e1000 BAR0: 128 KiB
    CHECK(memory_bar_size(0xfffff000u) == 0x1000u);
    CHECK(memory_bar_size(0xfffe0008u) == 0x20000u);  // type bits ignored
    CHECK(memory_bar_size(0) == 0);
}

TEST_CASE("BDF value type and ECAM offsets", "[drivers][pci]") {
    Bdf b = Bdf::of(0x01ff);
    CHECK(b.bus == 1);
    CHECK(b.device == 31);
    CHECK(b.function == 7);
    CHECK(b.raw() == 0x01ff);
    CHECK(Bdf{0, 3, 0}.raw() == 0x0018);
    CHECK(ecam_offset(make_bdf(0, 2, 0), 0, 0x40) == 0x10040u);
    CHECK(ecam_offset(make_bdf(1, 0, 0), 1, 0x104) == 0x104u);   // window starting at bus 1
    CHECK(ecam_offset(make_bdf(0, 0, 1), 0, 0xfff) == 0x1ffcu);  // dword-aligned
}
