// The guest-physical regions of a partition that the hypervisor emulates:
// kept out of its EPT, and each handled by one emulation (exit_mmio.cpp).
// The registry is filled once, where the EPT is built, and both the EPT's
// holes and the EPT-violation dispatch are read from it, so the set of
// unmapped pages and the set of handlers cannot drift apart. Pure, host-tested.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume {

enum class MmioKind : uint8_t {
    Lapic,           // the trapped xAPIC page (lapic = "trapped")
    Ioapic,          // the virtual IOAPIC's page
    DeviceRegister,  // a device register page the shared-line check reads (device = its index)
    MsixTable,       // the pages holding a device's MSI-X table (device = its index)
    Ecam,            // the PCI ECAM window: the partition's filtered config space
};
const char* to_string(MmioKind);

struct MmioRegion {
    uint64_t base, size;  // page-aligned
    MmioKind kind;
    uint8_t device;  // DeviceRegister, MsixTable: index in Partition::devices
};

class MmioRegistry {
public:
    static constexpr size_t MAX = 40;  // lapic, ioapic, ecam, 2 per device (16 devices), spare

    enum class [[nodiscard]] Error : uint8_t{Ok, Full, Unaligned, Empty, Overlap};
    // Adds a region; a region may not overlap another (one handler per page).
    Error add(uint64_t base, uint64_t size, MmioKind kind, uint8_t device = 0);
    // The region gpa falls in, or nullptr. Inline: it is on every emulated
    // access's exit path.
    const MmioRegion* find(uint64_t gpa) const {
        for (size_t i = 0; i < count_; i++)
            if (gpa - r_[i].base < r_[i].size) return &r_[i];
        return nullptr;
    }
    size_t count() const { return count_; }
    const MmioRegion& at(size_t i) const { return r_[i]; }
    void clear() { count_ = 0; }

private:
    MmioRegion r_[MAX]{};
    size_t count_ = 0;
};
const char* to_string(MmioRegistry::Error);

}  // namespace natsume
