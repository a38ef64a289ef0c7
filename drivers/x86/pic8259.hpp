// The legacy 8259A interrupt-controller pair (Intel 8259A data sheet):
// ports, initialization words, and masking both over a port I/O policy.
// Natsume routes device interrupts through the IOAPIC; the pair stays masked.
#pragma once
#include <stdint.h>

namespace natsume::drivers::pic8259 {

inline constexpr uint16_t MASTER_COMMAND = 0x20, MASTER_DATA = 0x21, SLAVE_COMMAND = 0xA0, SLAVE_DATA = 0xA1;
inline constexpr uint8_t ICW1_INIT                 = 0x11;  // edge triggered, cascade, ICW4 follows
inline constexpr uint8_t ICW3_MASTER_SLAVE_ON_IRQ2 = 1 << 2, ICW3_SLAVE_IDENTITY = 2;
inline constexpr uint8_t ICW4_8086  = 0x01;
inline constexpr uint8_t ALL_MASKED = 0xFF;

// Out: static void out8(uint16_t port, uint8_t value).
template <class Out>
void mask_all() {
    Out::out8(MASTER_DATA, ALL_MASKED);
    Out::out8(SLAVE_DATA, ALL_MASKED);
}

// Moves the pair's vectors to master_base / slave_base (so a stray 8259
// interrupt is never taken as an exception) and masks every line.
template <class Out>
void remap_and_mask(uint8_t master_base, uint8_t slave_base) {
    mask_all<Out>();
    Out::out8(MASTER_COMMAND, ICW1_INIT);
    Out::out8(SLAVE_COMMAND, ICW1_INIT);
    Out::out8(MASTER_DATA, master_base);
    Out::out8(SLAVE_DATA, slave_base);
    Out::out8(MASTER_DATA, ICW3_MASTER_SLAVE_ON_IRQ2);
    Out::out8(SLAVE_DATA, ICW3_SLAVE_IDENTITY);
    Out::out8(MASTER_DATA, ICW4_8086);
    Out::out8(SLAVE_DATA, ICW4_8086);
    mask_all<Out>();
}

}  // namespace natsume::drivers::pic8259
