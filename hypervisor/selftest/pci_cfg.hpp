// Minimal PCI configuration access for the self-test image: configuration
// mechanism #1 (ports 0xCF8/0xCFC, PCI Local Bus 3.0, 3.2.2.3.2), segment 0.
#pragma once
#include <stdint.h>

#include "lib/dmar.hpp"

namespace natsume::selftest::pci {

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

inline constexpr uint16_t COMMAND = 0x04;
inline constexpr uint16_t CMD_MEMORY = 1u << 1, CMD_BUS_MASTER = 1u << 2, CMD_INTX_DISABLE = 1u << 10;
inline constexpr uint8_t CAP_MSI = 0x05;

}  // namespace natsume::selftest::pci
