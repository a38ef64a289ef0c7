#include "selftest/pci_cfg.hpp"

namespace natsume::selftest::pci {
namespace {
constexpr uint16_t CONFIG_ADDRESS = 0xcf8, CONFIG_DATA = 0xcfc;
constexpr uint16_t STATUS = 0x06, CAP_POINTER = 0x34;
constexpr uint16_t STATUS_CAP_LIST = 1u << 4;

void outl(uint16_t port, uint32_t v) { asm volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
uint32_t inl(uint16_t port) {
    uint32_t v;
    asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
void select(dmar::Bdf d, uint16_t offset) {
    outl(CONFIG_ADDRESS, 0x80000000u | uint32_t(d.bus) << 16 | uint32_t(d.device) << 11 |
                             uint32_t(d.function) << 8 | (offset & 0xfcu));
}
}  // namespace

uint32_t read32(dmar::Bdf d, uint16_t offset) {
    select(d, offset);
    return inl(CONFIG_DATA);
}
uint16_t read16(dmar::Bdf d, uint16_t offset) {
    return static_cast<uint16_t>(read32(d, offset) >> (8 * (offset & 2)));
}
uint8_t read8(dmar::Bdf d, uint16_t offset) {
    return static_cast<uint8_t>(read32(d, offset) >> (8 * (offset & 3)));
}
void write32(dmar::Bdf d, uint16_t offset, uint32_t v) {
    select(d, offset);
    outl(CONFIG_DATA, v);
}
void write16(dmar::Bdf d, uint16_t offset, uint16_t v) {
    unsigned shift = 8 * (offset & 2);
    uint32_t old = read32(d, offset);
    write32(d, offset, (old & ~(0xffffu << shift)) | uint32_t(v) << shift);
}

uint8_t config_read8(void*, uint8_t bus, uint8_t device, uint8_t function, uint16_t offset) {
    return read8(dmar::Bdf{bus, device, function}, offset);
}

bool find(uint16_t vendor, uint16_t device, dmar::Bdf& out) {
    for (uint8_t dev = 0; dev < 32; dev++) {
        for (uint8_t fn = 0; fn < 8; fn++) {
            dmar::Bdf b{0, dev, fn};
            uint32_t id = read32(b, 0);
            if ((id & 0xffff) == 0xffff) {
                if (fn == 0) break;   // no device: its other functions cannot exist
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

uint8_t find_capability(dmar::Bdf d, uint8_t id) {
    if (!(read16(d, STATUS) & STATUS_CAP_LIST)) return 0;
    uint8_t at = read8(d, CAP_POINTER) & 0xfc;
    for (int hops = 0; at != 0 && hops < 48; hops++) {
        if (read8(d, at) == id) return at;
        at = read8(d, static_cast<uint16_t>(at + 1)) & 0xfc;
    }
    return 0;
}

uint64_t bar_address(dmar::Bdf d, unsigned index) {
    uint16_t off = static_cast<uint16_t>(0x10 + 4 * index);
    uint32_t lo = read32(d, off);
    uint64_t addr = lo & ~uint32_t{0xf};
    if ((lo & 0x6) == 0x4) addr |= uint64_t(read32(d, static_cast<uint16_t>(off + 4))) << 32;
    return addr;
}

}  // namespace natsume::selftest::pci
