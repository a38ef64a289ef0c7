// PCI configuration spaces as Linux shows them (/sys/bus/pci/devices/*/config:
// 256 or 4096 bytes as root, only the first 64 otherwise), served through the
// hypervisor's own accessor interface so that its enumeration and capability
// walks (hypervisor/lib/pci) run on them unchanged. Writes are dropped: a
// snapshot never changes, so a probe that writes and reads back (command
// bit 10) sees the value the device had.
#pragma once
#include <cstdint>
#include <map>
#include <vector>

#include "hypervisor/lib/dmar.hpp"
#include "hypervisor/lib/pci.hpp"

namespace natsume::probe {

class ConfigSnapshot {
public:
    void add(uint16_t bdf, std::vector<uint8_t> config) { spaces_[bdf] = std::move(config); }
    [[nodiscard]] bool has(uint16_t bdf) const { return spaces_.count(bdf) != 0; }
    [[nodiscard]] size_t size_of(uint16_t bdf) const;
    // Absent function: all ones, as the hardware answers. Bytes past what
    // the file held read as 0, which ends a capability list.
    [[nodiscard]] uint32_t read32(uint16_t bdf, uint16_t offset) const;
    [[nodiscard]] pci::ConfigAccess access() const;
    // For dmar::resolve_path (device-scope paths through bridges).
    [[nodiscard]] static uint8_t read8(void* self, uint8_t bus, uint8_t device, uint8_t function, uint16_t offset);

private:
    std::map<uint16_t, std::vector<uint8_t>> spaces_;
};

}  // namespace natsume::probe
