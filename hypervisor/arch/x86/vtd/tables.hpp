// DMA-remapping translation structures in legacy mode (VT-d spec 9.1 root
// entry, 9.3 context entry, 9.8 second-level paging entries).
//
// Root and context entries are 128 bits. The present bit lives in the low
// word, so a live entry is written high word first, then the low word with
// one store: the IOMMU never sees a present entry with a stale high half.
#pragma once
#include <stdint.h>

#include "arch/x86/page_table.hpp"

namespace natsume::x86::vtd {

struct Entry128 {
    uint64_t lo, hi;
    constexpr bool operator==(const Entry128&) const = default;
};

inline constexpr uint64_t ENTRY_PRESENT = uint64_t{1} << 0;
inline constexpr uint64_t ENTRY_ADDRESS = 0x000F'FFFF'FFFF'F000;

// Root entry (9.1): one per bus, points at that bus's context table.
constexpr Entry128 root_entry(uint64_t context_table) { return {(context_table & ENTRY_ADDRESS) | ENTRY_PRESENT, 0}; }

// Context entry (9.3): one per device/function.
namespace context {
inline constexpr uint64_t FPD             = uint64_t{1} << 1;  // fault processing disable
inline constexpr unsigned TT_SHIFT        = 2;                 // translation type, bits 3:2
inline constexpr uint64_t TT_UNTRANSLATED = 0;                 // second-level tables only
inline constexpr unsigned DID_SHIFT       = 8;                 // hi bits 23:8
}  // namespace context

// levels: 3 (39-bit AGAW) or 4 (48-bit); slptptr is the top table the hardware
// walks for that many levels.
constexpr Entry128 context_entry(uint64_t slptptr, unsigned levels, uint16_t domain_id) {
    uint64_t lo = (slptptr & ENTRY_ADDRESS) | (context::TT_UNTRANSLATED << context::TT_SHIFT) | ENTRY_PRESENT;
    uint64_t hi = uint64_t(levels - 2) | uint64_t(domain_id) << context::DID_SHIFT;
    return {lo, hi};
}
constexpr uint16_t context_domain(Entry128 e) { return static_cast<uint16_t>(e.hi >> context::DID_SHIFT); }
constexpr unsigned context_levels(Entry128 e) { return static_cast<unsigned>(e.hi & 7) + 2; }

// Second-level paging entry (9.8, Tables 9-x "second-level PML4E .. PTE"):
// R bit 0, W bit 1, PS bit 7 in level-2/3 entries, address bits 51:12. DMA has
// no execute permission in legacy mode and no memory-type field unless the
// unit supports snoop/extended control, so only R/W are expressed.
class SlEntry {
public:
    static constexpr uint64_t READ         = uint64_t{1} << 0;
    static constexpr uint64_t WRITE        = uint64_t{1} << 1;
    static constexpr uint64_t LARGE        = uint64_t{1} << 7;
    static constexpr uint64_t ADDRESS_MASK = ENTRY_ADDRESS;

    constexpr SlEntry() = default;
    constexpr explicit SlEntry(uint64_t raw) : raw_(raw) {}
    constexpr uint64_t raw() const { return raw_; }

    // Non-leaf entries grant R/W; the leaf decides (permissions AND across levels, 3.6).
    static constexpr SlEntry table(uint64_t phys) { return SlEntry{(phys & ADDRESS_MASK) | READ | WRITE}; }
    static constexpr SlEntry leaf(uint64_t pa, Attr a, bool large) {
        return SlEntry{(pa & ADDRESS_MASK) | (a.read ? READ : 0) | (a.write ? WRITE : 0) | (large ? LARGE : 0)};
    }
    // Execute, user and non-WB caching have no meaning for DMA here: refuse
    // rather than silently drop them.
    static constexpr bool valid(Attr a) { return (a.read || a.write) && !a.execute && !a.user && a.cache == Cache::WB; }

    constexpr bool present() const { return (raw_ & (READ | WRITE)) != 0; }
    constexpr bool large() const { return (raw_ & LARGE) != 0; }
    constexpr uint64_t address() const { return raw_ & ADDRESS_MASK; }
    constexpr Attr attr() const { return Attr{(raw_ & READ) != 0, (raw_ & WRITE) != 0, false, false, Cache::WB}; }

private:
    uint64_t raw_ = 0;
};
static_assert(PageTableFormat<SlEntry>);

}  // namespace natsume::x86::vtd
