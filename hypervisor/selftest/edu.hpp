// QEMU's "edu" teaching device (QEMU docs/specs/edu.rst): a DMA engine
// between RAM and a 4 KiB buffer inside the device, and an interrupt raised
// on request, delivered by MSI once MSI is enabled. It is the self-test's
// stand-in for a partition's DMA-capable, MSI-capable device.
#pragma once
#include <stdint.h>

#include "lib/dmar.hpp"

namespace natsume::selftest {

class Edu {
public:
    static constexpr uint16_t VENDOR = 0x1234, DEVICE = 0x11e8;
    // The device-side buffer's address as the DMA engine sees it.
    static constexpr uint64_t BUFFER      = 0x40000;
    static constexpr uint64_t BUFFER_SIZE = 4096;

    bool probe();
    dmar::Bdf bdf() const { return bdf_; }
    uint32_t ident() const;

    // RAM (an IOVA) -> device buffer, and device buffer -> RAM. False when the
    // engine did not finish before the deadline.
    [[nodiscard]] bool dma_to_device(uint64_t iova, uint32_t len);
    [[nodiscard]] bool dma_from_device(uint64_t iova, uint32_t len);

    // Programs and enables the MSI capability with this message.
    [[nodiscard]] bool set_msi(uint64_t address, uint32_t data);
    void raise_interrupt(uint32_t bits);
    void ack_interrupt(uint32_t bits);

private:
    [[nodiscard]] bool dma(uint64_t src, uint64_t dst, uint32_t len, uint64_t cmd);
    uint32_t read32(uint32_t off) const;
    void write32(uint32_t off, uint32_t v);
    void write64(uint32_t off, uint64_t v);

    dmar::Bdf bdf_{};
    uint64_t mmio_ = 0;
};

}  // namespace natsume::selftest
