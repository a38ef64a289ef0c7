#include "selftest/edu.hpp"

#include "arch/x86/timing.hpp"
#include "selftest/pci_cfg.hpp"

namespace natsume::selftest {
namespace {
// BAR0 registers (edu.rst).
constexpr uint32_t REG_IDENT = 0x00, REG_IRQ_RAISE = 0x60, REG_IRQ_ACK = 0x64;
constexpr uint32_t REG_DMA_SRC = 0x80, REG_DMA_DST = 0x88, REG_DMA_COUNT = 0x90, REG_DMA_CMD = 0x98;
constexpr uint64_t DMA_START = 1, DMA_TO_RAM = 2;
// The engine runs from a 100 ms timer in the device model.
constexpr uint64_t DMA_TIMEOUT_US = 2000000;
// MSI capability (PCI Local Bus 3.0, 6.8.1).
constexpr uint16_t MSI_CONTROL = 2, MSI_ADDRESS = 4;
constexpr uint16_t MSI_ENABLE = 1u << 0, MSI_64BIT = 1u << 7, MSI_MULTIPLE_ENABLE = 7u << 4;
}  // namespace

bool Edu::probe() {
    if (!pci::find(VENDOR, DEVICE, bdf_)) return false;
    mmio_        = pci::bar_address(bdf_, 0);
    uint16_t cmd = pci::read16(bdf_, natsume::pci::COMMAND);
    pci::write16(
        bdf_, natsume::pci::COMMAND,
        cmd | natsume::pci::CMD_MEMORY_SPACE | natsume::pci::CMD_BUS_MASTER | natsume::pci::CMD_INTERRUPT_DISABLE);
    return mmio_ != 0;
}

uint32_t Edu::read32(uint32_t off) const { return *reinterpret_cast<volatile uint32_t*>(mmio_ + off); }
void Edu::write32(uint32_t off, uint32_t v) { *reinterpret_cast<volatile uint32_t*>(mmio_ + off) = v; }
void Edu::write64(uint32_t off, uint64_t v) { *reinterpret_cast<volatile uint64_t*>(mmio_ + off) = v; }
uint32_t Edu::ident() const { return read32(REG_IDENT); }

bool Edu::dma(uint64_t src, uint64_t dst, uint32_t len, uint64_t cmd) {
    write64(REG_DMA_SRC, src);
    write64(REG_DMA_DST, dst);
    write64(REG_DMA_COUNT, len);
    write64(REG_DMA_CMD, cmd | DMA_START);
    return x86::wait_until(DMA_TIMEOUT_US, [this] { return (read32(REG_DMA_CMD) & DMA_START) == 0; });
}

bool Edu::dma_to_device(uint64_t iova, uint32_t len) { return dma(iova, BUFFER, len, 0); }
bool Edu::dma_from_device(uint64_t iova, uint32_t len) { return dma(BUFFER, iova, len, DMA_TO_RAM); }

bool Edu::set_msi(uint64_t address, uint32_t data) {
    uint8_t cap = pci::find_capability(bdf_, natsume::pci::CAP_MSI);
    if (cap == 0) return false;
    uint16_t control = pci::read16(bdf_, static_cast<uint16_t>(cap + MSI_CONTROL));
    bool wide        = (control & MSI_64BIT) != 0;
    uint16_t data_at = static_cast<uint16_t>(cap + (wide ? 12 : 8));
    pci::write16(bdf_, static_cast<uint16_t>(cap + MSI_CONTROL), static_cast<uint16_t>(control & ~MSI_ENABLE));
    pci::write32(bdf_, static_cast<uint16_t>(cap + MSI_ADDRESS), static_cast<uint32_t>(address));
    if (wide) pci::write32(bdf_, static_cast<uint16_t>(cap + MSI_ADDRESS + 4), static_cast<uint32_t>(address >> 32));
    pci::write16(bdf_, data_at, static_cast<uint16_t>(data));
    pci::write16(bdf_, static_cast<uint16_t>(cap + MSI_CONTROL),
                 static_cast<uint16_t>((control & ~MSI_MULTIPLE_ENABLE) | MSI_ENABLE));
    return true;
}

void Edu::raise_interrupt(uint32_t bits) { write32(REG_IRQ_RAISE, bits); }
void Edu::ack_interrupt(uint32_t bits) { write32(REG_IRQ_ACK, bits); }

}  // namespace natsume::selftest
