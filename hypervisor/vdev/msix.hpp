// MSI-X table virtualization for one passthrough device (PCI Local Bus
// Specification 3.0, section 6.8.2).
//
// The owner partition's accesses to the 4 KiB pages holding a device's MSI-X
// table are trapped. The guest reads and writes a shadow of the table; the
// hardware table only ever holds entries the hypervisor wrote: one of the
// partition's cores as the destination (the one the guest's address names,
// else the owner core: msi::Route::destination), as a compatibility-format
// message or a remappable one naming an interrupt-remapping entry
// (vdev/msi_route.hpp), the guest's vector, and masked whenever the guest
// masked the entry, has not finished programming it, or asked for a reserved
// vector. A guest write that changes an entry's vector or destination
// reprograms the hardware entry, masked meanwhile. That is what makes it safe
// to pass the guest's MSI-X Enable and Function Mask bits straight through
// (see vpci::DeviceOptions::msix_virtual).
//
// Nothing here touches hardware: writes return an Action listing the dword
// writes the caller makes to the hardware entry, in order. Accesses outside
// the table (the PBA, other registers sharing the trapped pages) are
// reported as NotInTable and the caller performs them on the hardware as
// they are.
//
// Memory is bounded: a Table keeps the guest's view of the first MAX_VECTORS
// entries. Entries beyond that stay masked in hardware; writes to them are
// dropped, and an attempt to unmask one is refused with a reason to log.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "lib/pci.hpp"
#include "vdev/msi_route.hpp"

namespace natsume::msix {

// Capability registers, offsets from the capability (6.8.2.1-6.8.2.3).
inline constexpr uint8_t MESSAGE_CONTROL = 0x02, TABLE_OFFSET_BIR = 0x04, PBA_OFFSET_BIR = 0x08;
// Message Control: table size N-1 in bits 10:0, Function Mask, MSI-X Enable.
inline constexpr uint16_t CONTROL_TABLE_SIZE_MASK = 0x07FF;
inline constexpr uint16_t CONTROL_FUNCTION_MASK = 1u << 14, CONTROL_ENABLE = 1u << 15;
// Table/PBA Offset registers: BAR indicator in bits 2:0, qword-aligned offset above.
inline constexpr uint32_t BIR_MASK = 0x7, OFFSET_MASK = ~0x7u;

// Table entries (6.8.2.6-6.8.2.9): 16 bytes each.
inline constexpr uint32_t ENTRY_SIZE = 16;
inline constexpr uint32_t ADDRESS_LO = 0x0, ADDRESS_HI = 0x4, DATA = 0x8, VECTOR_CONTROL = 0xC;
inline constexpr uint32_t VECTOR_MASKED     = 1u << 0;  // the other vector control bits are reserved
inline constexpr uint16_t MAX_TABLE_ENTRIES = 2048;     // the 11-bit table size field
inline constexpr uint16_t MAX_VECTORS       = 64;       // entries a Table keeps; see the header comment

// The guest's message data: the vector in bits 7:0 (SDM Vol. 3A 10.11.2).
inline constexpr uint32_t DATA_VECTOR_MASK = 0xFF;
inline constexpr uint8_t MIN_VECTOR        = msi::MIN_VECTOR;

inline constexpr uint64_t PAGE_SIZE    = 4096;
inline constexpr uint32_t NOT_IN_TABLE = 0xFFFFFFFFu;

// Where a function's MSI-X table and PBA live. Addresses are physical; BARs
// stay where the platform put them, so they are also the owner's
// guest-physical addresses.
struct Location {
    uint8_t cap_offset;
    uint16_t table_entries;  // N, 1..2048
    uint8_t table_bar;       // BAR slot (BIR) 0..5
    uint32_t table_offset;   // from that BAR's base
    uint8_t pba_bar;
    uint32_t pba_offset;
    uint64_t table_address, pba_address;
    uint32_t table_bytes, pba_bytes;  // 16 * N, and 8 bytes per 64 entries
    // The 4 KiB pages that hold the table: the ones to trap in the owner's EPT.
    uint64_t table_first_page;
    uint32_t table_page_count;
    // The PBA lies (partly) in one of those pages: its accesses there arrive
    // trapped and must be passed through.
    bool pba_in_table_pages;
};

// Reads the capability at cap_offset of fn through hw and checks it: it must
// be an MSI-X capability, its BIRs must name memory BARs of fn (as sized at
// boot), and table and PBA must lie inside their BARs. False otherwise (out
// is then unspecified).
bool locate(const pci::Function& fn, const pci::ConfigAccess& hw, uint8_t cap_offset, Location& out);

// The offset of a physical address within the table, or NOT_IN_TABLE.
uint32_t offset_in_table(const Location& loc, uint64_t address);
// Why an access to the table's pages is not carried out, or nullptr: only
// naturally aligned 4- and 8-byte accesses (PCI Local Bus 3.0, 6.8.2: the
// table and PBA take DWORD and QWORD accesses), never a write to the PBA
// (read-only), and nothing that reaches past the trapped page.
const char* access_refusal(const Location& loc, uint64_t address, uint8_t size, bool write);
// True when address lies in one of the table's 4 KiB pages.
bool in_table_pages(const Location& loc, uint64_t address);

// One dword store to the hardware table, at an offset from the table's start.
struct HwWrite {
    uint32_t offset;
    uint32_t value;
};

// Mask, address lo, address hi, data, unmask: the most one entry ever needs.
inline constexpr uint8_t MAX_HW_WRITES = 5;

// What a guest write means for the hardware. The writes touch one entry and
// come in a safe order: if the entry's address or data must change while it
// is unmasked in hardware, the first write masks it, then address and data
// follow, and the last write unmasks it, so the device never sends a
// half-written message.
struct Action {
    enum class Kind : uint8_t {
        NotInTable,  // not a table access: perform it on the hardware unchanged
        Handled,     // apply writes[0..count) in order (count may be 0)
        Refused,     // as Handled (writes keep the entry masked), and log why
    } kind;
    uint8_t count;
    HwWrite writes[MAX_HW_WRITES];
    const char* why;  // Refused only
};

// Appends hardware stores to an Action (used by Table; exposed for tests).
void push(Action& a, uint16_t entry, uint32_t field, uint32_t value);
void push_message(Action& a, uint16_t entry, const msi::Message& m);

enum class [[nodiscard]] Error{
    Ok,
    BadTableSize,    // 0 or more than 2048 entries
    ApicIdTooLarge,  // a compatibility-format message addresses APIC IDs 0..255 only (owner and every core)
    TooManyCores,    // more than msi::MAX_CORES cores
    OwnerNotACore,   // a core list is given and the owner is not in it
};
const char* to_string(Error);

// The guest's view of one device's MSI-X table plus what the hardware entries
// hold. Not synchronized: the caller serializes accesses to one Table.
class Table {
public:
    constexpr Table() = default;

    // Every entry starts as after reset: masked, address and data zero, not
    // programmed. The hardware is assumed to hold nothing useful: call sync
    // for every entry before the guest can enable MSI-X.
    // route: the owner core, the partition's cores and how messages reach
    // them; refused as msi::Route::check refuses it.
    Error init(uint16_t table_entries, const msi::Route& route);

    // size is 1, 2, 4 or 8, naturally aligned (a qword covers address lo+hi or
    // data+vector control). The spec leaves other accesses undefined: they
    // read as all ones and writes are dropped.
    Action write(uint32_t offset_in_table, uint8_t size, uint64_t value);
    // What the guest last wrote (vector control as written), right-aligned.
    // Outside the table: all ones; check contains() first.
    uint64_t read(uint32_t offset_in_table, uint8_t size) const;
    bool contains(uint32_t offset_in_table) const { return offset_in_table < bytes(); }

    // The complete hardware entry for the current state, assuming nothing
    // about what the hardware holds (mask, address lo, address hi, data,
    // vector control). Used at boot for every entry and after set_owner.
    Action sync(uint16_t entry);
    // Moves the table's interrupts to another set of cores: the new owner
    // and the partition's cores (core_count 0 or cores null: the owner
    // only), checked as init checks them. Refused, the table keeps its
    // route. Sync each entry after.
    Error set_owner(uint32_t owner_apic_id, const uint32_t* cores, uint8_t core_count);

    uint16_t entries() const { return entries_; }
    uint32_t owner_apic_id() const { return route_.apic_id; }
    const msi::Route& route() const { return route_; }
    // True when the hardware entry is unmasked (delivering to hw_destination).
    bool hw_unmasked(uint16_t entry) const;
    // The core a programmed hardware entry delivers to; the owner's for an
    // entry not programmed (or beyond the MAX_VECTORS kept), which is idle.
    uint32_t hw_destination(uint16_t entry) const;

private:
    struct Entry {
        uint32_t dw[4];     // guest's address lo, address hi, data, vector control
        uint32_t hw_dest;   // core the hardware entry delivers to (valid when hw_programmed)
        uint8_t written;    // bit per dword the guest has written since reset
        uint8_t hw_vector;  // vector in the hardware entry (valid when hw_programmed)
        bool hw_programmed, hw_masked;
    };

    uint32_t bytes() const { return static_cast<uint32_t>(entries_) * ENTRY_SIZE; }
    bool complete(const Entry& e) const;
    void store(uint32_t offset, uint32_t lane_mask, uint32_t value);
    Action apply(uint16_t entry);
    uint32_t guest_destination(const Entry& e) const;
    const char* program(uint16_t entry, uint8_t vector, uint32_t dest, Action& a);

    Entry e_[MAX_VECTORS]{};
    uint16_t entries_ = 0;
    msi::Route route_{};
};

}  // namespace natsume::msix
