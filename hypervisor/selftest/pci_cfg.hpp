// PCI configuration access for the self-test image, by bus/device/function:
// configuration mechanism #1 (drivers/pci/cf8.hpp) under the hypervisor's
// own lib/pci accessors, segment 0.
#pragma once
#include <stdint.h>

#include "lib/dmar.hpp"
#include "lib/pci.hpp"

namespace natsume::selftest::pci {

// The port accessor as a lib/pci ConfigAccess.
const natsume::pci::ConfigAccess& access();

uint32_t read32(dmar::Bdf d, uint16_t offset);
uint16_t read16(dmar::Bdf d, uint16_t offset);
uint8_t read8(dmar::Bdf d, uint16_t offset);
void write32(dmar::Bdf d, uint16_t offset, uint32_t v);
void write16(dmar::Bdf d, uint16_t offset, uint16_t v);

// dmar::ConfigRead8 adapter.
uint8_t config_read8(void*, uint8_t bus, uint8_t device, uint8_t function, uint16_t offset);

// First function on bus 0 with this vendor/device id.
bool find(uint16_t vendor, uint16_t device, dmar::Bdf& out);
// Offset of capability `id` in the capability list, 0 if absent.
uint8_t find_capability(dmar::Bdf d, uint8_t id);
// Memory BAR address (32- or 64-bit BAR at config offset 0x10 + 4*index).
uint64_t bar_address(dmar::Bdf d, unsigned index);

}  // namespace natsume::selftest::pci
