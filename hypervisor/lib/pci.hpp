// PCI configuration space: enumeration, BAR sizing, capability walks and the
// decoding of guest config accesses (PCI Local Bus Specification 3.0, chapter 6;
// PCI-to-PCI Bridge Architecture Specification 1.2, chapter 3; PCI Firmware
// Specification 3.0, section 4.1 for ECAM/MCFG).
//
// All hardware access goes through ConfigAccess so the same code runs on the
// 0xCF8/0xCFC ports, on ECAM, and on a fake config space in host tests.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "drivers/pci/config.hpp"

namespace natsume::pci {

// Dword-granular config access. offset is always dword-aligned (0..0xFFC);
// read32 of an absent function must return 0xFFFFFFFF, as the hardware does.
struct ConfigAccess {
    uint32_t (*read32)(void* ctx, uint16_t bdf, uint16_t offset);
    void (*write32)(void* ctx, uint16_t bdf, uint16_t offset, uint32_t value);
    void* ctx;
};

// Register offsets, bits, capability IDs and BDF helpers: drivers/pci/config.hpp.

// Writes "bb:dd.f" (lower-case hex) and a terminating NUL; returns buf.
char* format_bdf(char buf[8], uint16_t bdf);

struct Bar {
    uint8_t index;  // BAR slot 0..5 (a 64-bit BAR also occupies slot index + 1)
    bool io, is64, prefetchable;
    uint64_t base, size;
};

struct Function {
    uint16_t bdf, vendor_id, device_id;
    uint8_t class_code, subclass, prog_if, header_type;  // header_type without the multi-function bit
    uint8_t irq_line, irq_pin;                           // pin: 0 none, 1..4 INTA#..INTD#
    bool multifunction, is_bridge;
    uint8_t secondary_bus;  // bridges only: as programmed by firmware
    Bar bars[MAX_BARS];     // filled by size_bars, packed; bars[i].index names the slot
    uint8_t bar_count;
    uint8_t cap_msi, cap_msix, cap_pcie, cap_pm;  // capability offsets, 0 = absent
    // Command bit 10 (Interrupt Disable) sticks, or the function is PCI Express
    // (where Interrupt Status and Interrupt Disable are required). Both arrived
    // together in PCI 2.3, so this predicts that status bit 3 reports INTx.
    // Bochs' e1000 ignores bit 10 and gets false.
    bool intx_status_supported_hint;
    bool cap_list_broken;  // the capability walk failed (loop or bad pointer): cap_* are partial
    uint8_t revision;
};

inline constexpr size_t MAX_FUNCTIONS = 64;
struct Inventory {
    Function functions[MAX_FUNCTIONS];
    size_t count;
};

enum class [[nodiscard]] Error{
    Ok,
    TooManyFunctions,
    BusLoop,
    CapabilityLoop,
    CapabilityBadPointer,
    TooManyCapabilities,
    Bar64InLastSlot,
    BarReservedType,
};
const char* to_string(Error);

// Byte/word access built on the dword accessors. write8/write16 read, merge and
// write the whole dword; when they target the Command register they write the
// Status half as zero so its RW1C bits are not cleared by accident.
uint8_t read8(const ConfigAccess&, uint16_t bdf, uint16_t offset);
uint16_t read16(const ConfigAccess&, uint16_t bdf, uint16_t offset);
uint32_t read32(const ConfigAccess&, uint16_t bdf, uint16_t offset);
void write8(const ConfigAccess&, uint16_t bdf, uint16_t offset, uint8_t value);
void write16(const ConfigAccess&, uint16_t bdf, uint16_t offset, uint16_t value);
void write32(const ConfigAccess&, uint16_t bdf, uint16_t offset, uint32_t value);
// The general form: within the dword at offset & ~3, bits in mask take value's
// bits; other bits keep their current value except those in rw1c, written as 0.
void write_merged(const ConfigAccess&, uint16_t bdf, uint16_t offset, uint32_t mask, uint32_t value, uint32_t rw1c);

struct Capability {
    uint8_t id;
    uint8_t offset;
};
// Walks the standard capability list (section 6.7) into out[0..max). Pointers
// have their low two bits masked as the spec requires; a pointer below 0x40 is
// CapabilityBadPointer, more than 48 entries is CapabilityLoop, more than max
// entries is TooManyCapabilities. count holds the entries read before any error.
// A function without the Status capability-list bit has an empty list.
[[nodiscard]] Error walk_capabilities(const ConfigAccess&, uint16_t bdf, Capability* out, size_t max, size_t& count);
// Offset of the first capability with this id, 0 if absent or the list is broken.
uint8_t find_capability(const ConfigAccess&, uint16_t bdf, uint8_t id);

// Scans bus 0 and, breadth-first, every bus behind a PCI-PCI bridge (secondary
// bus numbers as firmware programmed them; unprogrammed bridges are skipped),
// all functions of multi-function devices. Vendor 0xFFFF or 0x0000 is absent.
// BARs are not sized (see size_bars). Probes command bit 10 of functions with
// an interrupt pin (restored afterwards) for intx_status_supported_hint.
// A bus reached twice is BusLoop and scanned once; scanning continues and the
// first error is returned, except TooManyFunctions, which stops the scan.
[[nodiscard]] Error enumerate(const ConfigAccess&, Inventory&);

// Sizes the function's BARs (section 6.2.5.1): memory and I/O decode are
// disabled in the command register, each BAR written with all ones, read back
// and restored, then the command register is restored. Fills bars/bar_count.
// Unimplemented BARs (reading back zero) are left out.
[[nodiscard]] Error size_bars(const ConfigAccess&, Function&);
// size_bars for every function of the inventory; returns the first error.
[[nodiscard]] Error size_all_bars(const ConfigAccess&, Inventory&);

// Configuration mechanism #1 (section 3.2.2.3.2): the address latched in port
// 0xCF8 plus the data port used (0xCFC..0xCFF) give the register accessed.
struct PortAccess {
    bool enabled;  // bit 31 set and data_port within 0xCFC..0xCFF
    uint16_t bdf;
    uint16_t offset;  // register (cf8 bits 7:2) plus data_port - 0xCFC
};
PortAccess decode_cf8(uint32_t cf8, uint16_t data_port);

// ECAM (PCI Firmware 3.0 section 4.1.2 / MCFG): ecam_base is the address of
// bus 0 (as in MCFG, also when start_bus > 0); each bus has 1 MiB, each
// function 4 KiB. False when addr is outside start_bus..end_bus.
bool decode_ecam(uint64_t addr, uint64_t ecam_base, uint8_t start_bus, uint8_t end_bus, uint16_t& bdf,
                 uint16_t& offset);

}  // namespace natsume::pci
