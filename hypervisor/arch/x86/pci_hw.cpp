#include "arch/x86/pci_hw.hpp"

#include "arch/x86/cpu.hpp"
#include "core/spinlock.hpp"

namespace natsume::x86::pci_hw {
namespace {
Spinlock lock;

uint32_t address(uint16_t bdf, uint16_t offset) {
    return 0x80000000u | (uint32_t(bdf) << 8) | (offset & 0xfc);
}

uint32_t read32(void*, uint16_t bdf, uint16_t offset) {
    if (offset >= pci::kConfigSize) return 0xffffffffu;   // mechanism #1 reaches 256 bytes only
    LockGuard g(lock);
    asm volatile("outl %0, %1" ::"a"(address(bdf, offset)), "Nd"(uint16_t(pci::kConfigAddressPort)));
    uint32_t v;
    asm volatile("inl %1, %0" : "=a"(v) : "Nd"(uint16_t(pci::kConfigDataPort)));
    return v;
}

void write32(void*, uint16_t bdf, uint16_t offset, uint32_t value) {
    if (offset >= pci::kConfigSize) return;
    LockGuard g(lock);
    asm volatile("outl %0, %1" ::"a"(address(bdf, offset)), "Nd"(uint16_t(pci::kConfigAddressPort)));
    asm volatile("outl %0, %1" ::"a"(value), "Nd"(uint16_t(pci::kConfigDataPort)));
}

const pci::ConfigAccess port_access{read32, write32, nullptr};
}  // namespace

const pci::ConfigAccess& access() { return port_access; }

}  // namespace natsume::x86::pci_hw
