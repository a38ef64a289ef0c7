#include "fake_config_space.hpp"

#include <catch2/catch.hpp>

namespace natsume::test {

void FakeConfigSpace::add(uint16_t bdf, uint16_t vendor, uint16_t device, uint8_t cls, uint8_t sub, uint8_t header) {
    FakeFunction& f = fns_[bdf];
    f.regs[0]       = vendor | static_cast<uint32_t>(device) << 16;
    f.regs[2]       = static_cast<uint32_t>(cls) << 24 | static_cast<uint32_t>(sub) << 16 | 0x01;  // revision 1
    f.regs[3]       = static_cast<uint32_t>(header) << 16;
    // Cache line size and latency timer are plain read/write registers.
    f.writable[3] = 0x0000FFFF;
    // Command: decode enables, bus master, parity, SERR writable; status errors RW1C.
    f.writable[1]        = 0x0147;
    f.rw1c[1]            = 0xF9000000;
    f.writable[0x3C / 4] = 0xFF;
}

void FakeConfigSpace::set32(uint16_t bdf, uint16_t offset, uint32_t value) {
    REQUIRE(has(bdf));
    fns_[bdf].regs[offset / 4] = value;
}

void FakeConfigSpace::set16(uint16_t bdf, uint16_t offset, uint16_t value) {
    const uint32_t s = (offset & 3u) * 8u;
    set32(bdf, offset & ~3, (get32(bdf, offset) & ~(0xFFFFu << s)) | static_cast<uint32_t>(value) << s);
}

void FakeConfigSpace::set8(uint16_t bdf, uint16_t offset, uint8_t value) {
    const uint32_t s = (offset & 3u) * 8u;
    set32(bdf, offset & ~3, (get32(bdf, offset) & ~(0xFFu << s)) | static_cast<uint32_t>(value) << s);
}

uint32_t FakeConfigSpace::get32(uint16_t bdf, uint16_t offset) const {
    auto it = fns_.find(bdf);
    return it == fns_.end() ? 0xFFFFFFFFu : it->second.regs[(offset & 0xFFF) / 4];
}

uint16_t FakeConfigSpace::get16(uint16_t bdf, uint16_t offset) const {
    return static_cast<uint16_t>(get32(bdf, offset & ~3) >> ((offset & 3u) * 8u));
}

uint8_t FakeConfigSpace::get8(uint16_t bdf, uint16_t offset) const {
    return static_cast<uint8_t>(get32(bdf, offset & ~3) >> ((offset & 3u) * 8u));
}

void FakeConfigSpace::writable(uint16_t bdf, uint16_t offset, uint32_t mask) {
    fns_.at(bdf).writable[offset / 4] |= mask;
}

void FakeConfigSpace::rw1c(uint16_t bdf, uint16_t offset, uint32_t mask) { fns_.at(bdf).rw1c[offset / 4] |= mask; }

void FakeConfigSpace::mem_bar(uint16_t bdf, int slot, uint64_t base, uint64_t size, bool is64, bool prefetchable) {
    FakeFunction& f       = fns_.at(bdf);
    const uint64_t decode = ~(size - 1);
    const int lo          = 4 + slot;
    f.regs[lo]            = static_cast<uint32_t>(base) | (is64 ? 0x4u : 0u) | (prefetchable ? 0x8u : 0u);
    f.writable[lo]        = static_cast<uint32_t>(decode) & ~0xFu;
    if (!is64) return;
    f.regs[lo + 1]     = static_cast<uint32_t>(base >> 32);
    f.writable[lo + 1] = static_cast<uint32_t>(decode >> 32);
}

void FakeConfigSpace::io_bar(uint16_t bdf, int slot, uint32_t base, uint32_t size) {
    FakeFunction& f      = fns_.at(bdf);
    f.regs[4 + slot]     = base | 0x1u;
    f.writable[4 + slot] = ~(size - 1) & ~0x3u;
}

void FakeConfigSpace::cap(uint16_t bdf, uint8_t offset, uint8_t id, uint16_t reg) {
    set32(bdf, offset, id | static_cast<uint32_t>(reg) << 16);
    auto it = last_cap_.find(bdf);
    if (it == last_cap_.end())
        set8(bdf, 0x34, offset);
    else
        set8(bdf, static_cast<uint16_t>(it->second + 1), offset);
    last_cap_[bdf] = offset;
    set16(bdf, 0x06, static_cast<uint16_t>(get16(bdf, 0x06) | 0x10));
}

void FakeConfigSpace::irq(uint16_t bdf, uint8_t line, uint8_t pin) {
    set8(bdf, 0x3C, line);
    set8(bdf, 0x3D, pin);
}

void FakeConfigSpace::bridge(uint16_t bdf, uint8_t primary, uint8_t secondary, uint8_t subordinate) {
    set32(bdf, 0x18, primary | static_cast<uint32_t>(secondary) << 8 | static_cast<uint32_t>(subordinate) << 16);
    writable(bdf, 0x18, 0x00FFFFFF);
    rw1c(bdf, 0x1C, 0xF9000000);
    writable(bdf, 0x3C, 0xFFFF0000);  // bridge control
}

std::vector<ConfigWrite> FakeConfigSpace::writes_to(uint16_t bdf) const {
    std::vector<ConfigWrite> out;
    for (const ConfigWrite& w : writes)
        if (w.bdf == bdf) out.push_back(w);
    return out;
}

uint32_t FakeConfigSpace::read32(void* ctx, uint16_t bdf, uint16_t offset) {
    REQUIRE((offset & 3) == 0);
    REQUIRE(offset < 0x1000);
    return static_cast<FakeConfigSpace*>(ctx)->get32(bdf, offset);
}

void FakeConfigSpace::write32(void* ctx, uint16_t bdf, uint16_t offset, uint32_t value) {
    REQUIRE((offset & 3) == 0);
    REQUIRE(offset < 0x1000);
    auto* self = static_cast<FakeConfigSpace*>(ctx);
    self->writes.push_back(ConfigWrite{bdf, offset, value});
    auto it = self->fns_.find(bdf);
    if (it == self->fns_.end()) return;
    FakeFunction& f        = it->second;
    const size_t i         = offset / 4;
    const uint32_t kept    = f.regs[i] & ~f.writable[i];
    const uint32_t cleared = value & f.rw1c[i];
    f.regs[i]              = ((kept | (value & f.writable[i])) & ~cleared);
}

}  // namespace natsume::test
