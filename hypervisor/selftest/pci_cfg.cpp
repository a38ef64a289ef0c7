#include "selftest/pci_cfg.hpp"

#include "drivers/pci/cf8.hpp"

#include "lib/pci.hpp"

namespace natsume::selftest::pci {
namespace {
namespace hw = natsume::pci;
// The self-test runs on one core at a time: no lock around the port pair.
uint32_t port_read32(void*, uint16_t bdf, uint16_t offset) { return hw::cf8::read32(bdf, offset); }
void port_write32(void*, uint16_t bdf, uint16_t offset, uint32_t v) { hw::cf8::write32(bdf, offset, v); }
}  // namespace

const hw::ConfigAccess& access() {
    static const hw::ConfigAccess a{port_read32, port_write32, nullptr};
    return a;
}

uint32_t read32(dmar::Bdf d, uint16_t offset) { return hw::read32(access(), d.raw(), offset); }
uint16_t read16(dmar::Bdf d, uint16_t offset) { return hw::read16(access(), d.raw(), offset); }
uint8_t read8(dmar::Bdf d, uint16_t offset) { return hw::read8(access(), d.raw(), offset); }
void write32(dmar::Bdf d, uint16_t offset, uint32_t v) { hw::write32(access(), d.raw(), offset, v); }
void write16(dmar::Bdf d, uint16_t offset, uint16_t v) { hw::write16(access(), d.raw(), offset, v); }

uint8_t config_read8(void*, uint8_t bus, uint8_t device, uint8_t function, uint16_t offset) {
    return read8(dmar::Bdf{bus, device, function}, offset);
}

bool find(uint16_t vendor, uint16_t device, dmar::Bdf& out) {
    for (uint8_t dev = 0; dev < 32; dev++) {
        for (uint8_t fn = 0; fn < 8; fn++) {
            dmar::Bdf b{0, dev, fn};
            uint32_t id = read32(b, hw::VENDOR_ID);
            if ((id & 0xffff) == 0xffff) {
                if (fn == 0) break;  // no device: its other functions cannot exist
                continue;
            }
            if ((id & 0xffff) == vendor && (id >> 16) == device) {
                out = b;
                return true;
            }
        }
    }
    return false;
}

uint8_t find_capability(dmar::Bdf d, uint8_t id) { return hw::find_capability(access(), d.raw(), id); }

uint64_t bar_address(dmar::Bdf d, unsigned index) {
    auto off    = static_cast<uint16_t>(hw::BAR0 + 4 * index);
    uint32_t lo = read32(d, off);
    uint32_t hi = (lo & hw::BAR_MEM_TYPE_MASK) == hw::BAR_MEM_TYPE64 ? read32(d, static_cast<uint16_t>(off + 4)) : 0;
    hw::BarRegister b = hw::decode_bar(lo, hi);
    return b.io ? 0 : b.base;
}

}  // namespace natsume::selftest::pci
