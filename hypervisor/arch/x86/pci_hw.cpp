#include "arch/x86/pci_hw.hpp"

#include "drivers/pci/cf8.hpp"
#include "drivers/x86/cpu.hpp"

#include "base/spinlock.hpp"

namespace natsume::x86::pci_hw {
namespace {
Spinlock lock;

uint32_t read32(void*, uint16_t bdf, uint16_t offset) {
    LockGuard g(lock);
    return pci::cf8::read32(bdf, offset);
}

void write32(void*, uint16_t bdf, uint16_t offset, uint32_t value) {
    LockGuard g(lock);
    pci::cf8::write32(bdf, offset, value);
}

const pci::ConfigAccess port_access{read32, write32, nullptr};

EcamWindow window;

volatile uint32_t* ecam_register(uint16_t bdf, uint16_t offset) {
    if (pci::bdf_bus(bdf) < window.start_bus || pci::bdf_bus(bdf) > window.end_bus || offset >= pci::EXT_CONFIG_SIZE)
        return nullptr;
    return reinterpret_cast<volatile uint32_t*>(window.base + pci::ecam_offset(bdf, window.start_bus, offset));
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
