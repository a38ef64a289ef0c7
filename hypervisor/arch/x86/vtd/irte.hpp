// Interrupt remapping: the interrupt-remapping table entry (VT-d spec 9.10,
// remapped format) and the remappable-format interrupt requests that select
// an entry by index: MSI address/data (5.1.5.2) and IOAPIC redirection
// entries (5.1.5.1). Pure, host-tested.
#pragma once
#include <stdint.h>

#include "drivers/x86/ioapic.hpp"

#include "arch/x86/vtd/tables.hpp"
#include "vdev/msi_route.hpp"

namespace natsume::x86::vtd {

// Source validation (9.10, Table 9-x "SVT/SQ"): SVT=1 with SQ=0 compares all
// 16 bits of the requester id with SID.
enum class SourceCheck : uint8_t { None = 0, RequesterId = 1, BusRange = 2 };

struct IrteSpec {
    uint8_t vector;
    uint32_t destination;  // APIC id (8 bits in xAPIC mode, 32 in x2APIC/EIM)
    bool x2apic;           // destination format: EIM on
    bool level;            // trigger mode
    bool logical;          // destination mode
    uint16_t source_id;    // requester id (bus << 8 | dev << 3 | fn)
    SourceCheck check = SourceCheck::RequesterId;
};

namespace irte {
inline constexpr uint64_t PRESENT         = uint64_t{1} << 0;
inline constexpr uint64_t FPD             = uint64_t{1} << 1;
inline constexpr uint64_t DM_LOGICAL      = uint64_t{1} << 2;
inline constexpr uint64_t TM_LEVEL        = uint64_t{1} << 4;
inline constexpr unsigned DLM_SHIFT       = 5;  // delivery mode, 000 = fixed
inline constexpr unsigned VECTOR_SHIFT    = 16;
inline constexpr unsigned DST_SHIFT       = 32;
inline constexpr unsigned XAPIC_DST_SHIFT = 40;  // xAPIC: id in DST bits 15:8
inline constexpr unsigned SQ_SHIFT        = 16;  // hi word
inline constexpr unsigned SVT_SHIFT       = 18;
}  // namespace irte

constexpr Entry128 make_irte(const IrteSpec& s) {
    uint64_t dst =
        s.x2apic ? uint64_t(s.destination) << irte::DST_SHIFT : uint64_t(s.destination & 0xff) << irte::XAPIC_DST_SHIFT;
    uint64_t lo = irte::PRESENT | (s.logical ? irte::DM_LOGICAL : 0) | (s.level ? irte::TM_LEVEL : 0) |
                  uint64_t(s.vector) << irte::VECTOR_SHIFT | dst;
    uint64_t hi = uint64_t(s.source_id) | uint64_t(s.check) << irte::SVT_SHIFT;
    return {lo, hi};
}
constexpr uint8_t irte_vector(Entry128 e) { return static_cast<uint8_t>(e.lo >> irte::VECTOR_SHIFT); }
constexpr uint16_t irte_source_id(Entry128 e) { return static_cast<uint16_t>(e.hi); }

// Remappable MSI (5.1.5.2): address 0xFEE in bits 31:20, handle[14:0] in
// bits 19:5, interrupt format bit 4 = 1, SHV bit 3 = 0, handle[15] in bit 2.
// With SHV clear the data register is not used for the index: write 0.
using MsiMessage                         = msi::Message;
inline constexpr uint64_t MSI_BASE       = msi::ADDRESS_BASE;
inline constexpr uint64_t MSI_REMAPPABLE = uint64_t{1} << 4;

constexpr MsiMessage remappable_msi(uint16_t index) {
    uint64_t addr = MSI_BASE | MSI_REMAPPABLE | uint64_t(index & 0x7fff) << 5 | uint64_t(index >> 15) << 2;
    return {addr, 0};
}
// The index a remappable MSI address selects; -1 for compatibility format.
constexpr int msi_index(uint64_t address) {
    if (!(address & MSI_REMAPPABLE)) return -1;
    return static_cast<int>(((address >> 5) & 0x7fff) | ((address >> 2) & 1) << 15);
}

// Remappable IOAPIC redirection entry (5.1.5.1): drivers/x86/ioapic.hpp.
constexpr uint64_t remappable_rte(uint16_t index, uint8_t vector, bool level, bool active_low, bool masked) {
    return drivers::ioapic::remappable(index, vector, level, active_low, masked);
}

// IRTA register (10.4.29): table address, EIME bit 11, size 2^(S+1) entries.
constexpr uint64_t irta_value(uint64_t table, unsigned entries_log2, bool eim) {
    return (table & ENTRY_ADDRESS) | (eim ? uint64_t{1} << 11 : 0) | uint64_t(entries_log2 - 1);
}

}  // namespace natsume::x86::vtd
