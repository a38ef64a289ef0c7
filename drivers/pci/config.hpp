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
inline constexpr uint16_t kVendorId = 0x00, kDeviceId = 0x02, kCommand = 0x04, kStatus = 0x06;
inline constexpr uint16_t kRevisionId = 0x08, kProgIf = 0x09, kSubclass = 0x0A, kClassCode = 0x0B;
inline constexpr uint16_t kCacheLineSize = 0x0C, kLatencyTimer = 0x0D, kHeaderType = 0x0E, kBist = 0x0F;
inline constexpr uint16_t kBar0 = 0x10;
inline constexpr uint16_t kRomBarType0 = 0x30, kRomBarType1 = 0x38;
inline constexpr uint16_t kCapabilityPointer = 0x34;
inline constexpr uint16_t kInterruptLine = 0x3C, kInterruptPin = 0x3D;
inline constexpr uint16_t kPrimaryBus = 0x18, kSecondaryBus = 0x19, kSubordinateBus = 0x1A;
inline constexpr uint16_t kBridgeControl = 0x3E;
inline constexpr uint16_t kConfigSize = 0x100;    // conventional config space
inline constexpr uint16_t kExtConfigSize = 0x1000; // PCI Express extended config space

// Command register bits (section 6.2.2).
inline constexpr uint16_t kCmdIoSpace = 1u << 0, kCmdMemorySpace = 1u << 1, kCmdBusMaster = 1u << 2;
inline constexpr uint16_t kCmdParityErrorResponse = 1u << 6, kCmdSerrEnable = 1u << 8;
inline constexpr uint16_t kCmdInterruptDisable = 1u << 10;
// Status register bits (section 6.2.3). The RW1C bits are cleared by writing 1.
inline constexpr uint16_t kStatusInterrupt = 1u << 3, kStatusCapabilityList = 1u << 4;
inline constexpr uint16_t kStatusRw1c = 0xF900;  // bits 8, 11..15
// Header type register (section 6.2.1): layout in bits 6:0, multi-function bit 7.
inline constexpr uint8_t kHeaderLayoutMask = 0x7F, kHeaderMultiFunction = 0x80;
inline constexpr uint8_t kHeaderNormal = 0, kHeaderBridge = 1, kHeaderCardBus = 2;
// Base address register low bits (section 6.2.5.1).
inline constexpr uint32_t kBarIo = 1u << 0, kBarMemType64 = 2u << 1, kBarMemTypeMask = 3u << 1;
inline constexpr uint32_t kBarPrefetchable = 1u << 3;
inline constexpr uint32_t kBarIoAddressMask = ~0x3u, kBarMemAddressMask = ~0xFu;
inline constexpr size_t kMaxBars = 6;  // type 0 header; a type 1 header has two

// Capability IDs (PCI 3.0 appendix H).
inline constexpr uint8_t kCapPowerManagement = 0x01, kCapMsi = 0x05, kCapVendorSpecific = 0x09;
inline constexpr uint8_t kCapPciExpress = 0x10, kCapMsiX = 0x11;
// MSI and MSI-X message control: a word at capability + 2 (PCI 3.0, 6.8.1.3 and 6.8.2.3).
inline constexpr uint16_t kCapMessageControl = 0x02, kMsiControlEnable = 1u << 0;
// The capability list lives in 0x40..0xFF: at most (0x100 - 0x40) / 4 entries.
inline constexpr size_t kMaxCapabilityEntries = 48;
inline constexpr uint8_t kFirstCapabilityOffset = 0x40;

// Bus/device/function packed as bus[15:8] device[7:3] function[2:0], the
// layout of a PCIe requester ID and of a VT-d source-id.
constexpr uint16_t make_bdf(uint8_t bus, uint8_t dev, uint8_t fn) {
    return static_cast<uint16_t>((bus << 8) | ((dev & 0x1F) << 3) | (fn & 0x7));
}
constexpr uint8_t bdf_bus(uint16_t bdf) { return static_cast<uint8_t>(bdf >> 8); }
constexpr uint8_t bdf_dev(uint16_t bdf) { return static_cast<uint8_t>((bdf >> 3) & 0x1F); }
constexpr uint8_t bdf_fn(uint16_t bdf) { return static_cast<uint8_t>(bdf & 0x7); }

inline constexpr uint32_t kBuses = 256, kDevicesPerBus = 32, kFunctionsPerDevice = 8;

// The same address as a value type with named parts (VT-d device scopes).
struct Bdf {
    uint8_t bus, device, function;
    constexpr uint16_t raw() const { return make_bdf(bus, device, function); }
    static constexpr Bdf of(uint16_t bdf) { return {bdf_bus(bdf), bdf_dev(bdf), bdf_fn(bdf)}; }
    constexpr bool operator==(const Bdf&) const = default;
};

// Configuration mechanism #1 (section 3.2.2.3.2): the address latched in port
// 0xCF8 plus the data port used (0xCFC..0xCFF) give the register accessed.
inline constexpr uint16_t kConfigAddressPort = 0xCF8, kConfigDataPort = 0xCFC;
inline constexpr uint32_t kConfigEnable = 0x80000000u;
// The dword written to 0xCF8: enable bit 31, BDF in 23:8, register in 7:2.
constexpr uint32_t config_address(uint16_t bdf, uint16_t offset) {
    return kConfigEnable | (uint32_t{bdf} << 8) | (offset & 0xFCu);
}
// Mechanism #1 reaches the 256 bytes of conventional config space only.
inline constexpr uint16_t kPortConfigLimit = 0x100;

// ECAM: each function has 4 KiB at ((bus - start_bus) << 20 | dev << 15 | fn << 12).
constexpr uint64_t ecam_offset(uint16_t bdf, uint8_t start_bus, uint16_t offset) {
    return (uint64_t{bdf} - (uint64_t{start_bus} << 8)) << 12 | (offset & 0xFFCu);
}

// A BAR as its register(s) encode it (section 6.2.5.1): lo is the BAR dword,
// hi the next one (used only for a 64-bit memory BAR).
struct BarRegister {
    uint64_t base = 0;
    bool io = false;
    bool is64 = false;
    bool prefetchable = false;
};
constexpr BarRegister decode_bar(uint32_t lo, uint32_t hi) {
    BarRegister b;
    if (lo & kBarIo) {
        b.io = true;
        b.base = lo & kBarIoAddressMask;
        return b;
    }
    b.is64 = (lo & kBarMemTypeMask) == kBarMemType64;
    b.prefetchable = (lo & kBarPrefetchable) != 0;
    b.base = (lo & kBarMemAddressMask) | (b.is64 ? uint64_t{hi} << 32 : 0);
    return b;
}
// Size from the value read back after writing all ones to a 32-bit memory
// BAR (the lowest set address bit); 0 when the BAR is not implemented.
constexpr uint64_t memory_bar_size(uint32_t readback) {
    uint32_t mask = readback & kBarMemAddressMask;
    return mask == 0 ? 0 : uint64_t{mask & (~mask + 1)};
}

}  // namespace natsume::pci
