#include <catch2/catch.hpp>

#include "drivers/x86/ioapic.hpp"

using namespace natsume::drivers::ioapic;

TEST_CASE("PCI INTx redirection entry", "[drivers][ioapic]") {
    uint64_t e = encode(pci_intx(0x41, 2));
    CHECK((e & 0xff) == 0x41);
    CHECK((e & LEVEL) != 0);
    CHECK((e & ACTIVE_LOW) != 0);
    CHECK((e & MASKED) != 0);        // programmed masked, unmasked later
    CHECK(((e >> 8) & 7) == 0);      // fixed delivery
    CHECK((e & (1ull << 11)) == 0);  // physical destination mode
    CHECK((e >> 56) == 2);
    CHECK(e == 0x020000000001a041ull);
}

TEST_CASE("redirection entries round-trip", "[drivers][ioapic]") {
    Redirection r{0x7e, false, false, false, 0xff};
    Redirection d = decode(encode(r));
    CHECK(d.vector == 0x7e);
    CHECK_FALSE(d.level);
    CHECK_FALSE(d.active_low);
    CHECK_FALSE(d.masked);
    CHECK(d.dest_apic_id == 0xff);
    // Reset value of a Bochs/82093AA entry: masked, vector 0.
    CHECK(decode(0x10000).masked);
}

TEST_CASE("indirect register indices", "[drivers][ioapic]") {
    CHECK(redirection_low(0) == 0x10);
    CHECK(redirection_high(0) == 0x11);
    CHECK(redirection_low(23) == 0x3e);
    CHECK(redirection_high(23) == 0x3f);
    CHECK(pin_count(0x00170011u) == 24);  // 82093AA version register value
}

TEST_CASE("remappable entries name their interrupt-remapping entry", "[drivers][ioapic]") {
    uint64_t e = remappable(0x8005, 0x41, true, true, false);
    CHECK((e & REMAPPABLE) != 0);
    CHECK(((e >> INDEX_LOW_SHIFT) & 0x7fff) == 5);
    CHECK(((e >> INDEX_HIGH_BIT) & 1) == 1);
    CHECK((e & VECTOR_MASK) == 0x41);
    CHECK((e & (LEVEL | ACTIVE_LOW)) == (LEVEL | ACTIVE_LOW));
    CHECK((e & MASKED) == 0);
    CHECK(id_of(0x01000000u) == 1);
    CHECK(version_of(0x00170020u) == 0x20);
}
