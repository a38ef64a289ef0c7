// The IOAPIC's registers and redirection-table entries (Intel 82093AA I/O
// APIC datasheet 290566-001, 3.0-3.2; the directed EOI register of version
// 0x20 IOAPICs: ICH datasheets; the remappable entry format: Intel VT-d
// specification 5.1.5.1). One definition for the hypervisor and the guest
// kernel; who may program which pin is the hypervisor's policy
// (hypervisor/vdev/vioapic).
#pragma once
#include <stdint.h>

namespace natsume::drivers::ioapic {

// Direct registers: offsets in the IOAPIC page (datasheet 3.0). The index
// register selects what the data window reads and writes.
enum class Mmio : uint32_t {
    IOREGSEL = 0x00,
    IOWIN    = 0x10,
    EOI      = 0x40,  // version 0x20 only
};
constexpr uint32_t offset(Mmio r) { return static_cast<uint32_t>(r); }
// The direct register `r` of the IOAPIC page at `base` (mapped uncached).
inline volatile uint32_t& mmio(uint64_t base, Mmio r) {
    return *reinterpret_cast<volatile uint32_t*>(base + offset(r));
}
inline constexpr uint64_t PAGE_SIZE = 0x1000;

// Indirect registers, selected through IOREGSEL (datasheet 3.1-3.2): ID,
// version, arbitration; redirection entry `pin` is the pair 0x10 + 2 * pin
// (bits 31:0) and + 1 (bits 63:32).
enum class Reg : uint32_t {
    ID          = 0x00,
    VERSION     = 0x01,
    ARBITRATION = 0x02,
    REDIR_BASE  = 0x10,
};
constexpr uint32_t index(Reg r) { return static_cast<uint32_t>(r); }
constexpr uint32_t redirection_low(unsigned pin) { return index(Reg::REDIR_BASE) + 2 * pin; }
constexpr uint32_t redirection_high(unsigned pin) { return index(Reg::REDIR_BASE) + 2 * pin + 1; }
// Version register: version in bits 7:0, index of the last entry in 23:16.
constexpr unsigned pin_count(uint32_t version) { return ((version >> 16) & 0xff) + 1; }
constexpr uint8_t version_of(uint32_t version) { return static_cast<uint8_t>(version & 0xff); }
// ID register: the IOAPIC id in bits 27:24.
constexpr uint8_t id_of(uint32_t id) { return static_cast<uint8_t>((id >> 24) & 0xf); }

// Redirection-entry fields (datasheet 3.2.4).
inline constexpr uint64_t VECTOR_MASK              = 0xff;
inline constexpr unsigned DELIVERY_SHIFT           = 8;
inline constexpr uint64_t DELIVERY_MASK            = 0x7ull << DELIVERY_SHIFT;
inline constexpr uint64_t DELIVERY_FIXED           = 0x0ull << DELIVERY_SHIFT;
inline constexpr uint64_t DELIVERY_LOWEST_PRIORITY = 0x1ull << DELIVERY_SHIFT;
inline constexpr uint64_t DEST_LOGICAL             = 1ull << 11;
inline constexpr uint64_t DELIVERY_STATUS          = 1ull << 12;  // read-only
inline constexpr uint64_t ACTIVE_LOW               = 1ull << 13;
inline constexpr uint64_t REMOTE_IRR               = 1ull << 14;  // read-only
inline constexpr uint64_t LEVEL                    = 1ull << 15;
inline constexpr uint64_t MASKED                   = 1ull << 16;
inline constexpr unsigned DEST_SHIFT               = 56;  // physical mode: APIC ID in 63:56
// Remappable format (VT-d 5.1.5.1): format bit 48, interrupt index bits
// 14:0 in 63:49 and bit 15 in bit 11; vector and trigger mode repeat the
// remapping entry's so the IOAPIC's EOI matching keeps working.
inline constexpr uint64_t REMAPPABLE      = 1ull << 48;
inline constexpr unsigned INDEX_LOW_SHIFT = 49, INDEX_HIGH_BIT = 11;

// Delivery mode fixed (000b) and destination mode physical (bit 11 = 0):
// an interrupt goes to one named core, never a lowest-priority guess.
struct Redirection {
    uint8_t vector       = 0;
    bool level           = false;
    bool active_low      = false;
    bool masked          = true;
    uint8_t dest_apic_id = 0;
};

constexpr uint64_t encode(const Redirection& r) {
    return uint64_t{r.vector} | (r.active_low ? ACTIVE_LOW : 0) | (r.level ? LEVEL : 0) | (r.masked ? MASKED : 0) |
           (uint64_t{r.dest_apic_id} << DEST_SHIFT);
}

constexpr Redirection decode(uint64_t v) {
    Redirection r;
    r.vector       = static_cast<uint8_t>(v & VECTOR_MASK);
    r.active_low   = v & ACTIVE_LOW;
    r.level        = v & LEVEL;
    r.masked       = v & MASKED;
    r.dest_apic_id = static_cast<uint8_t>(v >> DEST_SHIFT);
    return r;
}

// PCI INTx is level-triggered and active low (PCI Local Bus 3.0, 2.2.6).
constexpr Redirection pci_intx(uint8_t vector, uint8_t dest_apic_id) {
    return Redirection{vector, true, true, true, dest_apic_id};
}

// ISA interrupts are edge-triggered and active high (the ISA bus; ACPI's
// default for an ISA IRQ without an override, ACPI 6.x 5.2.12.5).
constexpr Redirection isa_irq(uint8_t vector, uint8_t dest_apic_id) {
    return Redirection{vector, false, false, true, dest_apic_id};
}

// A remappable entry naming interrupt-remapping entry `index`.
constexpr uint64_t remappable(uint16_t index, uint8_t vector, bool level, bool active_low, bool masked) {
    return uint64_t(index & 0x7fff) << INDEX_LOW_SHIFT | REMAPPABLE | uint64_t(index >> 15) << INDEX_HIGH_BIT |
           (masked ? MASKED : 0) | (level ? LEVEL : 0) | (active_low ? ACTIVE_LOW : 0) | vector;
}

}  // namespace natsume::drivers::ioapic
