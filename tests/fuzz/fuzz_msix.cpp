// MSI-X (hypervisor/vdev/msix.cpp): locate() on the MSI-X test machine
// (tests/unit/msix/msix_machine.hpp) with fuzzed Message Control and
// Table/PBA Offset/BIR registers, then a Table with a fuzzed size, owner and
// core list (the owner among it or not, APIC IDs mostly small enough for a
// guest address to name them) driven by a sequence of guest table writes and
// reads and moves to other cores, in compatibility format or through a fake
// interrupt-remapping route (one remapping slot per entry, which refuses
// vector 0xEE as a unit might).
//
// A model of the hardware table applies every HwWrite the Table asks for.
// Asserts: init and set_owner accept exactly the core lists that fit (at
// most MAX_CORES, the owner among them, APIC IDs 0-255 without remapping)
// and a refused set_owner keeps the route; located table and PBA lie inside
// their memory BARs and the trapped pages cover the table; writes stay in
// the table, at most MAX_HW_WRITES, all in one entry, dword aligned; an
// entry whose address or data changes is masked in hardware first; an entry
// unmasked in hardware always delivers to one of the configured cores: the
// guest's physical destination (address bits 19:12, bit 2 clear, not 0xFF)
// when it is one of them, the owner otherwise, so a destination-only change
// reprograms it; it holds that core's address (physical, no redirection
// hint), address high 0, fixed delivery, edge, a vector >= 0x10 (the
// guest's), and never lies beyond the MAX_VECTORS entries kept;
// hw_unmasked() and hw_destination() agree with the model; reads carry only
// `size` bytes. Remapped: an unmasked entry holds its own slot's remappable
// address with data 0, and that slot was last programmed with the guest's
// vector and that core.
#include <array>
#include <fuzzer/FuzzedDataProvider.h>
#include <vector>

#include "fuzz_util.hpp"
#include "msix_machine.hpp"
#include "vdev/msix.hpp"

using namespace natsume;
using namespace natsume::test;
using msix::Action;

namespace {

MsixMachine& machine() {
    static MsixMachine m;
    return m;
}

void check_locate(FuzzedDataProvider& in) {
    MsixMachine& m      = machine();
    FakeConfigSpace& hw = m.hw;
    set_msix_regs(hw, in.ConsumeIntegral<uint16_t>(), in.ConsumeIntegral<uint32_t>(), in.ConsumeIntegral<uint32_t>());
    const pci::Function* fn = m.fn(PCIE_DEV);
    FUZZ_CHECK(fn != nullptr);
    msix::Location loc{};
    if (!msix::locate(*fn, hw.access(), MSI_X, loc)) return;
    FUZZ_CHECK(loc.table_entries >= 1 && loc.table_entries <= msix::MAX_TABLE_ENTRIES);
    FUZZ_CHECK(loc.table_bytes == loc.table_entries * msix::ENTRY_SIZE);
    auto inside_bar = [&](uint8_t bir, uint64_t address, uint32_t bytes) {
        for (size_t i = 0; i < fn->bar_count; ++i) {
            const pci::Bar& b = fn->bars[i];
            if (b.index == bir && !b.io) return address >= b.base && address - b.base + bytes <= b.size;
        }
        return false;
    };
    FUZZ_CHECK(inside_bar(loc.table_bar, loc.table_address, loc.table_bytes));
    FUZZ_CHECK(inside_bar(loc.pba_bar, loc.pba_address, loc.pba_bytes));
    FUZZ_CHECK(loc.table_first_page % msix::PAGE_SIZE == 0 && loc.table_first_page <= loc.table_address);
    FUZZ_CHECK(loc.table_first_page + uint64_t{loc.table_page_count} * msix::PAGE_SIZE >=
               loc.table_address + loc.table_bytes);
    const uint64_t probe = loc.table_first_page + in.ConsumeIntegral<uint16_t>();
    const uint32_t off   = msix::offset_in_table(loc, probe);
    if (off != msix::NOT_IN_TABLE) FUZZ_CHECK(off < loc.table_bytes && msix::in_table_pages(loc, probe));
}

// The remapping slots a remapped Table programmed, as a unit's table would hold them.
struct FakeRemap {
    static constexpr uint8_t REFUSED_VECTOR = 0xEE;
    uint8_t vector[msix::MAX_VECTORS];
    uint32_t apic[msix::MAX_VECTORS];
    static uint64_t address(uint16_t slot) { return msi::ADDRESS_BASE | 0x10u | uint64_t{slot} << 5; }
    static const char* route(void* ctx, uint16_t slot, uint8_t vector, uint32_t apic_id, msi::Message& out) {
        auto& r = *static_cast<FakeRemap*>(ctx);
        FUZZ_CHECK(slot < msix::MAX_VECTORS && vector >= msi::MIN_VECTOR);
        if (vector == REFUSED_VECTOR) return "fake unit refused the entry";
        r.vector[slot] = vector;
        r.apic[slot]   = apic_id;
        out            = {address(slot), 0};
        return nullptr;
    }
};
FakeRemap remap;
bool remapped;

// The route's cores as the harness chose them, kept apart from the Table's.
struct Cores {
    uint32_t owner;
    uint32_t list[msi::MAX_CORES + 1];
    uint8_t count;
    FUZZ_MODEL bool listed(uint32_t apic_id) const {
        if (count == 0) return apic_id == owner;
        for (uint8_t i = 0; i < count && i < msi::MAX_CORES; ++i)
            if (list[i] == apic_id) return true;
        return false;
    }
    // What init and set_owner must answer.
    FUZZ_MODEL msix::Error expected() const {
        if (count > msi::MAX_CORES) return msix::Error::TooManyCores;
        if (!listed(owner)) return msix::Error::OwnerNotACore;
        if (remapped) return msix::Error::Ok;
        bool wide = owner > 0xFF;
        for (uint8_t i = 0; i < count; ++i) wide |= list[i] > 0xFF;
        return wide ? msix::Error::ApicIdTooLarge : msix::Error::Ok;
    }
    // The core a guest address should reach, written independently of msi::Route.
    FUZZ_MODEL uint32_t destination(uint32_t address_lo) const {
        const uint32_t dest = address_lo >> 12 & 0xFF;
        if ((address_lo & 4) || dest == 0xFF || !listed(dest)) return owner;
        return dest;
    }
};
Cores cores;

// A core's APIC ID: mostly one a guest address can name, some too wide for
// the compatibility format, some the broadcast ID (which a list may hold
// but no guest address names).
FUZZ_MODEL uint32_t choose_id(FuzzedDataProvider& in) {
    const uint32_t id = in.ConsumeIntegralInRange<uint32_t>(0, 0x117);
    return id >= 0x110 ? 0xFF : id;
}

// Mostly IDs a guest address can name; wide ones only where remapping takes them.
FUZZ_MODEL Cores choose_cores(FuzzedDataProvider& in) {
    Cores c{};
    c.owner         = choose_id(in);
    c.count         = in.ConsumeIntegralInRange<uint8_t>(0, msi::MAX_CORES + 1);
    const bool wide = in.ConsumeIntegral<uint8_t>() < 16;
    for (uint8_t i = 0; i < c.count; ++i) c.list[i] = wide ? in.ConsumeIntegral<uint32_t>() : choose_id(in);
    if (c.count > 0 && in.ConsumeBool()) c.owner = c.list[in.ConsumeIntegralInRange<uint8_t>(0, c.count - 1)];
    return c;
}

// A guest address naming one of the cores, the owner or the broadcast ID, in
// either destination mode, with or without redirection hint: random
// addresses seldom name a core.
FUZZ_MODEL uint32_t named_address(FuzzedDataProvider& in, const Cores& c) {
    const uint8_t n   = c.count < msi::MAX_CORES ? c.count : msi::MAX_CORES;
    const uint8_t k   = in.ConsumeIntegralInRange<uint8_t>(0, static_cast<uint8_t>(n + 1));
    const uint32_t id = k < n ? c.list[k] : k == n ? c.owner : 0xFF;
    return msi::ADDRESS_BASE | (id & 0xFF) << 12 | (in.ConsumeIntegral<uint8_t>() & 0xCu);
}

FUZZ_MODEL msi::Route route_for(const Cores& c) {
    msi::Route r = remapped ? msi::Route{c.owner, FakeRemap::route, &remap} : msi::Route{c.owner};
    r.core_count = c.count;
    for (uint8_t i = 0; i < c.count && i < msi::MAX_CORES; ++i) r.cores[i] = c.list[i];
    return r;
}

struct HwTable {
    std::vector<std::array<uint32_t, 4>> e;
    FUZZ_MODEL bool unmasked(size_t i) const { return (e[i][3] & msix::VECTOR_MASKED) == 0; }
};

FUZZ_MODEL void apply(const Action& a, HwTable& hw, const msix::Table& t) {
    FUZZ_CHECK(a.count <= msix::MAX_HW_WRITES);
    if (a.kind == Action::Kind::NotInTable) FUZZ_CHECK(a.count == 0);
    FUZZ_CHECK((a.kind == Action::Kind::Refused) == (a.why != nullptr));
    for (uint8_t i = 0; i < a.count; ++i) {
        const msix::HwWrite& w = a.writes[i];
        FUZZ_CHECK(w.offset % 4 == 0 && w.offset / msix::ENTRY_SIZE < t.entries());
        FUZZ_CHECK(w.offset / msix::ENTRY_SIZE == a.writes[0].offset / msix::ENTRY_SIZE);
        const size_t entry = w.offset / msix::ENTRY_SIZE, dw = w.offset % msix::ENTRY_SIZE / 4;
        // Address and data never change under an unmasked entry.
        if (dw != 3 && hw.unmasked(entry)) FUZZ_CHECK(hw.e[entry][dw] == w.value);
        hw.e[entry][dw] = w.value;
    }
}

FUZZ_MODEL void check_entry(const HwTable& hw, const msix::Table& t, size_t i) {
    FUZZ_CHECK(t.hw_unmasked(static_cast<uint16_t>(i)) == hw.unmasked(i));
    if (!hw.unmasked(i)) return;
    FUZZ_CHECK(i < msix::MAX_VECTORS);
    const auto& e             = hw.e[i];
    const uint32_t guest_data = static_cast<uint32_t>(t.read(static_cast<uint32_t>(i * msix::ENTRY_SIZE + 8), 4));
    const uint32_t guest_lo   = static_cast<uint32_t>(t.read(static_cast<uint32_t>(i * msix::ENTRY_SIZE), 4));
    const uint32_t dest       = cores.destination(guest_lo);
    FUZZ_CHECK(cores.listed(dest) && t.owner_apic_id() == cores.owner);
    FUZZ_CHECK(t.hw_destination(static_cast<uint16_t>(i)) == dest);
    FUZZ_CHECK(e[1] == 0);
    if (remapped) {
        FUZZ_CHECK(e[0] == static_cast<uint32_t>(FakeRemap::address(static_cast<uint16_t>(i))) && e[2] == 0);
        FUZZ_CHECK(remap.vector[i] == (guest_data & msix::DATA_VECTOR_MASK) && remap.apic[i] == dest);
    } else {
        FUZZ_CHECK(e[0] == (msi::ADDRESS_BASE | dest << 12));
        FUZZ_CHECK((e[2] & ~msix::DATA_VECTOR_MASK) == 0);  // fixed, edge
        FUZZ_CHECK((guest_data & msix::DATA_VECTOR_MASK) == e[2]);
    }
    FUZZ_CHECK((guest_data & msix::DATA_VECTOR_MASK) >= msix::MIN_VECTOR);
    FUZZ_CHECK((t.read(static_cast<uint32_t>(i * msix::ENTRY_SIZE + 12), 4) & msix::VECTOR_MASKED) == 0);
}

FUZZ_MODEL void sync_all(msix::Table& t, HwTable& hw) {
    for (uint16_t i = 0; i < t.entries(); ++i) apply(t.sync(i), hw, t);
    for (uint16_t i = 0; i < t.entries(); ++i) check_entry(hw, t, i);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    check_locate(in);

    static msix::Table t;
    // Mostly tables around the MAX_VECTORS entries kept; one input in 32 up to
    // the limit and past it (syncing 2048 entries is slow).
    const bool large = in.ConsumeIntegral<uint8_t>() < 8;
    const uint16_t entries =
        large ? in.ConsumeIntegralInRange<uint16_t>(0, 2100) : in.ConsumeIntegralInRange<uint16_t>(0, 80);
    remapped            = in.ConsumeBool();
    remap               = FakeRemap{};
    cores               = choose_cores(in);
    const msix::Error e = t.init(entries, route_for(cores));
    if (entries == 0 || entries > msix::MAX_TABLE_ENTRIES)
        FUZZ_CHECK(e == msix::Error::BadTableSize);
    else
        FUZZ_CHECK(e == cores.expected());
    if (e != msix::Error::Ok) return 0;
    // The hardware holds garbage, unmasked, until the hypervisor syncs it.
    HwTable hw{std::vector<std::array<uint32_t, 4>>(entries, {0xDEADBEEF, 1, 2, 0})};
    hw.e.shrink_to_fit();
    sync_all(t, hw);

    const uint32_t bytes = entries * msix::ENTRY_SIZE;
    while (in.remaining_bytes() > 0) {
        const uint8_t op = in.ConsumeIntegral<uint8_t>();
        const uint32_t offset =
            (op & 0x80) ? in.ConsumeIntegral<uint32_t>() : in.ConsumeIntegralInRange<uint32_t>(0, bytes + 16);
        const uint8_t sz = static_cast<uint8_t>(1u << (op & 3));
        switch ((op >> 2) & 7) {
        case 0: {
            const uint64_t v = t.read(offset, sz);
            if (sz < 8) FUZZ_CHECK((v >> (8u * sz)) == 0 || v == ((1ull << (8u * sz)) - 1));
            break;
        }
        case 1: {
            const Cores next    = choose_cores(in);
            const msix::Error m = t.set_owner(next.owner, next.count != 0 ? next.list : nullptr, next.count);
            FUZZ_CHECK(m == next.expected());
            if (m == msix::Error::Ok) cores = next;
            FUZZ_CHECK(t.owner_apic_id() == cores.owner && t.route().core_count == cores.count);
            if (m == msix::Error::Ok) sync_all(t, hw);
            break;
        }
        case 2: {
            const uint16_t entry = in.ConsumeIntegral<uint16_t>();
            const Action a       = t.sync(entry);
            apply(a, hw, t);
            break;
        }
        default: {
            const uint8_t odd = (op & 0x40) ? in.ConsumeIntegralInRange<uint8_t>(0, 9) : sz;
            uint64_t value    = in.ConsumeIntegral<uint64_t>();
            if (op & 0x20) value = (value & ~uint64_t{0xFFFFFFFF}) | named_address(in, cores);
            const Action a = t.write(offset, odd, value);
            if (offset >= bytes) FUZZ_CHECK(a.kind == Action::Kind::NotInTable);
            apply(a, hw, t);
            if (a.count != 0) check_entry(hw, t, a.writes[0].offset / msix::ENTRY_SIZE);
            break;
        }
        }
    }
    for (uint16_t i = 0; i < t.entries(); ++i) check_entry(hw, t, i);
    return 0;
}
