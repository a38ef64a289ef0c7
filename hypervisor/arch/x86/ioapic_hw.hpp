// The physical IOAPIC(s), programmed only by the hypervisor (82093AA
// datasheet: IOREGSEL at +0x00, IOWIN at +0x10; redirection entry n at
// registers 0x10 + 2n (low) and 0x11 + 2n (high)).
#pragma once
#include <stdint.h>

namespace natsume::x86::ioapic_hw {

struct Unit {
    uint64_t base;
    uint32_t gsi_base;
    uint8_t pins;
    uint8_t id;
    uint8_t version;
};

// Registers a unit found in the MADT and masks all its pins: nothing reaches
// a core until a partition programs a pin it owns.
void add_unit(uint64_t base, uint32_t gsi_base);
// The legacy 8259 pair stays masked: device interrupts go through the IOAPIC.
void mask_legacy_pic();
const Unit* unit_for_gsi(uint32_t gsi);
uint32_t unit_count();
const Unit& unit(uint32_t i);

// Writes an entry (high dword first, so the destination is right before the
// low dword may unmask it).
void write_entry(uint32_t gsi, uint32_t low, uint32_t high);
uint32_t read_entry_low(uint32_t gsi);
void mask(uint32_t gsi);
// Sets or clears only the mask bit: the rest of the entry (destination, or a
// remappable entry's index) stays as written.
void set_masked(uint32_t gsi, bool masked);
// EOI of one level-triggered entry only (its Remote IRR), on any IOAPIC version.
void eoi_pin(uint32_t gsi);

}  // namespace natsume::x86::ioapic_hw
