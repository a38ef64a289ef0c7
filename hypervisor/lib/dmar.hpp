// ACPI DMAR table parser (Intel VT-d Specification rev. 3.x, chapter 8).
//
// Pure: works on a byte buffer, so the hypervisor and host tests use the same
// code. Every structure and device-scope length is checked against its parent
// before use; errors are values. Scopes are returned raw (type, start bus,
// path): turning a path into a bus/device/function needs the secondary bus
// numbers of the bridges on the way, which resolve_path() reads through a
// configuration-space callback.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "drivers/pci/config.hpp"

namespace natsume::dmar {

inline constexpr size_t MAX_UNITS      = 8;
inline constexpr size_t MAX_RMRRS      = 16;
inline constexpr size_t MAX_SCOPES     = 96;
inline constexpr size_t MAX_PATH_DEPTH = 8;

// DMAR flags (8.1) and DRHD flags (8.3).
inline constexpr uint8_t DMAR_INTR_REMAP      = 1u << 0;
inline constexpr uint8_t DMAR_X2APIC_OPT_OUT  = 1u << 1;
inline constexpr uint8_t DRHD_INCLUDE_PCI_ALL = 1u << 0;

// Device scope entry types (8.3.1, Table 8-2).
enum class ScopeType : uint8_t {
    PciEndpoint     = 1,
    PciSubHierarchy = 2,
    Ioapic          = 3,
    Hpet            = 4,
    AcpiNamespace   = 5,
};

struct PathElement {
    uint8_t device;
    uint8_t function;
};

struct Scope {
    ScopeType type;
    uint8_t enumeration_id;  // IOAPIC id / HPET number / ACPI device number
    uint8_t start_bus;
    uint8_t depth;  // path elements used
    PathElement path[MAX_PATH_DEPTH];
};

// A remapping hardware unit (DRHD, type 0). Its scopes are
// Dmar::scopes[first_scope .. first_scope + scope_count).
struct Unit {
    uint8_t flags;
    uint16_t segment;
    uint64_t base;  // register base, 4 KiB aligned
    size_t first_scope, scope_count;
    bool include_pci_all() const { return (flags & DRHD_INCLUDE_PCI_ALL) != 0; }
};

// A reserved memory region (RMRR, type 1) that must stay DMA-mapped for its
// devices. limit is the last byte (inclusive), as in the table.
struct Rmrr {
    uint16_t segment;
    uint64_t base, limit;
    size_t first_scope, scope_count;
};

struct Dmar {
    uint8_t host_address_width;  // bits, i.e. the table's HAW field + 1
    uint8_t flags;
    Unit units[MAX_UNITS];
    size_t unit_count;
    Rmrr rmrrs[MAX_RMRRS];
    size_t rmrr_count;
    Scope scopes[MAX_SCOPES];
    size_t scope_count;
    size_t skipped;  // ATSR, RHSA, ANDD, SATC and unknown types
};

enum class [[nodiscard]] Error{
    Ok,
    NullPointer,
    TooShort,  // buffer shorter than the 48-byte DMAR header
    BadSignature,
    BadLength,  // header length below 48 or beyond the buffer
    Checksum,
    StructTruncated,  // a remapping structure header runs past the table
    StructBadLength,  // zero, below its type's minimum, or past the table
    ScopeBadLength,   // a device scope shorter than 6, odd path bytes, or past its structure
    PathTooDeep,
    RmrrBadRange,  // base/limit+1 not 4 KiB aligned, or limit below base
    TooManyUnits,
    TooManyRmrrs,
    TooManyScopes,
};
const char* to_string(Error);

[[nodiscard]] Error parse(const uint8_t* table, size_t len, Dmar& out);

// PCI bus/device/function; raw() is the 16-bit requester id (source-id).
using Bdf = pci::Bdf;

// Configuration-space byte read (segment 0); returns 0xff for absent devices,
// as PCI does.
using ConfigRead8 = uint8_t (*)(void* ctx, uint8_t bus, uint8_t device, uint8_t function, uint16_t offset);

enum class [[nodiscard]] PathError{
    Ok,          EmptyPath,
    BadElement,   // device > 31 or function > 7
    NotABridge,   // an intermediate element is not a PCI-to-PCI bridge (header type 1)
    BridgeNoBus,  // bridge secondary bus is 0 or not above its primary
};
const char* to_string(PathError);

// Walks scope.path from scope.start_bus: every element but the last is a bridge
// whose secondary bus (config offset 0x19) holds the next element; the last
// element names the device (VT-d spec 8.3.2).
[[nodiscard]] PathError resolve_path(const Scope& scope, ConfigRead8 read, void* ctx, Bdf& out);

// The unit covering bdf in segment: a unit with a PCI endpoint scope that
// resolves to bdf wins; otherwise the segment's INCLUDE_PCI_ALL unit (spec 8.3:
// that unit is listed last and takes every device no other unit names).
// Sub-hierarchy scopes are not expanded. -1 when no unit covers the device.
int unit_for(const Dmar& d, uint16_t segment, Bdf bdf, ConfigRead8 read, void* ctx);

}  // namespace natsume::dmar
