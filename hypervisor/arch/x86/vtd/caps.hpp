// Capability (CAP_REG) and extended capability (ECAP_REG) decode, VT-d spec
// 10.4.2 and 10.4.3. Section numbers in vtd/ follow the Intel VT-d
// specification's chapter numbering of revisions 2.x-3.x (chapter 9: structure
// formats, chapter 10: registers). Pure, host-tested.
#pragma once
#include <stdint.h>

namespace natsume::x86::vtd {

constexpr uint64_t bits(uint64_t v, unsigned lo, unsigned width) { return (v >> lo) & ((uint64_t{1} << width) - 1); }

struct Cap {
    uint64_t raw;

    // ND: 4 + 2*ND domain-id bits; 7 is reserved.
    constexpr unsigned domain_id_bits() const { return 4 + 2 * static_cast<unsigned>(bits(raw, 0, 3)); }
    constexpr bool rwbf() const { return bits(raw, 4, 1); }          // flush write buffer before changes
    constexpr bool caching_mode() const { return bits(raw, 7, 1); }  // not-present entries may be cached
    constexpr unsigned sagaw() const { return static_cast<unsigned>(bits(raw, 8, 5)); }
    // SAGAW bit 1: 39-bit / 3-level; bit 2: 48-bit / 4-level; bit 3: 57-bit / 5-level.
    constexpr bool supports_levels(unsigned levels) const {
        return levels >= 2 && levels <= 5 && (sagaw() >> (levels - 2)) & 1;
    }
    constexpr unsigned mgaw() const { return static_cast<unsigned>(bits(raw, 16, 6)) + 1; }
    // FRO counts 16-byte units from the register base.
    constexpr uint32_t fault_recording_offset() const { return static_cast<uint32_t>(bits(raw, 24, 10)) * 16; }
    constexpr bool large_2m() const { return bits(raw, 34, 1); }  // SLLPS bit 0
    constexpr bool large_1g() const { return bits(raw, 35, 1); }  // SLLPS bit 1
    constexpr bool page_selective() const { return bits(raw, 39, 1); }
    constexpr unsigned fault_recording_count() const { return static_cast<unsigned>(bits(raw, 40, 8)) + 1; }
};

struct Ecap {
    uint64_t raw;

    constexpr bool coherent() const { return bits(raw, 0, 1); }  // C: walks snoop the CPU caches
    constexpr bool queued_invalidation() const { return bits(raw, 1, 1); }
    constexpr bool interrupt_remapping() const { return bits(raw, 3, 1); }
    constexpr bool extended_interrupt_mode() const { return bits(raw, 4, 1); }  // EIM: 32-bit x2APIC ids
    constexpr bool pass_through() const { return bits(raw, 6, 1); }
    // IRO counts 16-byte units; the IOTLB register is at +8 from it.
    constexpr uint32_t iotlb_offset() const { return static_cast<uint32_t>(bits(raw, 8, 10)) * 16; }
};

// Paging levels for a domain: the smallest supported that covers addr_bits,
// preferring 3 levels (39 bits) then 4 (48 bits); 0 when none fits.
constexpr unsigned levels_for(Cap cap, unsigned addr_bits) {
    for (unsigned levels = 3; levels <= 4; levels++)
        if (cap.supports_levels(levels) && addr_bits <= 30 + 9 * (levels - 2)) return levels;
    return 0;
}
constexpr unsigned address_bits(unsigned levels) { return 30 + 9 * (levels - 2); }
// Context-entry AW field: 1 = 39-bit 3-level, 2 = 48-bit 4-level (9.3).
constexpr unsigned context_aw(unsigned levels) { return levels - 2; }

}  // namespace natsume::x86::vtd
