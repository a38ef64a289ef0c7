// Where a passed-through device's MSI and MSI-X messages go: the one message
// the hypervisor writes into the device for a guest vector.
//
// The destination is one of the partition's cores: the guest's physical
// destination when it names one (Linux allocates each vector on one CPU and
// aims the message at that CPU; delivered to another, the interrupt is
// lost), the owner core otherwise (logical mode, the broadcast ID, a core of
// another partition). Nothing else of the guest's address or data survives.
//
// Two formats, one decision per machine:
// - compatibility format (SDM Vol. 3A 10.11.1, 10.11.2), without interrupt
//   remapping: address 0xFEE in bits 31:20, the destination core's APIC ID
//   in 19:12, physical destination, no redirection hint; data = the vector,
//   fixed delivery, edge;
// - remappable format (VT-d spec 5.1.5.2), with interrupt remapping: the
//   message only names an interrupt-remapping entry, which the route first
//   programs with the vector, the destination core and the device's
//   source-id, so a message from any other requester is blocked by the
//   remapping unit.
// The route function is the hypervisor's (arch/x86/vtd); this header stays
// pure so the virtual config space and MSI-X table are host-tested with both.
#pragma once
#include <stdint.h>

#include "natsume/config_blob.h"

namespace natsume::msi {

struct Message {
    uint64_t address;
    uint32_t data;
    constexpr bool operator==(const Message&) const = default;
};

inline constexpr uint32_t ADDRESS_BASE              = 0xFEE00000u;
inline constexpr uint32_t DEST_SHIFT                = 12;
inline constexpr uint32_t MAX_COMPATIBILITY_APIC_ID = 0xFF;  // 8 destination bits
// Address bit 2, Destination Mode: 1 = logical (SDM Vol. 3A 10.11.1).
inline constexpr uint64_t ADDRESS_DEST_LOGICAL = 1u << 2;
// A physical destination of 0xFF is the broadcast ID (SDM Vol. 3A 10.6.2.1),
// never one core.
inline constexpr uint32_t BROADCAST_ID = 0xFF;
// Vectors 0-15 are exceptions (SDM Vol. 3A 6.2): a message carrying one would
// be taken as an exception by the guest, so no route ever programs one.
inline constexpr uint8_t MIN_VECTOR = 0x10;
// As many cores as a partition file lists.
inline constexpr uint8_t MAX_CORES = NATSUME_CONFIG_MAX_CORES;

constexpr Message compatibility(uint32_t apic_id, uint8_t vector) {
    return {ADDRESS_BASE | (apic_id & MAX_COMPATIBILITY_APIC_ID) << DEST_SHIFT, vector};
}

// slot: 0 for MSI (one message: Multiple Message Enable is kept at 0), the
// entry number for MSI-X; apic_id: the destination core (Route::destination).
// Returns nullptr and fills out, or a sentence why the message cannot be
// routed (the caller keeps the device from sending).
using RouteFn = const char* (*)(void* ctx, uint16_t slot, uint8_t vector, uint32_t apic_id, Message& out);

// What check() finds wrong with a route's cores.
enum class [[nodiscard]] RouteError : uint8_t{
    Ok,
    TooManyCores,    // core_count above MAX_CORES
    OwnerNotACore,   // core_count > 0 and apic_id not among the cores
    ApicIdTooLarge,  // compatibility format: the owner or a core above MAX_COMPATIBILITY_APIC_ID
};

struct Route {
    uint32_t apic_id = 0;        // the owner core: where anything the guest does not aim at a core goes
    RouteFn remap    = nullptr;  // null: compatibility format
    void* ctx        = nullptr;
    // The partition's cores (APIC IDs), apic_id among them. core_count 0:
    // the partition has only apic_id. Last, with defaults, so that
    // initialisers written before partitions had several cores
    // (Route{owner, fn, ctx}) still mean one core.
    uint32_t cores[MAX_CORES] = {};
    uint8_t core_count        = 0;

    constexpr bool remapped() const { return remap != nullptr; }

    constexpr bool is_core(uint32_t id) const {
        if (core_count == 0) return id == apic_id;
        for (uint8_t i = 0; i < core_count && i < MAX_CORES; ++i)
            if (cores[i] == id) return true;
        return false;
    }

    constexpr RouteError check() const {
        if (core_count > MAX_CORES) return RouteError::TooManyCores;
        if (!is_core(apic_id)) return RouteError::OwnerNotACore;
        if (remapped()) return RouteError::Ok;  // remapping entries take 32-bit destinations
        if (apic_id > MAX_COMPATIBILITY_APIC_ID) return RouteError::ApicIdTooLarge;
        for (uint8_t i = 0; i < core_count; ++i)
            if (cores[i] > MAX_COMPATIBILITY_APIC_ID) return RouteError::ApicIdTooLarge;
        return RouteError::Ok;
    }

    // The core a guest's MSI address asks for: its physical destination
    // (bits 19:12, Destination Mode bit 2 clear) when that is one of the
    // cores, apic_id otherwise. The other address bits play no part: the
    // guest's address never reaches the device.
    constexpr uint32_t destination(uint64_t guest_address) const {
        if (guest_address & ADDRESS_DEST_LOGICAL) return apic_id;  // logical IDs are each core's to set
        const auto dest = static_cast<uint32_t>(guest_address >> DEST_SHIFT) & MAX_COMPATIBILITY_APIC_ID;
        return dest != BROADCAST_ID && is_core(dest) ? dest : apic_id;
    }

    // The message delivering vector to dest (normally destination() of the
    // guest's address; anything not a core means apic_id).
    const char* message(uint16_t slot, uint8_t vector, uint32_t dest, Message& out) const {
        if (!is_core(dest)) dest = apic_id;
        if (remap) return remap(ctx, slot, vector, dest, out);
        out = compatibility(dest, vector);
        return nullptr;
    }
    // What a masked or disabled entry holds: never sent, and under interrupt
    // remapping a compatibility-format message would be blocked anyway.
    Message idle() const { return compatibility(apic_id, 0); }
};

constexpr const char* to_string(RouteError e) {
    switch (e) {
    case RouteError::Ok: return "The MSI route is usable.";
    case RouteError::TooManyCores: return "An MSI route lists more cores than a partition has (8).";
    case RouteError::OwnerNotACore: return "An MSI route's owner core is not among the partition's cores.";
    case RouteError::ApicIdTooLarge:
        return "MSI without interrupt remapping can address APIC IDs 0-255 only; a partition core's is larger.";
    }
    return "Unknown MSI route error.";
}

}  // namespace natsume::msi
