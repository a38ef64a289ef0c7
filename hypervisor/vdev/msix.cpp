#include "vdev/msix.hpp"

namespace natsume::msix {
namespace {

constexpr uint32_t ALL_ONES     = 0xFFFFFFFFu;
constexpr uint8_t DW_ADDRESS_LO = 0, DW_ADDRESS_HI = 1, DW_DATA = 2, DW_CONTROL = 3;
constexpr uint8_t WRITTEN_COMPLETE = 1u << DW_ADDRESS_LO | 1u << DW_DATA;

constexpr const char* WHY_VECTOR =
    "MSI-X vector below 0x10 refused: vectors 0-15 are reserved exceptions; the entry stays masked.";
constexpr const char* WHY_BEYOND_CAP = "MSI-X entry beyond the 64 vectors kept per device: it stays masked.";

bool valid_access(uint32_t offset, uint8_t size) {
    const bool size_ok = size == 1 || size == 2 || size == 4 || size == 8;
    return size_ok && offset % size == 0;
}

uint32_t lane_mask(uint8_t size) { return size >= 4 ? ALL_ONES : (1u << (size * 8u)) - 1u; }

const pci::Bar* memory_bar(const pci::Function& fn, uint32_t bir) {
    for (size_t i = 0; i < fn.bar_count; ++i)
        if (fn.bars[i].index == bir && !fn.bars[i].io) return &fn.bars[i];
    return nullptr;
}

// A BIR/offset register's region of `bytes` bytes, checked to lie in its BAR.
bool region(const pci::Function& fn, uint32_t reg, uint32_t bytes, uint8_t& bar, uint32_t& offset, uint64_t& address) {
    const pci::Bar* b = memory_bar(fn, reg & BIR_MASK);
    if (b == nullptr) return false;
    bar     = static_cast<uint8_t>(reg & BIR_MASK);
    offset  = reg & OFFSET_MASK;
    address = b->base + offset;
    return static_cast<uint64_t>(offset) + bytes <= b->size;
}

uint64_t page_down(uint64_t a) { return a & ~(PAGE_SIZE - 1); }
uint64_t page_up(uint64_t a) { return page_down(a + PAGE_SIZE - 1); }

Action handled() { return Action{Action::Kind::Handled, 0, {}, nullptr}; }

Error route_error(const msi::Route& r) {
    switch (r.check()) {
    case msi::RouteError::Ok: return Error::Ok;
    case msi::RouteError::TooManyCores: return Error::TooManyCores;
    case msi::RouteError::OwnerNotACore: return Error::OwnerNotACore;
    case msi::RouteError::ApicIdTooLarge: return Error::ApicIdTooLarge;
    }
    return Error::OwnerNotACore;
}

}  // namespace

// At most MAX_HW_WRITES per Action: mask, address lo, address hi, data, unmask.
void push(Action& a, uint16_t entry, uint32_t field, uint32_t value) {
    a.writes[a.count++] = HwWrite{entry * ENTRY_SIZE + field, value};
}

void push_message(Action& a, uint16_t entry, const msi::Message& m) {
    push(a, entry, ADDRESS_LO, static_cast<uint32_t>(m.address));
    push(a, entry, ADDRESS_HI, static_cast<uint32_t>(m.address >> 32));
    push(a, entry, DATA, m.data);
}

bool locate(const pci::Function& fn, const pci::ConfigAccess& hw, uint8_t cap_offset, Location& out) {
    if (cap_offset < pci::FIRST_CAPABILITY_OFFSET || pci::read8(hw, fn.bdf, cap_offset) != pci::CAP_MSI_X) return false;
    const uint16_t control = pci::read16(hw, fn.bdf, static_cast<uint16_t>(cap_offset + MESSAGE_CONTROL));
    out                    = Location{};
    out.cap_offset         = cap_offset;
    out.table_entries      = static_cast<uint16_t>((control & CONTROL_TABLE_SIZE_MASK) + 1u);
    out.table_bytes        = out.table_entries * ENTRY_SIZE;
    out.pba_bytes          = (out.table_entries + 63u) / 64u * 8u;  // one pending bit per entry, in qwords
    const uint32_t t       = pci::read32(hw, fn.bdf, static_cast<uint16_t>(cap_offset + TABLE_OFFSET_BIR));
    const uint32_t p       = pci::read32(hw, fn.bdf, static_cast<uint16_t>(cap_offset + PBA_OFFSET_BIR));
    if (!region(fn, t, out.table_bytes, out.table_bar, out.table_offset, out.table_address)) return false;
    if (!region(fn, p, out.pba_bytes, out.pba_bar, out.pba_offset, out.pba_address)) return false;
    out.table_first_page           = page_down(out.table_address);
    const uint64_t table_pages_end = page_up(out.table_address + out.table_bytes);
    out.table_page_count           = static_cast<uint32_t>((table_pages_end - out.table_first_page) / PAGE_SIZE);
    out.pba_in_table_pages =
        out.pba_address < table_pages_end && out.pba_address + out.pba_bytes > out.table_first_page;
    return true;
}

uint32_t offset_in_table(const Location& loc, uint64_t address) {
    if (address < loc.table_address || address - loc.table_address >= loc.table_bytes) return NOT_IN_TABLE;
    return static_cast<uint32_t>(address - loc.table_address);
}

const char* access_refusal(const Location& loc, uint64_t address, uint8_t size, bool write) {
    if (size != 4 && size != 8) return "MSI-X pages take only 4- and 8-byte accesses";
    if (address & (size - 1u)) return "MSI-X page access not naturally aligned";
    if (!in_table_pages(loc, address) || !in_table_pages(loc, address + size - 1))
        return "access outside the MSI-X table pages";
    if (write && address + size > loc.pba_address && address < loc.pba_address + loc.pba_bytes)
        return "the pending-bit array is read-only";
    return nullptr;
}

bool in_table_pages(const Location& loc, uint64_t address) {
    return address >= loc.table_first_page &&
           address - loc.table_first_page < static_cast<uint64_t>(loc.table_page_count) * PAGE_SIZE;
}

const char* to_string(Error e) {
    switch (e) {
    case Error::Ok: return "The MSI-X table is ready.";
    case Error::BadTableSize: return "The MSI-X table size must be 1 to 2048 entries.";
    case Error::ApicIdTooLarge:
        return "MSI-X without interrupt remapping can address APIC IDs 0-255 only; a partition core's is larger.";
    case Error::TooManyCores: return "An MSI-X table can deliver to at most 8 cores.";
    case Error::OwnerNotACore: return "The MSI-X table's owner core is not among the partition's cores.";
    }
    return "Unknown MSI-X error.";
}

Error Table::init(uint16_t table_entries, const msi::Route& route) {
    if (table_entries == 0 || table_entries > MAX_TABLE_ENTRIES) return Error::BadTableSize;
    if (const Error e = route_error(route); e != Error::Ok) return e;
    for (Entry& e : e_) e = Entry{{0, 0, 0, VECTOR_MASKED}, 0, 0, 0, false, false};
    entries_ = table_entries;
    route_   = route;
    return Error::Ok;
}

Error Table::set_owner(uint32_t owner_apic_id, const uint32_t* cores, uint8_t core_count) {
    if (core_count > msi::MAX_CORES) return Error::TooManyCores;
    msi::Route next = route_;
    next.apic_id    = owner_apic_id;
    next.core_count = cores != nullptr ? core_count : 0;
    for (uint8_t i = 0; i < msi::MAX_CORES; ++i) next.cores[i] = i < next.core_count ? cores[i] : 0;
    if (const Error e = route_error(next); e != Error::Ok) return e;
    route_ = next;
    for (Entry& e : e_) e.hw_programmed = false;
    return Error::Ok;
}

bool Table::complete(const Entry& e) const { return (e.written & WRITTEN_COMPLETE) == WRITTEN_COMPLETE; }

bool Table::hw_unmasked(uint16_t entry) const {
    return entry < MAX_VECTORS && entry < entries_ && e_[entry].hw_programmed && !e_[entry].hw_masked;
}

uint32_t Table::hw_destination(uint16_t entry) const {
    const bool programmed = entry < MAX_VECTORS && entry < entries_ && e_[entry].hw_programmed;
    return programmed ? e_[entry].hw_dest : route_.apic_id;
}

uint32_t Table::guest_destination(const Entry& e) const {
    return route_.destination(e.dw[DW_ADDRESS_LO] | static_cast<uint64_t>(e.dw[DW_ADDRESS_HI]) << 32);
}

void Table::store(uint32_t offset, uint32_t lane_mask, uint32_t value) {
    Entry& e          = e_[offset / ENTRY_SIZE];
    const uint32_t dw = offset % ENTRY_SIZE / 4u;
    e.dw[dw]          = (e.dw[dw] & ~lane_mask) | (value & lane_mask);
    e.written         = static_cast<uint8_t>(e.written | 1u << dw);
}

// Routes the guest's vector to dest and writes the resulting message into
// the hardware entry, masked meanwhile. Under interrupt remapping the route
// has already pointed the entry's remapping slot at dest with the new
// vector; the device may use it before the mask lands, which is harmless:
// it only ever names one of the partition's cores and a usable vector. A
// refused route leaves the hardware message as it was (the caller masks the
// entry).
const char* Table::program(uint16_t entry, uint8_t vector, uint32_t dest, Action& a) {
    Entry& e = e_[entry];
    msi::Message m{};
    if (const char* why = route_.message(entry, vector, dest, m)) return why;
    if (!e.hw_masked) push(a, entry, VECTOR_CONTROL, VECTOR_MASKED);
    e.hw_masked = true;
    push_message(a, entry, m);
    e.hw_programmed = true;
    e.hw_vector     = vector;
    e.hw_dest       = dest;
    return nullptr;
}

// Brings the hardware entry in line with the guest's: programs the message
// when the vector or the destination core changed, then sets the mask the
// entry should have.
Action Table::apply(uint16_t entry) {
    Entry& e                = e_[entry];
    Action a                = handled();
    const uint8_t vector    = static_cast<uint8_t>(e.dw[DW_DATA] & DATA_VECTOR_MASK);
    const uint32_t dest     = guest_destination(e);
    const bool ready        = complete(e);
    const bool guest_masked = (e.dw[DW_CONTROL] & VECTOR_MASKED) != 0;
    const char* refusal     = ready && vector < MIN_VECTOR ? WHY_VECTOR : nullptr;
    const bool stale        = !e.hw_programmed || e.hw_vector != vector || e.hw_dest != dest;
    if (ready && !refusal && stale) refusal = program(entry, vector, dest, a);
    const bool want_masked = guest_masked || !ready || refusal != nullptr;
    if (want_masked != e.hw_masked) push(a, entry, VECTOR_CONTROL, want_masked ? VECTOR_MASKED : 0);
    e.hw_masked = want_masked;
    if (refusal && !guest_masked) {
        a.kind = Action::Kind::Refused;
        a.why  = refusal;
    }
    return a;
}

Action Table::write(uint32_t offset, uint8_t size, uint64_t value) {
    if (!contains(offset)) return Action{Action::Kind::NotInTable, 0, {}, nullptr};
    Action none{Action::Kind::Handled, 0, {}, nullptr};
    if (!valid_access(offset, size)) return none;
    const uint16_t entry = static_cast<uint16_t>(offset / ENTRY_SIZE);
    if (entry >= MAX_VECTORS) {
        // Only an unmask matters: masking and programming a dropped entry change nothing.
        const uint32_t rel     = offset % ENTRY_SIZE;
        const bool covers_mask = rel <= VECTOR_CONTROL && VECTOR_CONTROL < rel + size;
        const bool unmask      = covers_mask && ((value >> ((VECTOR_CONTROL - rel) * 8u)) & VECTOR_MASKED) == 0;
        if (!unmask) return none;
        return Action{Action::Kind::Refused, 0, {}, WHY_BEYOND_CAP};
    }
    if (size == 8) {
        store(offset, ALL_ONES, static_cast<uint32_t>(value));
        store(offset + 4, ALL_ONES, static_cast<uint32_t>(value >> 32));
    } else {
        const uint32_t shift = offset % 4u * 8u;
        store(offset & ~3u, lane_mask(size) << shift, static_cast<uint32_t>(value) << shift);
    }
    return apply(entry);
}

uint64_t Table::read(uint32_t offset, uint8_t size) const {
    if (!contains(offset) || !valid_access(offset, size)) return size == 8 ? ~uint64_t{0} : lane_mask(size);
    const uint16_t entry = static_cast<uint16_t>(offset / ENTRY_SIZE);
    const uint32_t dw    = offset % ENTRY_SIZE / 4u;
    auto dword           = [&](uint32_t i) -> uint32_t {
        if (entry < MAX_VECTORS) return e_[entry].dw[i];
        return i == DW_CONTROL ? VECTOR_MASKED : 0;  // dropped entries read as after reset
    };
    if (size == 8) return dword(dw) | static_cast<uint64_t>(dword(dw + 1)) << 32;
    return (dword(dw) >> (offset % 4u * 8u)) & lane_mask(size);
}

Action Table::sync(uint16_t entry) {
    if (entry >= entries_) return Action{Action::Kind::NotInTable, 0, {}, nullptr};
    Action a = handled();
    push(a, entry, VECTOR_CONTROL, VECTOR_MASKED);
    if (entry >= MAX_VECTORS) {
        push_message(a, entry, route_.idle());
        return a;
    }
    Entry& e             = e_[entry];
    e.hw_masked          = true;
    e.hw_programmed      = false;
    const uint8_t vector = static_cast<uint8_t>(e.dw[DW_DATA] & DATA_VECTOR_MASK);
    const char* refusal  = !complete(e)          ? nullptr
                           : vector < MIN_VECTOR ? WHY_VECTOR
                                                 : program(entry, vector, guest_destination(e), a);
    if (!e.hw_programmed) push_message(a, entry, route_.idle());
    // The last step is the ordinary one: unmask if the guest's entry asks for it.
    const bool guest_masked = (e.dw[DW_CONTROL] & VECTOR_MASKED) != 0;
    if (e.hw_programmed && !guest_masked) {
        push(a, entry, VECTOR_CONTROL, 0);
        e.hw_masked = false;
    }
    if (refusal && !guest_masked) {
        a.kind = Action::Kind::Refused;
        a.why  = refusal;
    }
    return a;
}

}  // namespace natsume::msix
