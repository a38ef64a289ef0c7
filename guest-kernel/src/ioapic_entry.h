// IOAPIC redirection-table entries as one 64-bit value (82093AA IOAPIC data
// sheet, 3.2.4 "IOREDTBL"). Pure code, host-tested.
#pragma once
#include <stdint.h>

namespace ioapic {

inline constexpr uint64_t kVectorMask = 0xff;
inline constexpr uint64_t kDeliveryStatus = 1ull << 12;
inline constexpr uint64_t kActiveLow = 1ull << 13;
inline constexpr uint64_t kRemoteIrr = 1ull << 14;
inline constexpr uint64_t kLevel = 1ull << 15;
inline constexpr uint64_t kMasked = 1ull << 16;
inline constexpr unsigned kDestShift = 56;  // physical mode: APIC ID in 63:56

// Delivery mode fixed (000b) and destination mode physical (bit 11 = 0):
// an interrupt goes to one named core, never a lowest-priority guess.
struct Redirection {
    uint8_t vector = 0;
    bool level = false;
    bool active_low = false;
    bool masked = true;
    uint8_t dest_apic_id = 0;
};

constexpr uint64_t encode(const Redirection& r)
{
    return uint64_t{r.vector} | (r.active_low ? kActiveLow : 0) | (r.level ? kLevel : 0) |
           (r.masked ? kMasked : 0) | (uint64_t{r.dest_apic_id} << kDestShift);
}

constexpr Redirection decode(uint64_t v)
{
    Redirection r;
    r.vector = static_cast<uint8_t>(v & kVectorMask);
    r.active_low = v & kActiveLow;
    r.level = v & kLevel;
    r.masked = v & kMasked;
    r.dest_apic_id = static_cast<uint8_t>(v >> kDestShift);
    return r;
}

// PCI INTx is level-triggered and active low (PCI 3.0, 2.2.6).
constexpr Redirection pci_intx(uint8_t vector, uint8_t dest_apic_id)
{
    return Redirection{vector, true, true, true, dest_apic_id};
}

// Indirect register indices (data sheet 3.1): redirection entry `pin` is the
// pair 0x10 + 2 * pin (low dword), +1 (high dword).
inline constexpr uint32_t kRegVersion = 0x01;
constexpr uint32_t redirection_low(unsigned pin) { return 0x10 + 2 * pin; }
constexpr uint32_t redirection_high(unsigned pin) { return 0x11 + 2 * pin; }
// Version register bits 23:16 hold the index of the last entry.
constexpr unsigned pin_count(uint32_t version) { return ((version >> 16) & 0xff) + 1; }

}  // namespace ioapic
