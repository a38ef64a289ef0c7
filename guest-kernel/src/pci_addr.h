// Pure PCI arithmetic: configuration-mechanism-#1 addresses and BAR decoding
// (PCI Local Bus Specification 3.0, 3.2.2.3.2 and 6.2.5.1). Host-tested.
#pragma once
#include <stdint.h>

namespace pci {

// bus << 8 | device << 3 | function, as NATSUME_BDF in config_blob.h.
constexpr uint16_t make_bdf(unsigned bus, unsigned dev, unsigned fn)
{
    return static_cast<uint16_t>(((bus & 0xff) << 8) | ((dev & 0x1f) << 3) | (fn & 7));
}
constexpr unsigned bdf_bus(uint16_t bdf) { return bdf >> 8; }
constexpr unsigned bdf_dev(uint16_t bdf) { return (bdf >> 3) & 0x1f; }
constexpr unsigned bdf_fn(uint16_t bdf) { return bdf & 7; }

// The dword written to 0xCF8: enable bit 31, BDF in 23:8, register in 7:2.
inline constexpr uint32_t kConfigEnable = 0x80000000u;
constexpr uint32_t config_address(uint16_t bdf, uint8_t offset)
{
    return kConfigEnable | (uint32_t{bdf} << 8) | (offset & 0xfcu);
}

// Type-0/1 header offsets (PCI 3.0, 6.1).
inline constexpr uint8_t kVendorId = 0x00;
inline constexpr uint8_t kCommand = 0x04;
inline constexpr uint8_t kStatus = 0x06;
inline constexpr uint8_t kClassRev = 0x08;
inline constexpr uint8_t kHeaderType = 0x0e;
inline constexpr uint8_t kBar0 = 0x10;
inline constexpr uint8_t kSecondaryBus = 0x19;  // type 1 (bridge) header
inline constexpr uint8_t kInterruptLine = 0x3c;
inline constexpr uint8_t kInterruptPin = 0x3d;

inline constexpr uint16_t kCmdIo = 1u << 0;
inline constexpr uint16_t kCmdMemory = 1u << 1;
inline constexpr uint16_t kCmdBusMaster = 1u << 2;
inline constexpr uint16_t kCmdIntxDisable = 1u << 10;

inline constexpr uint8_t kHeaderMultiFunction = 0x80;
inline constexpr uint8_t kHeaderLayoutMask = 0x7f;
inline constexpr uint8_t kHeaderBridge = 0x01;

struct Bar {
    uint64_t base = 0;
    bool io = false;
    bool is64 = false;
    bool prefetchable = false;
};

// lo is the BAR dword, hi the next one (used only for a 64-bit memory BAR).
constexpr Bar decode_bar(uint32_t lo, uint32_t hi)
{
    Bar b;
    if (lo & 1) {
        b.io = true;
        b.base = lo & ~uint32_t{3};
        return b;
    }
    b.is64 = ((lo >> 1) & 3) == 2;
    b.prefetchable = (lo >> 3) & 1;
    b.base = (lo & ~uint32_t{0xf}) | (b.is64 ? uint64_t{hi} << 32 : 0);
    return b;
}

// Size from the value read back after writing all ones to a 32-bit memory
// BAR (the lowest set address bit); 0 when the BAR is not implemented.
constexpr uint64_t memory_bar_size(uint32_t readback)
{
    uint32_t mask = readback & ~uint32_t{0xf};
    return mask == 0 ? 0 : uint64_t{mask & (~mask + 1)};
}

}  // namespace pci
