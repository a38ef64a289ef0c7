// The UEFI memory map as the multiboot2 memory map the hypervisor reads
// (section 3.6.8 there): types translated, the loader's own allocations
// (hypervisor image, modules, boot information) cut out as reserved, sorted,
// neighbours of one type merged. Pure: host-tested.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "lib/multiboot2.hpp"

namespace natsume::efi {

// EFI_MEMORY_TYPE (UEFI Specification 2.10, section 7.2, table 7.10).
enum EfiMemoryType : uint32_t {
    EFI_RESERVED             = 0,
    EFI_LOADER_CODE          = 1,
    EFI_LOADER_DATA          = 2,
    EFI_BOOT_SERVICES_CODE   = 3,
    EFI_BOOT_SERVICES_DATA   = 4,
    EFI_RUNTIME_CODE         = 5,
    EFI_RUNTIME_DATA         = 6,
    EFI_CONVENTIONAL         = 7,
    EFI_UNUSABLE             = 8,
    EFI_ACPI_RECLAIM         = 9,
    EFI_ACPI_NVS             = 10,
    EFI_MAPPED_IO            = 11,
    EFI_MAPPED_IO_PORT_SPACE = 12,
    EFI_PAL_CODE             = 13,
    EFI_PERSISTENT           = 14,
};
inline constexpr uint64_t EFI_MEMORY_SP = 0x40000;  // specific-purpose memory (section 7.2): not general RAM
inline constexpr uint64_t EFI_PAGE      = 4096;
// EFI_MEMORY_DESCRIPTOR: Type at 0, PhysicalStart at 8, NumberOfPages at 24, Attribute at 32.
inline constexpr size_t EFI_DESCRIPTOR_MIN = 40;

// Free once boot services have exited: conventional memory, boot services'
// code and data, the loader's own code and data (what is still needed of
// those is passed in as `loader` and reserved). ACPI reclaimable and NVS keep
// their multiboot2 types; everything else is reserved.
[[nodiscard]] uint32_t multiboot_type(uint32_t efi_type, uint64_t attribute);

struct Span {
    uint64_t base, size;
};

enum class [[nodiscard]] MapError{Ok, BadDescriptorSize, RangeOverflow, TooManyRanges};
const char* to_string(MapError);

// Translates map[0, map_size) (descriptors descriptor_size apart) into out,
// using scratch (scratch_cap entries) as working space; `count` is the number
// written, at most out_cap (the hypervisor's limit).
[[nodiscard]] MapError translate(const uint8_t* map, size_t map_size, size_t descriptor_size, const Span* loader,
                                 size_t loader_count, mb2::MemoryRange* scratch, size_t scratch_cap,
                                 mb2::MemoryRange* out, size_t out_cap, size_t& count);

}  // namespace natsume::efi
