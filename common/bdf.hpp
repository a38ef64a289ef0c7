// PCI function addresses as the partition file stores them:
// bus << 8 | device << 3 | function (NATSUME_BDF in natsume/config_blob.h),
// the same layout as a PCI requester ID (PCI Express Base Specification,
// 2.2.6.2) and a VT-d source-id.
#pragma once
#include <stdint.h>

#include "drivers/pci/config.hpp"

#include "common/text.hpp"

namespace natsume {

// The layout itself and its parts: drivers/pci/config.hpp.
constexpr uint32_t PCI_BUSES     = pci::BUSES;
constexpr uint32_t PCI_DEVICES   = pci::DEVICES_PER_BUS;
constexpr uint32_t PCI_FUNCTIONS = pci::FUNCTIONS_PER_DEVICE;

// "00:02.0": bus and device as two hex digits, function as one.
inline Text& put_bdf(Text& t, uint16_t bdf) {
    return t.hex_fixed(pci::bdf_bus(bdf), 2)
        .ch(':')
        .hex_fixed(pci::bdf_dev(bdf), 2)
        .ch('.')
        .hex_fixed(pci::bdf_fn(bdf), 1);
}

// "8086:100e"
inline Text& put_pci_id(Text& t, uint16_t vendor, uint16_t device) {
    return t.hex_fixed(vendor, 4).ch(':').hex_fixed(device, 4);
}

}  // namespace natsume
