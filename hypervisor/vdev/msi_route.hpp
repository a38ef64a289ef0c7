// Where a passed-through device's MSI and MSI-X messages go: the one message
// the hypervisor writes into the device for a guest vector.
//
// Two formats, one decision per machine:
// - compatibility format (SDM Vol. 3A 10.11.1, 10.11.2), without interrupt
//   remapping: address 0xFEE in bits 31:20, the owner core's APIC ID in
//   19:12, physical destination, no redirection hint; data = the vector,
//   fixed delivery, edge;
// - remappable format (VT-d spec 5.1.5.2), with interrupt remapping: the
//   message only names an interrupt-remapping entry, which the route first
//   programs with the vector, the owner core and the device's source-id, so
//   a message from any other requester is blocked by the remapping unit.
// The route function is the hypervisor's (arch/x86/vtd); this header stays
// pure so the virtual config space and MSI-X table are host-tested with both.
#pragma once
#include <stdint.h>

namespace natsume::msi {

struct Message {
    uint64_t address;
    uint32_t data;
    constexpr bool operator==(const Message&) const = default;
};

inline constexpr uint32_t ADDRESS_BASE              = 0xFEE00000u;
inline constexpr uint32_t DEST_SHIFT                = 12;
inline constexpr uint32_t MAX_COMPATIBILITY_APIC_ID = 0xFF;  // 8 destination bits
// Vectors 0-15 are exceptions (SDM Vol. 3A 6.2): a message carrying one would
// be taken as an exception by the guest, so no route ever programs one.
inline constexpr uint8_t MIN_VECTOR = 0x10;

constexpr Message compatibility(uint32_t apic_id, uint8_t vector) {
    return {ADDRESS_BASE | (apic_id & MAX_COMPATIBILITY_APIC_ID) << DEST_SHIFT, vector};
}

// slot: 0 for MSI (one message: Multiple Message Enable is kept at 0), the
// entry number for MSI-X. Returns nullptr and fills out, or a sentence why
// the message cannot be routed (the caller keeps the device from sending).
using RouteFn = const char* (*)(void* ctx, uint16_t slot, uint8_t vector, uint32_t apic_id, Message& out);

struct Route {
    uint32_t apic_id = 0;        // the owner core
    RouteFn remap    = nullptr;  // null: compatibility format
    void* ctx        = nullptr;

    bool remapped() const { return remap != nullptr; }
    const char* message(uint16_t slot, uint8_t vector, Message& out) const {
        if (remap) return remap(ctx, slot, vector, apic_id, out);
        out = compatibility(apic_id, vector);
        return nullptr;
    }
    // What a masked or disabled entry holds: never sent, and under interrupt
    // remapping a compatibility-format message would be blocked anyway.
    Message idle() const { return compatibility(apic_id, 0); }
};

}  // namespace natsume::msi
