// PCI configuration-space facts (PCI Local Bus Specification 3.0, chapter 6;
// PCI-to-PCI Bridge Architecture Specification 1.2, chapter 3; PCI Express
// Base Specification for the requester id; PCI Firmware Specification 3.0,
// 4.1.2 for ECAM): register offsets, bits, capability IDs, function
// addresses, configuration mechanism #1 and BAR decoding. One definition for
// the hypervisor (hypervisor/lib/pci: enumeration, virtual config space),
// its self-test and the guest kernel. Pure, host-tested.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume::pci {

// Type 0 / type 1 header offsets (PCI 3.0 section 6.1, figure 6-1; bridge spec 3.2).
inline constexpr uint16_t VENDOR_ID = 0x00, DEVICE_ID = 0x02, COMMAND = 0x04, STATUS = 0x06;
inline constexpr uint16_t REVISION_ID = 0x08, PROG_IF = 0x09, SUBCLASS = 0x0A, CLASS_CODE = 0x0B;
inline constexpr uint16_t CACHE_LINE_SIZE = 0x0C, LATENCY_TIMER = 0x0D, HEADER_TYPE = 0x0E, BIST = 0x0F;
inline constexpr uint16_t BAR0          = 0x10;
inline constexpr uint16_t ROM_BAR_TYPE0 = 0x30, ROM_BAR_TYPE1 = 0x38;
inline constexpr uint16_t CAPABILITY_POINTER = 0x34;
inline constexpr uint16_t INTERRUPT_LINE = 0x3C, INTERRUPT_PIN = 0x3D;
inline constexpr uint16_t PRIMARY_BUS = 0x18, SECONDARY_BUS = 0x19, SUBORDINATE_BUS = 0x1A;
inline constexpr uint16_t BRIDGE_CONTROL  = 0x3E;
inline constexpr uint16_t CONFIG_SIZE     = 0x100;   // conventional config space
inline constexpr uint16_t EXT_CONFIG_SIZE = 0x1000;  // PCI Express extended config space

// Command register bits (section 6.2.2).
inline constexpr uint16_t CMD_IO_SPACE = 1u << 0, CMD_MEMORY_SPACE = 1u << 1, CMD_BUS_MASTER = 1u << 2;
inline constexpr uint16_t CMD_PARITY_ERROR_RESPONSE = 1u << 6, CMD_SERR_ENABLE = 1u << 8;
inline constexpr uint16_t CMD_INTERRUPT_DISABLE = 1u << 10;
// Status register bits (section 6.2.3). The RW1C bits are cleared by writing 1.
inline constexpr uint16_t STATUS_INTERRUPT = 1u << 3, STATUS_CAPABILITY_LIST = 1u << 4;
inline constexpr uint16_t STATUS_RW1C = 0xF900;  // bits 8, 11..15
// Header type register (section 6.2.1): layout in bits 6:0, multi-function bit 7.
inline constexpr uint8_t HEADER_LAYOUT_MASK = 0x7F, HEADER_MULTI_FUNCTION = 0x80;
inline constexpr uint8_t HEADER_NORMAL = 0, HEADER_BRIDGE = 1, HEADER_CARD_BUS = 2;
// Base address register low bits (section 6.2.5.1).
inline constexpr uint32_t BAR_IO = 1u << 0, BAR_MEM_TYPE64 = 2u << 1, BAR_MEM_TYPE_MASK = 3u << 1;
inline constexpr uint32_t BAR_PREFETCHABLE    = 1u << 3;
inline constexpr uint32_t BAR_IO_ADDRESS_MASK = ~0x3u, BAR_MEM_ADDRESS_MASK = ~0xFu;
inline constexpr size_t MAX_BARS = 6;  // type 0 header; a type 1 header has two

// Capability IDs (PCI 3.0 appendix H).
inline constexpr uint8_t CAP_POWER_MANAGEMENT = 0x01, CAP_MSI = 0x05, CAP_VENDOR_SPECIFIC = 0x09;
inline constexpr uint8_t CAP_PCI_EXPRESS = 0x10, CAP_MSI_X = 0x11;
// MSI and MSI-X message control: a word at capability + 2 (PCI 3.0, 6.8.1.3 and 6.8.2.3).
inline constexpr uint16_t CAP_MESSAGE_CONTROL = 0x02, MSI_CONTROL_ENABLE = 1u << 0;
// The capability list lives in 0x40..0xFF: at most (0x100 - 0x40) / 4 entries.
inline constexpr size_t MAX_CAPABILITY_ENTRIES   = 48;
inline constexpr uint8_t FIRST_CAPABILITY_OFFSET = 0x40;

// Bus/device/function packed as bus[15:8] device[7:3] function[2:0], the
// layout of a PCIe requester ID and of a VT-d source-id.
constexpr uint16_t make_bdf(uint8_t bus, uint8_t dev, uint8_t fn) {
    return static_cast<uint16_t>((bus << 8) | ((dev & 0x1F) << 3) | (fn & 0x7));
}
constexpr uint8_t bdf_bus(uint16_t bdf) { return static_cast<uint8_t>(bdf >> 8); }
constexpr uint8_t bdf_dev(uint16_t bdf) { return static_cast<uint8_t>((bdf >> 3) & 0x1F); }
constexpr uint8_t bdf_fn(uint16_t bdf) { return static_cast<uint8_t>(bdf & 0x7); }

inline constexpr uint32_t BUSES = 256, DEVICES_PER_BUS = 32, FUNCTIONS_PER_DEVICE = 8;

// The same address as a value type with named parts (VT-d device scopes).
struct Bdf {
    uint8_t bus, device, function;
    constexpr uint16_t raw() const { return make_bdf(bus, device, function); }
    static constexpr Bdf of(uint16_t bdf) { return {bdf_bus(bdf), bdf_dev(bdf), bdf_fn(bdf)}; }
    constexpr bool operator==(const Bdf&) const = default;
};

// Configuration mechanism #1 (section 3.2.2.3.2): the address latched in port
// 0xCF8 plus the data port used (0xCFC..0xCFF) give the register accessed.
inline constexpr uint16_t CONFIG_ADDRESS_PORT = 0xCF8, CONFIG_DATA_PORT = 0xCFC;
inline constexpr uint32_t CONFIG_ENABLE = 0x80000000u;
// The dword written to 0xCF8: enable bit 31, BDF in 23:8, register in 7:2.
constexpr uint32_t config_address(uint16_t bdf, uint16_t offset) {
    return CONFIG_ENABLE | (uint32_t{bdf} << 8) | (offset & 0xFCu);
}
// Mechanism #1 reaches the 256 bytes of conventional config space only.
inline constexpr uint16_t PORT_CONFIG_LIMIT = 0x100;

// ECAM: each function has 4 KiB at ((bus - start_bus) << 20 | dev << 15 | fn << 12).
constexpr uint64_t ecam_offset(uint16_t bdf, uint8_t start_bus, uint16_t offset) {
    return (uint64_t{bdf} - (uint64_t{start_bus} << 8)) << 12 | (offset & 0xFFCu);
}

// A BAR as its register(s) encode it (section 6.2.5.1): lo is the BAR dword,
// hi the next one (used only for a 64-bit memory BAR).
struct BarRegister {
    uint64_t base     = 0;
    bool io           = false;
    bool is64         = false;
    bool prefetchable = false;
};
constexpr BarRegister decode_bar(uint32_t lo, uint32_t hi) {
    BarRegister b;
    if (lo & BAR_IO) {
        b.io   = true;
        b.base = lo & BAR_IO_ADDRESS_MASK;
        return b;
    }
    b.is64         = (lo & BAR_MEM_TYPE_MASK) == BAR_MEM_TYPE64;
    b.prefetchable = (lo & BAR_PREFETCHABLE) != 0;
    b.base         = (lo & BAR_MEM_ADDRESS_MASK) | (b.is64 ? uint64_t{hi} << 32 : 0);
    return b;
}
// Size from the value read back after writing all ones to a 32-bit memory
// BAR (the lowest set address bit); 0 when the BAR is not implemented.
constexpr uint64_t memory_bar_size(uint32_t readback) {
    uint32_t mask = readback & BAR_MEM_ADDRESS_MASK;
    return mask == 0 ? 0 : uint64_t{mask & (~mask + 1)};
}

}  // namespace natsume::pci
