// Multiboot2 boot information parser (Multiboot2 Specification version 2.0,
// section 3.6 "Boot information format").
//
// The block comes from the boot loader, so every size in it is checked against
// the caller's bound before anything is read. Nothing is copied: strings and
// RSDP copies point into the block, which must stay mapped while Info is used.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume::mb2 {

// Memory map entry types (section 3.6.8).
inline constexpr uint32_t MEMORY_AVAILABLE        = 1;
inline constexpr uint32_t MEMORY_RESERVED         = 2;
inline constexpr uint32_t MEMORY_ACPI_RECLAIMABLE = 3;
inline constexpr uint32_t MEMORY_NVS              = 4;
inline constexpr uint32_t MEMORY_BAD              = 5;

// Tag types, section 3.6 (what a loader writes and this parser reads).
enum TagType : uint32_t {
    TAG_END             = 0,
    TAG_CMDLINE         = 1,
    TAG_BOOTLOADER_NAME = 2,
    TAG_MODULE          = 3,
    TAG_BASIC_MEMINFO   = 4,
    TAG_MMAP            = 6,
    TAG_EFI64           = 12,
    TAG_ACPI_OLD        = 14,
    TAG_ACPI_NEW        = 15,
    TAG_LOAD_BASE_ADDR  = 21,
};

inline constexpr size_t FIXED_HEADER   = 8;   // u32 total_size, u32 reserved
inline constexpr size_t TAG_HEADER     = 8;   // u32 type, u32 size
inline constexpr size_t TAG_ALIGN      = 8;   // section 3.6.1: tags start 8-byte aligned
inline constexpr size_t MMAP_HEADER    = 16;  // tag header + entry_size + entry_version
inline constexpr size_t MMAP_ENTRY_MIN = 24;  // u64 base, u64 length, u32 type, u32 reserved

inline constexpr size_t MAX_MEMORY_RANGES = 128;
inline constexpr size_t MAX_MODULES       = 32;

struct MemoryRange {
    uint64_t base, length;
    uint32_t type;  // MEMORY*; 1 = available
};

struct Module {
    uint64_t start, end;  // physical, end exclusive
    const char* cmdline;  // points into the info block, never null
};

struct Info {
    const char* cmdline;  // may be "" (never null after parse)
    MemoryRange memory[MAX_MEMORY_RANGES];
    size_t memory_count;
    Module modules[MAX_MODULES];
    size_t module_count;
    const uint8_t* rsdp_v1;  // copies of the RSDP from tags 14 / 15, or null
    size_t rsdp_v1_len;
    const uint8_t* rsdp_v2;
    size_t rsdp_v2_len;
    uint64_t info_size;  // total_size of the block

    const char* bootloader_name;  // "" when the tag is absent
    bool has_basic_meminfo;       // tag 4
    uint32_t mem_lower_kib, mem_upper_kib;
    uint64_t efi64_system_table;  // tag 12, 0 when absent
    uint64_t load_base_addr;      // tag 21, 0 when absent
};

enum class [[nodiscard]] Error{
    Ok,
    NullInfo,
    Misaligned,
    BufferTooSmall,
    TotalSizeTooSmall,
    TotalSizeExceedsBuffer,
    TagHeaderTruncated,
    TagTooSmall,
    TagExceedsTotalSize,
    MissingEndTag,
    BadEndTag,
    StringNotTerminated,
    DuplicateTag,
    ModuleBadRange,
    TooManyModules,
    MemoryMapBadEntrySize,
    MemoryMapBadLength,
    MemoryRangeOverflow,
    TooManyMemoryRanges,
};

// Validates total_size, the 8-byte alignment of the block and its tags, every
// tag size, NUL-terminated strings and the end tag. On error, out is partial.
[[nodiscard]] Error parse(const void* info, size_t max_size, Info& out);
const char* to_string(Error);

// Module whose command line's first word equals name exactly, or null.
const Module* find_module(const Info&, const char* name);
// The rest of a module's command line after its first word and the blanks
// that follow it; "" when there is none.
const char* module_args(const Module&);

}  // namespace natsume::mb2
