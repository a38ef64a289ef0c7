// PCI configuration mechanism #1 (PCI Local Bus 3.0, 3.2.2.3.2): the address
// dword to port 0xCF8, then the data at 0xCFC. The two steps are one shared
// protocol per machine: callers serialize them (a lock in the hypervisor,
// interrupts off in the guest kernel). Reaches conventional config space
// (256 bytes) only: other offsets read all ones and drop writes.
#pragma once
#include <stdint.h>

#include "drivers/pci/config.hpp"

namespace natsume::pci::cf8 {

inline uint32_t read32(uint16_t bdf, uint16_t offset) {
    if (offset >= PORT_CONFIG_LIMIT) return 0xFFFFFFFFu;
    asm volatile("outl %0, %1" ::"a"(config_address(bdf, offset)), "Nd"(CONFIG_ADDRESS_PORT));
    uint32_t v;
    asm volatile("inl %1, %0" : "=a"(v) : "Nd"(CONFIG_DATA_PORT));
    return v;
}

inline void write32(uint16_t bdf, uint16_t offset, uint32_t value) {
    if (offset >= PORT_CONFIG_LIMIT) return;
    asm volatile("outl %0, %1" ::"a"(config_address(bdf, offset)), "Nd"(CONFIG_ADDRESS_PORT));
    asm volatile("outl %0, %1" ::"a"(value), "Nd"(CONFIG_DATA_PORT));
}

}  // namespace natsume::pci::cf8
