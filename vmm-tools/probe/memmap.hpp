// The firmware memory map as Linux keeps it in /sys/firmware/memmap/N/{start,
// end,type} (the E820 map, or the one the EFI stub built from the UEFI map):
// what GRUB also hands the hypervisor as its multiboot2 memory map.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vmm-tools/probe/result.hpp"
#include "vmm-tools/probe/tree.hpp"

namespace natsume::probe {

struct MemoryRange {
    uint64_t base = 0, size = 0;
    std::string type;  // the firmware's word: "System RAM", "Reserved", "ACPI Tables", ...
    [[nodiscard]] bool usable() const { return type == "System RAM"; }
};

// start and end (inclusive, as sysfs gives it) in hex; fails on text that is
// not a number or an end below the start.
[[nodiscard]] Result<MemoryRange> parse_memmap_entry(std::string_view start, std::string_view end,
                                                     std::string_view type);
// Every entry, sorted by base.
[[nodiscard]] Result<std::vector<MemoryRange>> read_memmap(const Tree& tree);

}  // namespace natsume::probe
