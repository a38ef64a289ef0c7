#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "vdev/msix.hpp"

using namespace natsume;
using Kind = msix::Action::Kind;

namespace {

constexpr uint32_t OWNER         = 2;
constexpr uint32_t OWNER_ADDRESS = 0xFEE00000u | OWNER << 12;

// The device's table as the hardware holds it. Every dword store is checked
// against the rule the whole design rests on: an unmasked entry always holds
// the address of one of the partition's cores (the owner's unless a test
// lists more) and a usable vector, so the device can never send a
// half-written or foreign message.
struct HwTable {
    std::vector<uint32_t> dw;
    std::vector<msix::HwWrite> log;
    std::vector<uint32_t> cores{OWNER};
    explicit HwTable(uint16_t entries) : dw(entries * 4u, 0xDEADBEEFu) {
        for (uint16_t i = 0; i < entries; ++i) dw[i * 4u + 3] = 0;  // firmware left them unmasked
    }
    uint32_t at(uint16_t entry, uint32_t field) const { return dw[(entry * msix::ENTRY_SIZE + field) / 4]; }
    bool masked(uint16_t entry) const { return (at(entry, msix::VECTOR_CONTROL) & 1u) != 0; }
    void apply(const msix::Action& a, bool check_safe = true) {
        for (uint8_t i = 0; i < a.count; ++i) {
            const msix::HwWrite& w = a.writes[i];
            REQUIRE(w.offset % 4 == 0);
            REQUIRE(w.offset / 4 < dw.size());
            dw[w.offset / 4] = w.value;
            log.push_back(w);
            const uint16_t e = static_cast<uint16_t>(w.offset / msix::ENTRY_SIZE);
            if (check_safe && !masked(e)) {
                const uint32_t lo = at(e, msix::ADDRESS_LO);
                CHECK((lo & ~0xFF000u) == 0xFEE00000u);  // physical, no redirection hint
                CHECK(std::find(cores.begin(), cores.end(), lo >> 12 & 0xFFu) != cores.end());
                CHECK(at(e, msix::ADDRESS_HI) == 0u);
                CHECK((at(e, msix::DATA) & ~0xFFu) == 0u);  // fixed delivery, edge
                CHECK(at(e, msix::DATA) >= msix::MIN_VECTOR);
            }
        }
    }
};

// A route to the owner and the given other cores of its partition.
msi::Route with_cores(msi::Route r, std::initializer_list<uint32_t> cores) {
    for (uint32_t c : cores) r.cores[r.core_count++] = c;
    return r;
}

// A table of `entries`, initialised and synced into hw as the hypervisor does at boot.
struct Fixture {
    msix::Table t;
    HwTable hw;
    explicit Fixture(uint16_t entries = 8, const msi::Route& route = msi::Route{OWNER}) : hw(entries) {
        if (route.core_count != 0) hw.cores.assign(route.cores, route.cores + route.core_count);
        REQUIRE(t.init(entries, route) == msix::Error::Ok);
        for (uint16_t i = 0; i < entries; ++i) {
            const msix::Action a = t.sync(i);
            CHECK(a.kind == Kind::Handled);
            hw.apply(a, false);  // the first store masks; before it the entry holds firmware garbage
        }
        hw.log.clear();
    }
    msix::Action w(uint16_t entry, uint32_t field, uint32_t value, uint8_t size = 4) {
        const msix::Action a = t.write(entry * msix::ENTRY_SIZE + field, size, value);
        hw.apply(a);
        return a;
    }
    msix::Action w64(uint16_t entry, uint32_t field, uint64_t value) {
        const msix::Action a = t.write(entry * msix::ENTRY_SIZE + field, 8, value);
        hw.apply(a);
        return a;
    }
    uint64_t r(uint16_t entry, uint32_t field, uint8_t size = 4) const {
        return t.read(entry * msix::ENTRY_SIZE + field, size);
    }
};

}  // namespace

TEST_CASE("sync at boot leaves every hardware entry masked, aimed at the owner", "[msix]") {
    Fixture f(8);
    for (uint16_t i = 0; i < 8; ++i) {
        CHECK(f.hw.masked(i));
        CHECK(f.hw.at(i, msix::ADDRESS_LO) == OWNER_ADDRESS);
        CHECK(f.hw.at(i, msix::ADDRESS_HI) == 0u);
        CHECK(f.hw.at(i, msix::DATA) == 0u);
        CHECK_FALSE(f.t.hw_unmasked(i));
        // The guest sees reset values: masked, address and data zero.
        CHECK(f.r(i, msix::VECTOR_CONTROL) == 1u);
        CHECK(f.r(i, msix::ADDRESS_LO) == 0u);
    }
    // Mask is the first store of each synced entry.
    msix::Table t;
    REQUIRE(t.init(4, msi::Route{OWNER}) == msix::Error::Ok);
    const msix::Action a = t.sync(3);
    REQUIRE(a.count == 4);
    CHECK(a.writes[0].offset == 3 * 16 + msix::VECTOR_CONTROL);
    CHECK(a.writes[0].value == msix::VECTOR_MASKED);
    CHECK(t.sync(4).kind == Kind::NotInTable);
}

TEST_CASE("a destination of another core becomes the owner's; the guest reads its own values", "[msix]") {
    Fixture f;
    // Linux's order: address lo, address hi, data, then unmask.
    CHECK(f.w(1, msix::ADDRESS_LO, 0xFEE07000u).kind == Kind::Handled);  // APIC ID 7: another partition's core
    CHECK(f.w(1, msix::ADDRESS_HI, 0).kind == Kind::Handled);
    CHECK(f.w(1, msix::DATA, 0x4041u).kind == Kind::Handled);  // level-triggered asked for, vector 0x41
    CHECK(f.hw.masked(1));
    const msix::Action unmask = f.w(1, msix::VECTOR_CONTROL, 0);
    CHECK(unmask.kind == Kind::Handled);
    REQUIRE(unmask.count == 1);
    CHECK(unmask.writes[0].offset == 16 + msix::VECTOR_CONTROL);
    CHECK(unmask.writes[0].value == 0u);

    CHECK(f.hw.at(1, msix::ADDRESS_LO) == OWNER_ADDRESS);
    CHECK(f.hw.at(1, msix::ADDRESS_HI) == 0u);
    CHECK(f.hw.at(1, msix::DATA) == 0x41u);
    CHECK_FALSE(f.hw.masked(1));
    CHECK(f.t.hw_unmasked(1));

    CHECK(f.r(1, msix::ADDRESS_LO) == 0xFEE07000u);
    CHECK(f.r(1, msix::DATA) == 0x4041u);
    CHECK(f.r(1, msix::VECTOR_CONTROL) == 0u);
    CHECK(f.r(1, msix::DATA + 1, 1) == 0x40u);
    CHECK(f.r(1, msix::ADDRESS_LO + 2, 2) == 0xFEE0u);
    // Other entries are untouched.
    CHECK(f.hw.masked(0));
    CHECK(f.hw.masked(2));
}

TEST_CASE("an unmask before address and data are complete stays masked in hardware", "[msix]") {
    Fixture f;
    CHECK(f.w(0, msix::VECTOR_CONTROL, 0).count == 0);
    CHECK(f.hw.masked(0));
    CHECK(f.r(0, msix::VECTOR_CONTROL) == 0u);   // the guest still sees its own write
    CHECK(f.w(0, msix::DATA, 0x30).count == 0);  // no address yet
    CHECK(f.hw.masked(0));
    CHECK_FALSE(f.t.hw_unmasked(0));

    // The address completes the entry: program, then unmask, in that order.
    const msix::Action a = f.w(0, msix::ADDRESS_LO, 0xFEE00000u);
    REQUIRE(a.count == 4);
    CHECK(a.writes[0].offset == msix::ADDRESS_LO);
    CHECK(a.writes[1].offset == msix::ADDRESS_HI);
    CHECK(a.writes[2].offset == msix::DATA);
    CHECK(a.writes[2].value == 0x30u);
    CHECK(a.writes[3].offset == msix::VECTOR_CONTROL);
    CHECK(a.writes[3].value == 0u);
    CHECK_FALSE(f.hw.masked(0));
}

TEST_CASE("a live entry is masked while its vector changes, then unmasked", "[msix]") {
    Fixture f;
    f.w(2, msix::ADDRESS_LO, 0xFEE00000u);
    f.w(2, msix::DATA, 0x50);
    f.w(2, msix::VECTOR_CONTROL, 0);
    REQUIRE_FALSE(f.hw.masked(2));
    f.hw.log.clear();

    const msix::Action a = f.w(2, msix::DATA, 0x51);
    REQUIRE(a.count == 5);
    CHECK(a.writes[0].offset == 2 * 16 + msix::VECTOR_CONTROL);
    CHECK(a.writes[0].value == 1u);
    CHECK(a.writes[3].offset == 2 * 16 + msix::DATA);
    CHECK(a.writes[3].value == 0x51u);
    CHECK(a.writes[4].offset == 2 * 16 + msix::VECTOR_CONTROL);
    CHECK(a.writes[4].value == 0u);

    // Rewriting the same data or a new foreign address changes nothing in hardware.
    CHECK(f.w(2, msix::DATA, 0x51).count == 0);
    CHECK(f.w(2, msix::ADDRESS_LO, 0xFEE0F00Cu).count == 0);
    CHECK(f.r(2, msix::ADDRESS_LO) == 0xFEE0F00Cu);
    // Guest masking and unmasking: one store each.
    const msix::Action m = f.w(2, msix::VECTOR_CONTROL, 1);
    REQUIRE(m.count == 1);
    CHECK(m.writes[0].value == 1u);
    CHECK(f.hw.masked(2));
    CHECK(f.w(2, msix::VECTOR_CONTROL, 1).count == 0);
    CHECK(f.w(2, msix::VECTOR_CONTROL, 0).count == 1);
    CHECK_FALSE(f.hw.masked(2));
}

TEST_CASE("vectors below 16 are refused and the entry stays masked", "[msix]") {
    Fixture f;
    f.w(3, msix::ADDRESS_LO, 0xFEE00000u);
    // While the guest keeps the entry masked, a reserved vector is only held.
    CHECK(f.w(3, msix::DATA, 0x0E).kind == Kind::Handled);
    const msix::Action a = f.w(3, msix::VECTOR_CONTROL, 0);
    CHECK(a.kind == Kind::Refused);
    REQUIRE(a.why != nullptr);
    CHECK(std::string(a.why).find("vector") != std::string::npos);
    CHECK(f.hw.masked(3));
    CHECK(f.hw.at(3, msix::DATA) == 0u);  // never written to the device
    CHECK(f.r(3, msix::DATA) == 0x0Eu);

    // A live entry switched to a reserved vector is masked at once.
    f.w(4, msix::ADDRESS_LO, 0xFEE00000u);
    f.w(4, msix::DATA, 0x60);
    f.w(4, msix::VECTOR_CONTROL, 0);
    REQUIRE_FALSE(f.hw.masked(4));
    const msix::Action b = f.w(4, msix::DATA, 0x02);
    CHECK(b.kind == Kind::Refused);
    REQUIRE(b.count == 1);
    CHECK(b.writes[0].value == 1u);
    CHECK(f.hw.masked(4));
    CHECK(f.hw.at(4, msix::DATA) == 0x60u);

    // Fixing the vector delivers again.
    CHECK(f.w(3, msix::DATA, 0x22).kind == Kind::Handled);
    CHECK_FALSE(f.hw.masked(3));
    CHECK(f.hw.at(3, msix::DATA) == 0x22u);
}

TEST_CASE("qword accesses cover address lo+hi and data+vector control", "[msix]") {
    Fixture f;
    CHECK(f.w64(5, msix::ADDRESS_LO, 0x00000000FEE05000ull).count == 0);
    CHECK(f.r(5, msix::ADDRESS_LO, 8) == 0x00000000FEE05000ull);
    CHECK(f.r(5, msix::ADDRESS_HI) == 0u);
    // Data 0x91 and vector control 0 in one store: programmed and unmasked.
    const msix::Action a = f.w64(5, msix::DATA, 0x0000000000000091ull);
    REQUIRE(a.count == 4);
    CHECK(a.writes[3].offset == 5 * 16 + msix::VECTOR_CONTROL);
    CHECK(a.writes[3].value == 0u);
    CHECK_FALSE(f.hw.masked(5));
    CHECK(f.hw.at(5, msix::DATA) == 0x91u);
    CHECK(f.r(5, msix::DATA, 8) == 0x91ull);
    // Mask through the upper half of a qword.
    CHECK(f.w64(5, msix::DATA, 0x0000000100000091ull).count == 1);
    CHECK(f.hw.masked(5));
    CHECK(f.r(5, msix::DATA, 8) == 0x0000000100000091ull);
    // A qword that straddles two dwords of different qwords is undefined: dropped.
    CHECK(f.t.write(5 * 16 + 4, 8, 0).count == 0);
    CHECK(f.r(5, msix::ADDRESS_HI) == 0u);
    CHECK(f.t.read(5 * 16 + 4, 8) == ~0ull);
}

TEST_CASE("sub-dword writes merge into the guest's entry", "[msix]") {
    Fixture f;
    f.w(6, msix::ADDRESS_LO, 0xFEE00000u);
    f.w(6, msix::DATA, 0x7700, 2);  // upper byte only: vector still 0
    CHECK(f.r(6, msix::DATA) == 0x7700u);
    // Complete while the guest keeps it masked: programmed now, still masked.
    CHECK(f.w(6, msix::DATA, 0x35, 1).count == 3);
    CHECK(f.hw.masked(6));
    CHECK(f.r(6, msix::DATA) == 0x7735u);
    CHECK(f.w(6, msix::VECTOR_CONTROL, 0, 1).count == 1);
    CHECK_FALSE(f.hw.masked(6));
    CHECK(f.hw.at(6, msix::DATA) == 0x35u);
    // Reserved vector control bits read back as written; only bit 0 reaches hardware.
    f.w(6, msix::VECTOR_CONTROL + 2, 0xABCD, 2);
    CHECK(f.r(6, msix::VECTOR_CONTROL) == 0xABCD0000u);
    CHECK(f.hw.at(6, msix::VECTOR_CONTROL) == 0u);
    // Misaligned word and odd sizes are undefined: dropped, read as all ones.
    CHECK(f.t.write(6 * 16 + 1, 2, 0xFFFF).count == 0);
    CHECK(f.t.write(6 * 16, 3, 0xFFFFFF).count == 0);
    CHECK(f.r(6, msix::DATA) == 0x7735u);
    CHECK(f.t.read(6 * 16 + 1, 2) == 0xFFFFu);
}

TEST_CASE("accesses beyond the table are not the table's", "[msix]") {
    Fixture f(8);
    CHECK(f.t.contains(8 * 16 - 4));
    CHECK_FALSE(f.t.contains(8 * 16));
    CHECK(f.t.write(8 * 16, 4, 0).kind == Kind::NotInTable);
    CHECK(f.t.write(0x1000, 8, 0).kind == Kind::NotInTable);
    CHECK(f.t.read(8 * 16, 4) == 0xFFFFFFFFu);
    CHECK(f.hw.log.empty());
}

TEST_CASE("entries beyond the kept 64 stay masked; unmasking one is refused", "[msix]") {
    Fixture f(2048);
    CHECK(f.t.entries() == 2048);
    CHECK(f.hw.masked(2047));
    CHECK(f.hw.at(2047, msix::ADDRESS_LO) == OWNER_ADDRESS);
    // Masking (as Linux does for every entry at init) and programming are dropped silently.
    CHECK(f.w(100, msix::VECTOR_CONTROL, 1).kind == Kind::Handled);
    CHECK(f.w(100, msix::DATA, 0x40).count == 0);
    CHECK(f.w64(100, msix::ADDRESS_LO, 0xFEE00000ull).kind == Kind::Handled);
    const msix::Action a = f.w(100, msix::VECTOR_CONTROL, 0);
    CHECK(a.kind == Kind::Refused);
    CHECK(a.count == 0);
    REQUIRE(a.why != nullptr);
    CHECK(std::string(a.why).find("64") != std::string::npos);
    CHECK(f.w64(100, msix::DATA, 0x40ull).kind == Kind::Refused);           // unmask in the qword's upper half
    CHECK(f.w(100, msix::VECTOR_CONTROL + 1, 0, 1).kind == Kind::Handled);  // does not touch bit 0
    CHECK(f.hw.masked(100));
    CHECK(f.r(100, msix::VECTOR_CONTROL) == 1u);
    CHECK(f.r(100, msix::DATA) == 0u);
    // The last kept entry still works.
    f.w(63, msix::ADDRESS_LO, 0xFEE00000u);
    f.w(63, msix::DATA, 0x99);
    f.w(63, msix::VECTOR_CONTROL, 0);
    CHECK_FALSE(f.hw.masked(63));
    CHECK(sizeof(msix::Table) < 2048);  // bounded, whatever the device's table size
}

TEST_CASE("init and set_owner check their arguments", "[msix]") {
    msix::Table t;
    CHECK(t.init(0, msi::Route{1}) == msix::Error::BadTableSize);
    CHECK(t.init(2049, msi::Route{1}) == msix::Error::BadTableSize);
    CHECK(t.init(1, msi::Route{256}) == msix::Error::ApicIdTooLarge);
    CHECK(t.init(2048, msi::Route{255}) == msix::Error::Ok);
    CHECK(t.owner_apic_id() == 255);
    CHECK(t.set_owner(300, nullptr, 0) == msix::Error::ApicIdTooLarge);
    CHECK(t.owner_apic_id() == 255);
    CHECK(std::strlen(msix::to_string(msix::Error::ApicIdTooLarge)) > 10);
}

TEST_CASE("set_owner then sync moves live entries to the new core, masked meanwhile", "[msix]") {
    Fixture f;
    f.w(1, msix::ADDRESS_LO, 0xFEE00000u);
    f.w(1, msix::DATA, 0x44);
    f.w(1, msix::VECTOR_CONTROL, 0);
    REQUIRE(f.t.set_owner(5, nullptr, 0) == msix::Error::Ok);
    const msix::Action a = f.t.sync(1);
    f.hw.apply(a, false);  // the helper's safety check knows only the old owner
    REQUIRE(a.count == 5);
    CHECK(a.writes[0].offset == 16 + msix::VECTOR_CONTROL);
    CHECK(a.writes[0].value == 1u);
    CHECK(a.writes[4].offset == 16 + msix::VECTOR_CONTROL);
    CHECK(a.writes[4].value == 0u);
    CHECK(f.hw.at(1, msix::ADDRESS_LO) == (0xFEE00000u | 5u << 12));
    CHECK(f.hw.at(1, msix::DATA) == 0x44u);
    CHECK_FALSE(f.hw.masked(1));
    // An entry the guest never unmasked stays masked after the move.
    const msix::Action b = f.t.sync(0);
    f.hw.apply(b, false);
    CHECK(b.count == 4);
    CHECK(f.hw.masked(0));
}

namespace {
// A remapping route as the hypervisor's: slot n is remapping entry 100 + n,
// the message names it (remappable format, data 0), and the "unit" refuses
// vector 0xEE.
struct FakeRemap {
    struct Programmed {
        uint8_t vector;
        uint32_t apic_id;
        int times;
    };
    Programmed slots[msix::MAX_VECTORS]{};
    static uint32_t address(uint16_t slot) { return 0xFEE00010u | (100u + slot) << 5; }
    static const char* route(void* ctx, uint16_t slot, uint8_t vector, uint32_t apic_id, msi::Message& out) {
        auto& r = *static_cast<FakeRemap*>(ctx);
        if (vector == 0xEE) return "remapping entry refused";
        r.slots[slot] = {vector, apic_id, r.slots[slot].times + 1};
        out           = {address(slot), 0};
        return nullptr;
    }
};
}  // namespace

TEST_CASE("remapped MSI-X: each entry names its own remapping entry, which carries vector and owner", "[msix][remap]") {
    FakeRemap remap;
    msix::Table t;
    REQUIRE(t.init(4, msi::Route{OWNER, FakeRemap::route, &remap}) == msix::Error::Ok);
    HwTable hw(4);
    for (uint16_t i = 0; i < 4; ++i) hw.apply(t.sync(i), false);
    for (uint16_t i = 0; i < 4; ++i) CHECK(hw.masked(i));
    CHECK(remap.slots[2].times == 0);  // nothing routed before the guest programs an entry

    auto w = [&](uint16_t e, uint32_t field, uint32_t v) {
        msix::Action a = t.write(e * msix::ENTRY_SIZE + field, 4, v);
        hw.apply(a, false);
        return a;
    };
    w(2, msix::ADDRESS_LO, 0xFEE07000u);  // another core: ignored
    w(2, msix::DATA, 0x4051u);            // level asked for, vector 0x51
    CHECK(w(2, msix::VECTOR_CONTROL, 0).kind == Kind::Handled);
    CHECK_FALSE(hw.masked(2));
    CHECK(hw.at(2, msix::ADDRESS_LO) == FakeRemap::address(2));
    CHECK(hw.at(2, msix::ADDRESS_HI) == 0u);
    CHECK(hw.at(2, msix::DATA) == 0u);
    CHECK(remap.slots[2].vector == 0x51);
    CHECK(remap.slots[2].apic_id == OWNER);
    CHECK(remap.slots[2].times == 1);
    // The guest sees what it wrote.
    CHECK(t.read(2 * msix::ENTRY_SIZE + msix::DATA, 4) == 0x4051u);

    // A new vector re-routes the same slot; the message stays the same.
    w(2, msix::DATA, 0x52u);
    CHECK(remap.slots[2].vector == 0x52);
    CHECK(hw.at(2, msix::ADDRESS_LO) == FakeRemap::address(2));
    CHECK_FALSE(hw.masked(2));

    // A vector the unit refuses: the entry is masked and the refusal reported.
    const msix::Action refused = w(2, msix::DATA, 0xEEu);
    CHECK(refused.kind == Kind::Refused);
    CHECK(std::string(refused.why) == "remapping entry refused");
    CHECK(hw.masked(2));
    CHECK(remap.slots[2].vector == 0x52);  // the unit kept the old entry

    // Moving the owner re-routes live entries to the new core.
    w(2, msix::DATA, 0x53u);
    REQUIRE(t.set_owner(0x1234, nullptr, 0) == msix::Error::Ok);  // x2APIC ids are fine when remapped
    hw.apply(t.sync(2), false);
    CHECK(remap.slots[2].apic_id == 0x1234u);
    CHECK(remap.slots[2].vector == 0x53);
    CHECK_FALSE(hw.masked(2));
}

TEST_CASE("remapped MSI-X: a refused route at sync keeps the entry masked and says why", "[msix][remap]") {
    FakeRemap remap;
    msix::Table t;
    REQUIRE(t.init(2, msi::Route{OWNER, FakeRemap::route, &remap}) == msix::Error::Ok);
    HwTable hw(2);
    hw.apply(t.sync(0), false);
    hw.apply(t.write(0 * msix::ENTRY_SIZE + msix::ADDRESS_LO, 4, 0xFEE00000u), false);
    hw.apply(t.write(0 * msix::ENTRY_SIZE + msix::DATA, 4, 0xEEu), false);
    const msix::Action a = t.write(0 * msix::ENTRY_SIZE + msix::VECTOR_CONTROL, 4, 0);
    hw.apply(a, false);
    CHECK(a.kind == Kind::Refused);
    CHECK(hw.masked(0));
    const msix::Action s = t.sync(0);
    hw.apply(s, false);
    CHECK(s.kind == Kind::Refused);
    CHECK(s.count <= msix::MAX_HW_WRITES);
    CHECK(hw.masked(0));
    CHECK(hw.at(0, msix::ADDRESS_LO) == msi::compatibility(OWNER, 0).address);  // idle message
}

TEST_CASE("compatibility messages: owner in bits 19:12, vector in the data", "[msix][remap]") {
    CHECK(msi::compatibility(2, 0x41) == msi::Message{0xFEE02000u, 0x41});
    CHECK(msi::compatibility(0xFF, 0x10).address == 0xFEEFF000u);
    msi::Route plain{3};
    msi::Message m{};
    CHECK(plain.message(0, 0x60, 3, m) == nullptr);
    CHECK(m == msi::Message{0xFEE03000u, 0x60});
    CHECK_FALSE(plain.remapped());
    CHECK(plain.idle() == msi::Message{0xFEE03000u, 0});
}

// ---- partitions with several cores

namespace {
constexpr uint32_t SECOND         = 3;  // the partition's other core
constexpr uint32_t SECOND_ADDRESS = 0xFEE00000u | SECOND << 12;
constexpr uint32_t FOREIGN        = 7;  // another partition's core
}  // namespace

TEST_CASE("a Route written without a core list means one core", "[msix][cores]") {
    const msi::Route plain{OWNER};
    CHECK(plain.core_count == 0);
    CHECK(plain.check() == msi::RouteError::Ok);
    CHECK(plain.is_core(OWNER));
    CHECK_FALSE(plain.is_core(SECOND));
    CHECK(plain.destination(OWNER_ADDRESS) == OWNER);
    CHECK(plain.destination(SECOND_ADDRESS) == OWNER);
    msi::Message m{};
    CHECK(plain.message(0, 0x60, SECOND, m) == nullptr);  // not a core: the owner's
    CHECK(m == msi::Message{OWNER_ADDRESS, 0x60});
    int ctx = 0;
    const msi::Route remapped{
        OWNER, [](void*, uint16_t, uint8_t, uint32_t, msi::Message&) -> const char* { return nullptr; }, &ctx};
    CHECK(remapped.core_count == 0);
    CHECK(remapped.destination(SECOND_ADDRESS) == OWNER);

    // A table on such a route keeps every entry on the owner whatever the guest names.
    Fixture f;
    f.w(1, msix::ADDRESS_LO, SECOND_ADDRESS);
    f.w(1, msix::DATA, 0x41);
    f.w(1, msix::VECTOR_CONTROL, 0);
    CHECK(f.t.hw_unmasked(1));
    CHECK(f.hw.at(1, msix::ADDRESS_LO) == OWNER_ADDRESS);
    CHECK(f.t.hw_destination(1) == OWNER);
}

TEST_CASE("Route::destination keeps a physical destination naming a core, else the owner", "[msix][cores]") {
    const msi::Route r = with_cores(msi::Route{OWNER}, {OWNER, SECOND, 0xFF});
    REQUIRE(r.check() == msi::RouteError::Ok);
    CHECK(r.destination(SECOND_ADDRESS) == SECOND);
    CHECK(r.destination(OWNER_ADDRESS) == OWNER);
    CHECK(r.destination(SECOND_ADDRESS | 1u << 3) == SECOND);            // redirection hint, physical mode
    CHECK(r.destination(SECOND_ADDRESS | 0x1Cu) == OWNER);               // logical mode: bit 2
    CHECK(r.destination(SECOND_ADDRESS | 1u << 2) == OWNER);             // logical mode alone
    CHECK(r.destination(0xFEE00000u | FOREIGN << 12) == OWNER);          // another partition's core
    CHECK(r.destination(0xFEEFF000u) == OWNER);                          // broadcast, even with 0xFF listed
    CHECK(r.destination(uint64_t{1} << 32 | SECOND_ADDRESS) == SECOND);  // other bits play no part
    msi::Message m{};
    CHECK(r.message(0, 0x61, SECOND, m) == nullptr);
    CHECK(m == msi::Message{SECOND_ADDRESS, 0x61});
    CHECK(r.message(0, 0x61, FOREIGN, m) == nullptr);
    CHECK(m == msi::Message{OWNER_ADDRESS, 0x61});
}

TEST_CASE("a second core the guest names keeps its MSI-X entry; foreign and logical ones go to the owner",
          "[msix][cores]") {
    Fixture f(8, with_cores(msi::Route{OWNER}, {OWNER, SECOND}));
    auto live = [&](uint16_t e, uint32_t address) {
        f.w(e, msix::ADDRESS_LO, address);
        f.w(e, msix::ADDRESS_HI, 0);
        f.w(e, msix::DATA, 0x40u + e);
        f.w(e, msix::VECTOR_CONTROL, 0);
        REQUIRE(f.t.hw_unmasked(e));
        CHECK(f.hw.at(e, msix::DATA) == 0x40u + e);
        CHECK(f.r(e, msix::ADDRESS_LO) == address);  // the guest reads its own value
        return f.hw.at(e, msix::ADDRESS_LO);
    };
    CHECK(live(1, SECOND_ADDRESS) == SECOND_ADDRESS);
    CHECK(f.t.hw_destination(1) == SECOND);
    CHECK(live(2, OWNER_ADDRESS) == OWNER_ADDRESS);
    CHECK(f.t.hw_destination(2) == OWNER);
    CHECK(live(3, 0xFEE00000u | FOREIGN << 12) == OWNER_ADDRESS);
    CHECK(live(4, SECOND_ADDRESS | 1u << 2) == OWNER_ADDRESS);  // logical destination 3
    CHECK(live(5, 0xFEEFF000u) == OWNER_ADDRESS);               // broadcast
    CHECK(f.t.hw_destination(5) == OWNER);
    // sync rebuilds the same entry from scratch.
    f.hw.apply(f.t.sync(1));
    CHECK(f.hw.at(1, msix::ADDRESS_LO) == SECOND_ADDRESS);
    CHECK(f.t.hw_unmasked(1));
}

TEST_CASE("a destination-only change reprograms the live MSI-X entry, masked meanwhile", "[msix][cores]") {
    Fixture f(8, with_cores(msi::Route{OWNER}, {OWNER, SECOND}));
    f.w(2, msix::ADDRESS_LO, OWNER_ADDRESS);
    f.w(2, msix::DATA, 0x50);
    f.w(2, msix::VECTOR_CONTROL, 0);
    REQUIRE(f.t.hw_unmasked(2));

    // Linux moving the vector's CPU: same vector, the other core's address.
    const msix::Action a = f.w(2, msix::ADDRESS_LO, SECOND_ADDRESS);
    CHECK(a.kind == Kind::Handled);
    REQUIRE(a.count == 5);
    CHECK(a.writes[0].offset == 2 * 16 + msix::VECTOR_CONTROL);
    CHECK(a.writes[0].value == 1u);
    CHECK(a.writes[1].offset == 2 * 16 + msix::ADDRESS_LO);
    CHECK(a.writes[1].value == SECOND_ADDRESS);
    CHECK(a.writes[3].value == 0x50u);
    CHECK(a.writes[4].offset == 2 * 16 + msix::VECTOR_CONTROL);
    CHECK(a.writes[4].value == 0u);
    CHECK(f.t.hw_destination(2) == SECOND);
    CHECK_FALSE(f.hw.masked(2));

    // Back to a destination that means the owner: reprogrammed again.
    const msix::Action b = f.w(2, msix::ADDRESS_LO, 0xFEE00000u | FOREIGN << 12);
    REQUIRE(b.count == 5);
    CHECK(f.hw.at(2, msix::ADDRESS_LO) == OWNER_ADDRESS);
    // Another address meaning the same core changes nothing in hardware.
    CHECK(f.w(2, msix::ADDRESS_LO, OWNER_ADDRESS).count == 0);
    CHECK(f.w(2, msix::ADDRESS_LO, SECOND_ADDRESS | 1u << 2).count == 0);  // logical: the owner
    // A byte write that only clears the mode bit now names core 3.
    CHECK(f.w(2, msix::ADDRESS_LO, 0, 1).count == 5);
    CHECK(f.hw.at(2, msix::ADDRESS_LO) == SECOND_ADDRESS);
    // A byte write to bits 15:8 moves the destination too.
    CHECK(f.w(2, msix::ADDRESS_LO + 1, OWNER << 4, 1).count == 5);
    CHECK(f.hw.at(2, msix::ADDRESS_LO) == OWNER_ADDRESS);
    CHECK(f.w(2, msix::ADDRESS_LO + 1, SECOND << 4, 1).count == 5);

    // A masked entry is reprogrammed without the mask dance and stays masked.
    f.w(2, msix::VECTOR_CONTROL, 1);
    const msix::Action c = f.w(2, msix::ADDRESS_LO, OWNER_ADDRESS);
    REQUIRE(c.count == 3);
    CHECK(c.writes[0].offset == 2 * 16 + msix::ADDRESS_LO);
    CHECK(f.hw.masked(2));
    CHECK(f.t.hw_destination(2) == OWNER);
}

TEST_CASE("remapped MSI-X: the remapping entry gets the core the guest names", "[msix][remap][cores]") {
    FakeRemap remap;
    msix::Table t;
    REQUIRE(t.init(4, with_cores(msi::Route{OWNER, FakeRemap::route, &remap}, {OWNER, SECOND, 0x1234})) ==
            msix::Error::Ok);
    HwTable hw(4);
    for (uint16_t i = 0; i < 4; ++i) hw.apply(t.sync(i), false);
    auto w = [&](uint16_t e, uint32_t field, uint32_t v) {
        msix::Action a = t.write(e * msix::ENTRY_SIZE + field, 4, v);
        hw.apply(a, false);
        return a;
    };
    w(1, msix::ADDRESS_LO, SECOND_ADDRESS);
    w(1, msix::DATA, 0x61);
    w(1, msix::VECTOR_CONTROL, 0);
    CHECK_FALSE(hw.masked(1));
    CHECK(remap.slots[1].apic_id == SECOND);
    CHECK(remap.slots[1].vector == 0x61);
    CHECK(remap.slots[1].times == 1);
    CHECK(hw.at(1, msix::ADDRESS_LO) == FakeRemap::address(1));

    // Destination only: the remapping entry is re-pointed, the message stays.
    w(1, msix::ADDRESS_LO, OWNER_ADDRESS);
    CHECK(remap.slots[1].apic_id == OWNER);
    CHECK(remap.slots[1].times == 2);
    CHECK(hw.at(1, msix::ADDRESS_LO) == FakeRemap::address(1));
    CHECK_FALSE(hw.masked(1));
    w(1, msix::ADDRESS_LO, SECOND_ADDRESS);
    CHECK(remap.slots[1].apic_id == SECOND);
    // Foreign and logical destinations reach the owner.
    w(1, msix::ADDRESS_LO, 0xFEE00000u | FOREIGN << 12);
    CHECK(remap.slots[1].apic_id == OWNER);
    w(1, msix::ADDRESS_LO, SECOND_ADDRESS | 1u << 2);
    CHECK(remap.slots[1].apic_id == OWNER);
    CHECK(remap.slots[1].times == 4);  // the logical write meant the owner already: no new route
    // A core whose APIC ID does not fit 8 bits cannot be named by the guest's address.
    w(1, msix::ADDRESS_LO, 0xFEE34000u);
    CHECK(remap.slots[1].apic_id == OWNER);
}

TEST_CASE("init and set_owner refuse core lists that do not fit", "[msix][cores]") {
    msix::Table t;
    CHECK(t.init(4, with_cores(msi::Route{OWNER}, {SECOND, 4})) == msix::Error::OwnerNotACore);
    CHECK(t.init(4, with_cores(msi::Route{OWNER}, {OWNER, 256})) == msix::Error::ApicIdTooLarge);
    msi::Route nine{OWNER};
    nine.cores[0]   = OWNER;
    nine.core_count = msi::MAX_CORES + 1;
    CHECK(t.init(4, nine) == msix::Error::TooManyCores);
    FakeRemap remap;
    CHECK(t.init(4, with_cores(msi::Route{OWNER, FakeRemap::route, &remap}, {OWNER, 0x1234})) == msix::Error::Ok);
    CHECK(t.init(4, with_cores(msi::Route{OWNER, FakeRemap::route, &remap}, {0x1234})) == msix::Error::OwnerNotACore);

    REQUIRE(t.init(4, with_cores(msi::Route{OWNER}, {OWNER, SECOND})) == msix::Error::Ok);
    const uint32_t good[] = {OWNER, SECOND}, wide[] = {OWNER, SECOND, 300};
    uint32_t many[msi::MAX_CORES + 1] = {};
    CHECK(t.set_owner(5, good, 2) == msix::Error::OwnerNotACore);
    CHECK(t.set_owner(SECOND, wide, 3) == msix::Error::ApicIdTooLarge);
    CHECK(t.set_owner(0, many, msi::MAX_CORES + 1) == msix::Error::TooManyCores);
    CHECK(t.set_owner(256, nullptr, 0) == msix::Error::ApicIdTooLarge);
    // Refused: the route is as before.
    CHECK(t.owner_apic_id() == OWNER);
    CHECK(t.route().core_count == 2);
    CHECK(t.route().is_core(SECOND));
    // Accepted: the new owner and cores, the owner alone without a list.
    CHECK(t.set_owner(SECOND, good, 2) == msix::Error::Ok);
    CHECK(t.owner_apic_id() == SECOND);
    CHECK(t.route().is_core(OWNER));
    CHECK(t.set_owner(9, nullptr, 0) == msix::Error::Ok);
    CHECK(t.route().core_count == 0);
    CHECK_FALSE(t.route().is_core(OWNER));
    CHECK(std::string(msix::to_string(msix::Error::OwnerNotACore)) !=
          std::string(msix::to_string(msix::Error::TooManyCores)));
}

TEST_CASE("set_owner with a core list then sync keeps entries on the cores the guest named", "[msix][cores]") {
    Fixture f(8, with_cores(msi::Route{OWNER}, {OWNER, SECOND}));
    f.w(1, msix::ADDRESS_LO, SECOND_ADDRESS);
    f.w(1, msix::DATA, 0x44);
    f.w(1, msix::VECTOR_CONTROL, 0);
    REQUIRE(f.hw.at(1, msix::ADDRESS_LO) == SECOND_ADDRESS);
    // The partition moves to cores 5 and 6: the guest's core 3 is none of them.
    const uint32_t moved[] = {5, 6};
    REQUIRE(f.t.set_owner(5, moved, 2) == msix::Error::Ok);
    f.hw.cores = {5, 6};
    f.hw.apply(f.t.sync(1));
    CHECK(f.hw.at(1, msix::ADDRESS_LO) == (0xFEE00000u | 5u << 12));
    CHECK_FALSE(f.hw.masked(1));
    // The guest follows and names core 6.
    CHECK(f.w(1, msix::ADDRESS_LO, 0xFEE06000u).count == 5);
    CHECK(f.hw.at(1, msix::ADDRESS_LO) == 0xFEE06000u);
}
