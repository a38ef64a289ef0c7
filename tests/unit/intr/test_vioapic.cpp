#include <catch2/catch.hpp>
#include <string>

#include "hypervisor/vdev/vioapic.hpp"

using namespace natsume::vioapic;

namespace {

constexpr uint8_t PINS      = 24;
constexpr uint8_t OWNED_PIN = 11, OTHER_OWNED = 9, FOREIGN_PIN = 10;
constexpr uint32_t OWNER_APIC = 1;

Config config(bool remapped = false, uint8_t version = 0x20) {
    Config c{};
    c.pins          = PINS;
    c.owned         = (1ull << OWNED_PIN) | (1ull << OTHER_OWNED);
    c.owner_apic_id = OWNER_APIC;
    c.remapped      = remapped;
    c.irte_base     = 0x100;
    c.ioapic_id     = 1;
    c.version       = version;
    return c;
}

// The guest's two-step access: select, then read or write the window.
uint32_t read_reg(Vioapic& v, uint8_t index) {
    uint32_t value = 0xCCCCCCCC;
    REQUIRE(v.write(hw::offset(hw::Mmio::IOREGSEL), 4, index).kind == Kind::None);
    const Action a = v.read(hw::offset(hw::Mmio::IOWIN), 4, value);
    CHECK(a.kind == Kind::None);
    return value;
}

Action write_reg(Vioapic& v, uint8_t index, uint32_t value) {
    REQUIRE(v.write(hw::offset(hw::Mmio::IOREGSEL), 4, index).kind == Kind::None);
    return v.write(hw::offset(hw::Mmio::IOWIN), 4, value);
}

uint8_t low_index(uint8_t pin) { return static_cast<uint8_t>(hw::index(hw::Reg::REDIR_BASE) + 2 * pin); }
uint8_t high_index(uint8_t pin) { return static_cast<uint8_t>(hw::index(hw::Reg::REDIR_BASE) + 2 * pin + 1); }

uint64_t entry(const Action& a) { return (static_cast<uint64_t>(a.high) << 32) | a.low; }

// A two- or three-core partition: the owner first, then the others.
constexpr uint32_t SECOND_CORE = 3, THIRD_CORE = 6, OTHER_PARTITION_CORE = 2;

Config multicore(bool remapped = false) {
    Config c     = config(remapped);
    c.cores[0]   = OWNER_APIC;
    c.cores[1]   = SECOND_CORE;
    c.cores[2]   = THIRD_CORE;
    c.core_count = 3;
    return c;
}

uint64_t guest_entry(uint32_t dest, uint32_t low) { return (uint64_t{dest} << 56) | low; }

}  // namespace

TEST_CASE("ID, version and arbitration registers", "[vioapic]") {
    Vioapic v(config());
    CHECK(read_reg(v, hw::index(hw::Reg::ID)) == (1u << 24));
    CHECK(read_reg(v, hw::index(hw::Reg::VERSION)) == (0x20u | (23u << 16)));  // max redirection entry = pins - 1
    CHECK(read_reg(v, hw::index(hw::Reg::ARBITRATION)) == (1u << 24));
    CHECK(write_reg(v, hw::index(hw::Reg::VERSION), 0).why == Why::ReadOnlyRegister);
    CHECK(write_reg(v, hw::index(hw::Reg::ARBITRATION), 0).kind == Kind::Refused);
    CHECK(write_reg(v, hw::index(hw::Reg::ID), 5u << 24).kind == Kind::ShadowOnly);
    CHECK(read_reg(v, hw::index(hw::Reg::ID)) == (5u << 24));

    Vioapic old(config(false, 0x11));
    CHECK((read_reg(old, hw::index(hw::Reg::VERSION)) & 0xFF) == 0x11);
}

TEST_CASE("IOREGSEL reads back and unknown indexes are no registers", "[vioapic]") {
    Vioapic v(config());
    REQUIRE(v.write(hw::offset(hw::Mmio::IOREGSEL), 4, 0x23).kind == Kind::None);
    uint32_t value = 0;
    CHECK(v.read(hw::offset(hw::Mmio::IOREGSEL), 4, value).kind == Kind::None);
    CHECK(value == 0x23);
    CHECK(v.selected() == 0x23);
    // Pin 24 would be index 0x40: beyond a 24-pin table.
    REQUIRE(v.write(hw::offset(hw::Mmio::IOREGSEL), 4, 0x40).kind == Kind::None);
    CHECK(v.read(hw::offset(hw::Mmio::IOWIN), 4, value).why == Why::NoSuchRegister);
    CHECK(value == 0);
    CHECK(v.write(hw::offset(hw::Mmio::IOWIN), 4, 0x30).why == Why::NoSuchRegister);
    REQUIRE(v.write(hw::offset(hw::Mmio::IOREGSEL), 4, 0x05).kind == Kind::None);
    CHECK(v.write(hw::offset(hw::Mmio::IOWIN), 4, 0).why == Why::NoSuchRegister);
}

TEST_CASE("only aligned 32-bit accesses to the three registers", "[vioapic]") {
    Vioapic v(config());
    uint32_t value = 0;
    for (uint8_t size : {1, 2, 8}) {
        CHECK(v.read(hw::offset(hw::Mmio::IOWIN), size, value).why == Why::BadAccess);
        CHECK(v.write(hw::offset(hw::Mmio::IOREGSEL), size, 0x10).why == Why::BadAccess);
    }
    CHECK(v.write(hw::offset(hw::Mmio::IOREGSEL) + 1, 4, 0x10).why == Why::BadAccess);
    CHECK(v.write(0x20, 4, 0).why == Why::NoSuchRegister);
    CHECK(v.read(0x30, 4, value).why == Why::NoSuchRegister);
    CHECK(v.selected() == 0);  // the refused IOREGSEL writes changed nothing
}

TEST_CASE("an owned pin gets the guest's vector and the owner as destination", "[vioapic]") {
    Vioapic v(config());
    // The guest asks for logical mode, lowest priority, destination 0xFF.
    CHECK(write_reg(v, high_index(OWNED_PIN), 0xFF000000).kind == Kind::ShadowOnly);
    const uint32_t guest_low = 0x41 | hw::DELIVERY_LOWEST_PRIORITY | hw::DEST_LOGICAL | hw::ACTIVE_LOW | hw::LEVEL;
    const Action a           = write_reg(v, low_index(OWNED_PIN), guest_low);
    REQUIRE(a.kind == Kind::ProgramPin);
    CHECK(a.pin == OWNED_PIN);
    CHECK(a.vector == 0x41);
    CHECK(a.level);
    // Fixed, physical, unmasked, active-low, level, destination APIC ID 1.
    CHECK(a.low == (0x41u | hw::ACTIVE_LOW | hw::LEVEL));
    CHECK(a.high == (OWNER_APIC << 24));
    // The guest reads back what it wrote.
    CHECK(read_reg(v, low_index(OWNED_PIN)) == guest_low);
    CHECK(read_reg(v, high_index(OWNED_PIN)) == 0xFF000000);
}

TEST_CASE("edge-triggered active-high entry and masking", "[vioapic]") {
    Vioapic v(config());
    Action a = write_reg(v, low_index(OTHER_OWNED), 0x30);
    REQUIRE(a.kind == Kind::ProgramPin);
    CHECK(entry(a) == ((uint64_t{OWNER_APIC} << 56) | 0x30));
    CHECK_FALSE(a.level);
    a = write_reg(v, low_index(OTHER_OWNED), 0x30 | hw::MASKED);
    REQUIRE(a.kind == Kind::ProgramPin);
    CHECK((a.low & hw::MASKED) != 0);
}

TEST_CASE("the physical destination ignores the guest's high half", "[vioapic]") {
    Vioapic v(config());
    REQUIRE(write_reg(v, low_index(OWNED_PIN), 0x50).kind == Kind::ProgramPin);
    for (uint32_t high : {0x00000000u, 0x03000000u, 0xFF000000u, 0x12345678u}) {
        CHECK(write_reg(v, high_index(OWNED_PIN), high).kind == Kind::ShadowOnly);
        const Action a = write_reg(v, low_index(OWNED_PIN), 0x50);
        REQUIRE(a.kind == Kind::ProgramPin);
        CHECK(a.high == (OWNER_APIC << 24));
    }
}

TEST_CASE("foreign pins are refused and read as masked", "[vioapic]") {
    Vioapic v(config());
    Action a = write_reg(v, low_index(FOREIGN_PIN), 0x41);
    CHECK(a.kind == Kind::Refused);
    CHECK(a.why == Why::ForeignPin);
    CHECK(a.pin == FOREIGN_PIN);
    // Keeping it masked (Linux masks every pin) changes nothing and is no refusal.
    a = write_reg(v, high_index(FOREIGN_PIN), 0xFF000000u);
    CHECK((a.kind == Kind::None && a.why == Why::None));
    a = write_reg(v, low_index(FOREIGN_PIN), static_cast<uint32_t>(hw::MASKED) | 0x41);
    CHECK((a.kind == Kind::None && a.why == Why::None));
    CHECK(read_reg(v, low_index(FOREIGN_PIN)) == hw::MASKED);
    CHECK(read_reg(v, high_index(FOREIGN_PIN)) == 0);
    CHECK(v.shadow(FOREIGN_PIN) == hw::MASKED);
    for (uint8_t pin = 0; pin < PINS; ++pin) {
        if (pin == OWNED_PIN || pin == OTHER_OWNED) continue;
        INFO("pin " << int(pin));
        CHECK(write_reg(v, low_index(pin), 0x41).why == Why::ForeignPin);
    }
}

TEST_CASE("owned pins start masked with the owner as destination", "[vioapic]") {
    Vioapic v(config());
    CHECK(read_reg(v, low_index(OWNED_PIN)) == hw::MASKED);
    CHECK(v.initial_entry(OWNED_PIN) == ((uint64_t{OWNER_APIC} << 56) | hw::MASKED));
}

TEST_CASE("bad vectors are refused only when the entry is unmasked", "[vioapic]") {
    Vioapic v(config());
    REQUIRE(write_reg(v, low_index(OWNED_PIN), 0x60).kind == Kind::ProgramPin);
    for (uint32_t vec : {0x00u, 0x0Fu, 0xFFu}) {
        const Action a = write_reg(v, low_index(OWNED_PIN), vec);
        CHECK(a.kind == Kind::Refused);
        CHECK(a.why == Why::BadVector);
    }
    CHECK(read_reg(v, low_index(OWNED_PIN)) == 0x60);  // the refused writes left the shadow alone
    CHECK(write_reg(v, low_index(OWNED_PIN), 0x10).kind == Kind::ProgramPin);
    CHECK(write_reg(v, low_index(OWNED_PIN), 0xFE).kind == Kind::ProgramPin);
    // Linux clears a pin by writing a masked all-zero entry: accepted.
    const Action a = write_reg(v, low_index(OWNED_PIN), hw::MASKED);
    REQUIRE(a.kind == Kind::ProgramPin);
    CHECK(a.low == hw::MASKED);
}

TEST_CASE("delivery modes: fixed and lowest priority become fixed, others refused", "[vioapic]") {
    Vioapic v(config());
    struct Case {
        uint32_t mode;
        bool ok;
    };
    for (Case c : {Case{0, true}, Case{1, true}, Case{2, false}, Case{3, false}, Case{4, false}, Case{5, false},
                   Case{6, false}, Case{7, false}}) {
        INFO("mode " << c.mode);
        const Action a = write_reg(v, low_index(OWNED_PIN), 0x45 | (c.mode << 8));
        if (c.ok) {
            REQUIRE(a.kind == Kind::ProgramPin);
            CHECK((a.low & hw::DELIVERY_MASK) == hw::DELIVERY_FIXED);
        } else {
            CHECK(a.why == Why::BadDeliveryMode);
            // Masked, the same entry cannot fire and is accepted as Fixed.
            const Action m = write_reg(v, low_index(OWNED_PIN), 0x45 | (c.mode << 8) | hw::MASKED);
            REQUIRE(m.kind == Kind::ProgramPin);
            CHECK((m.low & hw::DELIVERY_MASK) == hw::DELIVERY_FIXED);
        }
    }
}

TEST_CASE("read-only status bits are not stored and come from hardware", "[vioapic]") {
    Config c   = config();
    c.live_low = [](void*, uint8_t pin) -> uint32_t {
        return pin == OWNED_PIN ? static_cast<uint32_t>(hw::REMOTE_IRR | hw::DELIVERY_STATUS | 0xEE) : 0;
    };
    Vioapic v(c);
    const Action a = write_reg(v, low_index(OWNED_PIN), 0x41 | hw::LEVEL | hw::REMOTE_IRR | hw::DELIVERY_STATUS);
    REQUIRE(a.kind == Kind::ProgramPin);
    CHECK((a.low & (hw::REMOTE_IRR | hw::DELIVERY_STATUS)) == 0);
    CHECK(read_reg(v, low_index(OWNED_PIN)) == (0x41u | hw::LEVEL | hw::REMOTE_IRR | hw::DELIVERY_STATUS));
    Vioapic plain(config());
    REQUIRE(write_reg(plain, low_index(OWNED_PIN), 0x41 | hw::REMOTE_IRR).kind == Kind::ProgramPin);
    CHECK(read_reg(plain, low_index(OWNED_PIN)) == 0x41u);
}

TEST_CASE("remappable format carries the handle, not a destination", "[vioapic]") {
    Vioapic v(config(true));
    const Action a = write_reg(v, low_index(OWNED_PIN), 0x41 | hw::LEVEL);
    REQUIRE(a.kind == Kind::ProgramPin);
    const uint16_t handle = 0x100 + OWNED_PIN;
    CHECK(a.irte_index == handle);
    CHECK(entry(a) == (hw::REMAPPABLE | (uint64_t{handle} << hw::INDEX_LOW_SHIFT) | 0x41 | hw::LEVEL));
    Config c       = config(true);
    c.irte_base    = 0x8000;  // handle bit 15 goes to entry bit 11
    const Action b = translate_entry(c, 1, 0x42);
    CHECK(b.irte_index == 0x8001);
    CHECK(entry(b) == (hw::REMAPPABLE | (1ull << hw::INDEX_LOW_SHIFT) | (1ull << hw::INDEX_HIGH_BIT) | 0x42));
}

TEST_CASE("EOI register: owned vectors pass, others refused, absent on version 0x11", "[vioapic]") {
    Vioapic v(config());
    REQUIRE(write_reg(v, low_index(OWNED_PIN), 0x41 | hw::LEVEL).kind == Kind::ProgramPin);
    Action a = v.write(hw::offset(hw::Mmio::EOI), 4, 0x41);
    CHECK(a.kind == Kind::Eoi);
    CHECK(a.vector == 0x41);
    CHECK(a.pin == OWNED_PIN);
    CHECK(v.write(hw::offset(hw::Mmio::EOI), 4, 0x42).why == Why::ForeignVector);
    CHECK(v.write(hw::offset(hw::Mmio::EOI), 4, 0x00).why == Why::ForeignVector);  // masked reset entries hold vector 0
    CHECK(v.write(hw::offset(hw::Mmio::EOI), 2, 0x41).why == Why::BadAccess);

    Vioapic old(config(false, 0x11));
    REQUIRE(write_reg(old, low_index(OWNED_PIN), 0x41).kind == Kind::ProgramPin);
    CHECK(old.write(hw::offset(hw::Mmio::EOI), 4, 0x41).why == Why::NoSuchRegister);
}

TEST_CASE("config_ok rejects inconsistent configurations", "[vioapic]") {
    CHECK(config_ok(config()));
    Config c = config();
    c.pins   = 0;
    CHECK_FALSE(config_ok(c));
    c      = config();
    c.pins = 65;
    CHECK_FALSE(config_ok(c));
    c = config();
    c.owned |= 1ull << 24;
    CHECK_FALSE(config_ok(c));
    c         = config();
    c.version = 0x13;
    CHECK_FALSE(config_ok(c));
    c               = config();
    c.owner_apic_id = 0xFF;  // xAPIC broadcast
    CHECK_FALSE(config_ok(c));
    c.remapped = true;
    CHECK(config_ok(c));
    c.irte_base = 0xFFF0;
    CHECK_FALSE(config_ok(c));
}

TEST_CASE("a guest physical destination naming another core of the partition is kept", "[vioapic][cores]") {
    Vioapic v(multicore());
    for (uint32_t dest : {SECOND_CORE, THIRD_CORE, OWNER_APIC}) {
        INFO("destination " << dest);
        REQUIRE(write_reg(v, high_index(OWNED_PIN), dest << 24).kind != Kind::Refused);
        const Action a = write_reg(v, low_index(OWNED_PIN), 0x41 | hw::LEVEL);
        REQUIRE(a.kind == Kind::ProgramPin);
        CHECK(a.dest_apic_id == dest);
        CHECK(entry(a) == ((uint64_t{dest} << 56) | 0x41 | hw::LEVEL));
        CHECK(read_reg(v, high_index(OWNED_PIN)) == dest << 24);
    }
    // Lowest priority to one core is Fixed to that core.
    const Action b =
        translate_entry(multicore(), OTHER_OWNED, guest_entry(SECOND_CORE, 0x42 | hw::DELIVERY_LOWEST_PRIORITY));
    REQUIRE(b.kind == Kind::ProgramPin);
    CHECK(b.dest_apic_id == SECOND_CORE);
    CHECK(entry(b) == ((uint64_t{SECOND_CORE} << 56) | 0x42));
}

TEST_CASE("a foreign destination, the broadcast ID or logical mode go to the owner core", "[vioapic][cores]") {
    const Config c = multicore();
    for (uint32_t dest : {OTHER_PARTITION_CORE, 0x00u, 0x7Fu, 0xFEu, 0xFFu}) {
        INFO("destination " << dest);
        const Action a = translate_entry(c, OWNED_PIN, guest_entry(dest, 0x41));
        REQUIRE(a.kind == Kind::ProgramPin);
        CHECK(a.dest_apic_id == OWNER_APIC);
        CHECK(a.high == (OWNER_APIC << 24));
    }
    // Logical mode: bits 63:56 are a logical ID set by each core, never a core here.
    const Action l = translate_entry(c, OWNED_PIN, guest_entry(SECOND_CORE, 0x41 | hw::DEST_LOGICAL));
    REQUIRE(l.kind == Kind::ProgramPin);
    CHECK(l.dest_apic_id == OWNER_APIC);
    CHECK(entry(l) == ((uint64_t{OWNER_APIC} << 56) | 0x41));
    // A one-core partition (no core list) keeps today's behaviour: always the owner.
    const Action o = translate_entry(config(), OWNED_PIN, guest_entry(SECOND_CORE, 0x41));
    CHECK(o.dest_apic_id == OWNER_APIC);
    CHECK(o.high == (OWNER_APIC << 24));
}

TEST_CASE("dest_apic_id is set in remapped and compatibility configs", "[vioapic][cores]") {
    for (bool remapped : {false, true}) {
        INFO("remapped " << remapped);
        Vioapic v(multicore(remapped));
        REQUIRE(write_reg(v, high_index(OWNED_PIN), THIRD_CORE << 24).kind != Kind::Refused);
        const Action a = write_reg(v, low_index(OWNED_PIN), 0x41);
        REQUIRE(a.kind == Kind::ProgramPin);
        CHECK(a.dest_apic_id == THIRD_CORE);
        if (remapped) {
            // The remappable entry carries the handle; the core is the IRTE's.
            const uint16_t handle = 0x100 + OWNED_PIN;
            CHECK(a.irte_index == handle);
            CHECK(entry(a) == (hw::REMAPPABLE | (uint64_t{handle} << hw::INDEX_LOW_SHIFT) | 0x41));
        } else {
            CHECK(a.high == (THIRD_CORE << 24));
        }
        // Single-core configs name the owner too.
        CHECK(translate_entry(config(remapped), OWNED_PIN, 0x41).dest_apic_id == OWNER_APIC);
    }
    // Remapped x2APIC IDs: an 8-bit guest destination never matches a core by its low byte.
    Config x        = config(true);
    x.owner_apic_id = 0x100;
    x.cores[0]      = 0x100;
    x.cores[1]      = 0x103;
    x.core_count    = 2;
    REQUIRE(config_ok(x));
    CHECK(translate_entry(x, OWNED_PIN, guest_entry(0x03, 0x41)).dest_apic_id == 0x100);
}

TEST_CASE("a high-half write that moves a pin to another core reprograms it", "[vioapic][cores]") {
    Vioapic v(multicore());
    REQUIRE(write_reg(v, low_index(OWNED_PIN), 0x50 | hw::LEVEL).kind == Kind::ProgramPin);
    Action a = write_reg(v, high_index(OWNED_PIN), SECOND_CORE << 24);
    REQUIRE(a.kind == Kind::ProgramPin);
    CHECK(a.pin == OWNED_PIN);
    CHECK(a.dest_apic_id == SECOND_CORE);
    CHECK(a.vector == 0x50);
    CHECK(a.level);
    CHECK(entry(a) == ((uint64_t{SECOND_CORE} << 56) | 0x50 | hw::LEVEL));
    // Same core again, or bits the destination does not use: nothing to reprogram.
    CHECK(write_reg(v, high_index(OWNED_PIN), SECOND_CORE << 24).kind == Kind::ShadowOnly);
    CHECK(write_reg(v, high_index(OWNED_PIN), (SECOND_CORE << 24) | 0x00ABCDEF).kind == Kind::ShadowOnly);
    // A foreign destination moves it back to the owner.
    a = write_reg(v, high_index(OWNED_PIN), OTHER_PARTITION_CORE << 24);
    REQUIRE(a.kind == Kind::ProgramPin);
    CHECK(a.dest_apic_id == OWNER_APIC);
    CHECK(write_reg(v, high_index(OWNED_PIN), 0xFF000000).kind == Kind::ShadowOnly);  // still the owner
    CHECK(read_reg(v, high_index(OWNED_PIN)) == 0xFF000000);
}

TEST_CASE("owned pins start masked towards the owner even when core 0 is a partition core", "[vioapic][cores]") {
    Config c   = multicore();
    c.cores[2] = 0;  // the reset entry's destination field is 0
    Vioapic v(c);
    CHECK(v.initial_entry(OWNED_PIN) == ((uint64_t{OWNER_APIC} << 56) | hw::MASKED));
}

TEST_CASE("destination() picks the guest's core or the owner", "[vioapic][cores]") {
    const Config c = multicore();
    CHECK(destination(c, guest_entry(SECOND_CORE, 0)) == SECOND_CORE);
    CHECK(destination(c, guest_entry(THIRD_CORE, 0x41 | hw::MASKED | hw::LEVEL)) == THIRD_CORE);
    CHECK(destination(c, guest_entry(THIRD_CORE, 0x00 | (7u << 8))) == THIRD_CORE);  // vector and mode play no part
    CHECK(destination(c, guest_entry(OWNER_APIC, 0)) == OWNER_APIC);
    CHECK(destination(c, guest_entry(OTHER_PARTITION_CORE, 0)) == OWNER_APIC);
    CHECK(destination(c, guest_entry(0xFF, 0)) == OWNER_APIC);
    CHECK(destination(c, guest_entry(SECOND_CORE, hw::DEST_LOGICAL)) == OWNER_APIC);
    CHECK(destination(c, guest_entry(SECOND_CORE, 0) | 0x00FF000000000000ull) == SECOND_CORE);  // bits 55:32 ignored
    CHECK(destination(config(), guest_entry(SECOND_CORE, 0)) == OWNER_APIC);                    // no core list
    Config two     = multicore();
    two.core_count = 2;  // THIRD_CORE is listed past the count
    CHECK(destination(two, guest_entry(THIRD_CORE, 0)) == OWNER_APIC);
}

TEST_CASE("config_ok checks the core list", "[vioapic][cores]") {
    CHECK(config_ok(multicore()));
    CHECK(config_ok(multicore(true)));
    Config c     = multicore();
    c.core_count = MAX_CORES + 1;
    CHECK_FALSE(config_ok(c));
    c.core_count = MAX_CORES;  // the unused slots hold 0, an ordinary APIC ID
    CHECK(config_ok(c));
    c               = multicore();
    c.owner_apic_id = OTHER_PARTITION_CORE;  // not among the cores
    CHECK_FALSE(config_ok(c));
    c          = multicore();
    c.cores[1] = 0xFF;  // xAPIC broadcast
    CHECK_FALSE(config_ok(c));
    c.remapped = true;  // the IRTE takes any 32-bit ID
    CHECK(config_ok(c));
    c          = multicore();
    c.cores[2] = 0x100;
    CHECK_FALSE(config_ok(c));
    c            = multicore();
    c.core_count = 1;  // only the owner
    CHECK(config_ok(c));
    c.cores[0] = SECOND_CORE;  // ... which must be listed
    CHECK_FALSE(config_ok(c));
}

TEST_CASE("a Config initialised without a core list still means one core", "[vioapic][cores]") {
    // Positional, as hypervisor/arch/x86/devices.cpp writes it.
    const Config c{PINS, 1ull << OWNED_PIN, OWNER_APIC, false, 0, 1, 0x20, nullptr, nullptr};
    CHECK(c.core_count == 0);
    REQUIRE(config_ok(c));
    CHECK(destination(c, guest_entry(SECOND_CORE, 0)) == OWNER_APIC);
    CHECK(destination(c, guest_entry(OWNER_APIC, 0)) == OWNER_APIC);
}

TEST_CASE("to_string names every kind and reason", "[vioapic]") {
    CHECK(std::string(to_string(Why::ForeignPin)).find("partition") != std::string::npos);
    CHECK(std::string(to_string(Kind::ProgramPin)) == "program pin");
}
