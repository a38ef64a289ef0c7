// PCI function addresses as the partition file stores them:
// bus << 8 | device << 3 | function (NATSUME_BDF in natsume/config_blob.h),
// the same layout as a PCI requester ID (PCI Express Base Specification,
// 2.2.6.2) and a VT-d source-id.
#pragma once
#include <stdint.h>

#include "common/text.hpp"

namespace natsume {

constexpr uint32_t kPciBuses = 256;
constexpr uint32_t kPciDevices = 32;   // per bus
constexpr uint32_t kPciFunctions = 8;  // per device

[[nodiscard]] constexpr uint32_t bdf_bus(uint16_t bdf) { return bdf >> 8; }
[[nodiscard]] constexpr uint32_t bdf_device(uint16_t bdf) { return (bdf >> 3) & 0x1f; }
[[nodiscard]] constexpr uint32_t bdf_function(uint16_t bdf) { return bdf & 0x7; }

// "00:02.0": bus and device as two hex digits, function as one.
inline Text& put_bdf(Text& t, uint16_t bdf) {
    return t.hex_fixed(bdf_bus(bdf), 2).ch(':').hex_fixed(bdf_device(bdf), 2).ch('.').hex_fixed(bdf_function(bdf), 1);
}

// "8086:100e"
inline Text& put_pci_id(Text& t, uint16_t vendor, uint16_t device) {
    return t.hex_fixed(vendor, 4).ch(':').hex_fixed(device, 4);
}

}  // namespace natsume
