#include "vmm-tools/probe/config_snapshot.hpp"

namespace natsume::probe {

size_t ConfigSnapshot::size_of(uint16_t bdf) const {
    auto it = spaces_.find(bdf);
    return it == spaces_.end() ? 0 : it->second.size();
}

uint32_t ConfigSnapshot::read32(uint16_t bdf, uint16_t offset) const {
    auto it = spaces_.find(bdf);
    if (it == spaces_.end()) return 0xffffffffu;
    uint32_t v = 0;
    for (uint16_t i = 0; i < 4; ++i) {
        size_t at  = (offset & ~3u) + i;
        uint32_t b = at < it->second.size() ? it->second[at] : 0;
        v |= b << (8 * i);
    }
    return v;
}

pci::ConfigAccess ConfigSnapshot::access() const {
    auto rd = [](void* ctx, uint16_t bdf, uint16_t offset) {
        return static_cast<const ConfigSnapshot*>(ctx)->read32(bdf, offset);
    };
    auto wr = [](void*, uint16_t, uint16_t, uint32_t) {};
    return {rd, wr, const_cast<ConfigSnapshot*>(this)};
}

uint8_t ConfigSnapshot::read8(void* self, uint8_t bus, uint8_t device, uint8_t function, uint16_t offset) {
    uint32_t dword = static_cast<const ConfigSnapshot*>(self)->read32(pci::make_bdf(bus, device, function), offset);
    return static_cast<uint8_t>(dword >> (8 * (offset & 3u)));
}

}  // namespace natsume::probe
