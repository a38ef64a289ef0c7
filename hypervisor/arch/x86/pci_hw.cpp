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

EcamWindow window;

volatile uint32_t* ecam_register(uint16_t bdf, uint16_t offset) {
    if (pci::bdf_bus(bdf) < window.start_bus || pci::bdf_bus(bdf) > window.end_bus || offset >= pci::kExtConfigSize)
        return nullptr;
    uint64_t rel = (uint64_t(bdf) - (uint64_t(window.start_bus) << 8)) << 12;
    return reinterpret_cast<volatile uint32_t*>(window.base + rel + (offset & ~3u));
}

uint32_t ecam_read32(void*, uint16_t bdf, uint16_t offset) {
    volatile uint32_t* r = ecam_register(bdf, offset);
    return r ? *r : 0xffffffffu;
}

void ecam_write32(void*, uint16_t bdf, uint16_t offset, uint32_t value) {
    if (volatile uint32_t* r = ecam_register(bdf, offset)) *r = value;
}

const pci::ConfigAccess ecam_access{ecam_read32, ecam_write32, nullptr};
}  // namespace

const pci::ConfigAccess& access() { return window.present ? ecam_access : port_access; }

void use_ecam(uint64_t base, uint8_t start_bus, uint8_t end_bus) { window = {base, start_bus, end_bus, true}; }
const EcamWindow& ecam() { return window; }

}  // namespace natsume::x86::pci_hw
