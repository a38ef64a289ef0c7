// ACPI table discovery and MADT parsing (ACPI Specification 6.5, chapter 5.2).
//
// Firmware tables are read through PhysMem so the same code runs on the
// hypervisor's physical map and on captured tables in host tests. Every
// length in a table is checked against what was mapped before it is used.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume::acpi {

// Physical memory access. map returns a pointer to len readable bytes at
// phys, or null if that range is not accessible.
struct PhysMem {
    const void* (*map)(void* ctx, uint64_t phys, size_t len);
    void* ctx;
};

inline constexpr size_t MAX_CPUS      = 256;
inline constexpr size_t MAX_IOAPICS   = 16;
inline constexpr size_t MAX_OVERRIDES = 32;
inline constexpr size_t MAX_NMIS      = 32;

// LapicNmi::acpi_uid for "all processors" (MADT type 4 uid 0xFF and type 0xA
// uid 0xFFFFFFFF are both stored as this value).
inline constexpr uint32_t ALL_PROCESSORS = 0xFFFFFFFFu;

// MPS INTI flags (ACPI 6.5 table 5.26): polarity bits 1:0, trigger bits 3:2.
inline constexpr uint16_t POLARITY_MASK = 0x3, POLARITY_HIGH = 0x1, POLARITY_LOW = 0x3;
inline constexpr uint16_t TRIGGER_MASK = 0xC, TRIGGER_EDGE = 0x4, TRIGGER_LEVEL = 0xC;

struct Lapic {
    uint32_t apic_id;
    uint32_t acpi_uid;
    bool enabled;
    bool online_capable;
};
struct Ioapic {
    uint32_t id;
    uint32_t address;
    uint32_t gsi_base;
};
struct Override {
    uint8_t bus, source;
    uint32_t gsi;
    uint16_t flags;  // MPS INTI flags
};
struct LapicNmi {
    uint32_t acpi_uid;  // ALL_PROCESSORS for every processor
    uint16_t flags;     // MPS INTI flags
    uint8_t lint;       // 0 or 1
};
struct Madt {
    uint32_t lapic_address;
    uint32_t flags;  // bit 0: PC-AT compatible 8259 pair present
    Lapic cpus[MAX_CPUS];
    size_t cpu_count;
    Ioapic ioapics[MAX_IOAPICS];
    size_t ioapic_count;
    Override overrides[MAX_OVERRIDES];
    size_t override_count;
    LapicNmi nmis[MAX_NMIS];
    size_t nmi_count;
    uint64_t lapic_base;  // type 5 override when present, else lapic_address
};

struct Tables {
    uint8_t revision;  // RSDP revision: 0 = ACPI 1.0 (RSDT only), >= 2 has an XSDT
    uint64_t rsdt, xsdt;
    char oem[7];  // NUL-terminated OEMID
};

enum class [[nodiscard]] Error{
    Ok,
    NullPointer,
    RsdpTruncated,
    RsdpBadSignature,
    RsdpChecksum,
    RsdpExtendedChecksum,
    RsdpBadLength,
    NoRootTable,
    RsdpNotFound,
    Unmapped,
    RootBadSignature,
    TableTruncated,
    TableBadLength,
    TableChecksum,
    TableBadSignature,
    TableNotFound,
    MadtEntryZeroLength,
    MadtEntryTruncated,
    MadtEntryTooShort,
    TooManyCpus,
    TooManyIoapics,
    TooManyOverrides,
    TooManyNmis,
    TooManyEcamWindows,
};

// rev 0 (RSDT) and rev >= 2 (XSDT, extended checksum over the RSDP's length).
[[nodiscard]] Error parse_rsdp(const uint8_t* rsdp, size_t len, Tables& out);
// First 1 KiB of the EBDA (segment at 0x40E), then 0xE0000-0xFFFFF, 16-byte steps.
[[nodiscard]] Error find_rsdp_in_bios(const PhysMem&, uint64_t& rsdp_phys);
// The index-th table with signature sig. Prefers the XSDT; validates the root's
// and the found table's signature, length and checksum.
[[nodiscard]] Error find_table(const PhysMem&, const Tables&, const char sig[4], uint64_t& phys, size_t index = 0);
// Checks a complete table in memory: header fits, length <= len, checksum.
[[nodiscard]] Error check_table(const uint8_t* table, size_t len);
// Types 0 (LAPIC), 1 (IOAPIC), 2 (ISO), 4 (LAPIC NMI), 5 (LAPIC address
// override), 9 (x2APIC), 0xA (x2APIC NMI); unknown types skipped by length.
[[nodiscard]] Error parse_madt(const uint8_t* table, size_t len, Madt& out);

// MCFG (PCI Firmware Spec 3.0, 4.1.2): one enhanced configuration (ECAM)
// window per segment/bus range; entries of 16 bytes after a 44-byte header.
struct EcamWindow {
    uint64_t base;
    uint16_t segment;
    uint8_t start_bus, end_bus;
};
inline constexpr size_t MAX_ECAM_WINDOWS = 8;
struct Mcfg {
    EcamWindow windows[MAX_ECAM_WINDOWS];
    size_t count;
};
[[nodiscard]] Error parse_mcfg(const uint8_t* table, size_t len, Mcfg& out);
// Calls fn for the root table, every table it lists, and the DSDT and FACS
// named by the FADT. Keeps going past a broken table and returns the first
// error seen, so a dump shows as much as the firmware offers.
[[nodiscard]] Error for_each_table(const PhysMem&, const Tables&,
                                   void (*fn)(void* ctx, const char sig[4], uint64_t phys, uint32_t len), void* ctx);
const char* to_string(Error);

}  // namespace natsume::acpi
