// Routing decisions for level-triggered INTx lines, made per device (BDF),
// never per pin: when devices of several partitions share a line, each
// interrupt goes only to the owners of the devices that asserted it.
//
// A device says it asserted INTx through PCI Status bit 3, "Interrupt
// Status" (PCI Local Bus Specification 3.0, 6.2.3); devices that do not
// implement it (Bochs' e1000) cannot tell, so their owners always receive
// the interrupt. A caller with a device-specific check (e.g. reading a
// device's interrupt cause register) reports its answer as if it were bit 3.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume::intx {

inline constexpr size_t MAX_DEVICES_PER_LINE = 32;  // bitmaps below are 32 bits
inline constexpr uint8_t MAX_PARTITIONS      = 64;  // owners bitmap is 64 bits

struct Device {
    uint16_t bdf;                // bus << 8 | device << 3 | function
    uint8_t owner;               // partition index, < MAX_PARTITIONS
    bool status_bit3_supported;  // the device (or a device-specific check) can tell
    bool status_bit3_value;      // it asserted INTx (meaningful only if supported)
};

enum class Route : uint8_t {
    Unused,     // no device on the line
    Direct,     // every device belongs to one partition: IOAPIC pin straight to its core
    PerDevice,  // devices of several partitions: the hypervisor takes the line
    Invalid,    // too many devices or an owner out of range
};

struct Decision {
    uint64_t owners;      // bit p: partition p must receive this interrupt
    uint32_t asserted;    // bit i: devices[i] reported bit 3 set
    uint32_t unknown;     // bit i: devices[i] cannot report bit 3
    bool could_not_tell;  // some owner is in `owners` only because its device cannot report
    bool spurious;        // no device asserted and none is unknown
    bool valid;           // false if the input was out of range (then owners == 0)
};

// True when the line carries devices of more than one partition.
bool line_is_shared(const Device* devices, size_t count);

// How the line must be routed (static, from the partition file).
Route route_for(const Device* devices, size_t count);

// What a device that cannot tell gets its owner.
enum class Unknown : uint8_t {
    Always,         // the owner receives every interrupt of the line
    ByElimination,  // only when no device that can tell asserted
};

// One interrupt on a shared line: who gets it, from each device's status.
Decision decide(const Device* devices, size_t count, Unknown unknown = Unknown::Always);

const char* to_string(Route);

}  // namespace natsume::intx
