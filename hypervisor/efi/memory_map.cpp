#include "memory_map.hpp"

#include "lib/bytes.hpp"

namespace natsume::efi {
namespace {

uint64_t end_of(const mb2::MemoryRange& r) { return r.base + r.length; }

struct Ranges {
    mb2::MemoryRange* r;
    size_t count, cap;
    bool push(const mb2::MemoryRange& v) {
        if (v.length == 0) return true;
        if (count == cap) return false;
        r[count++] = v;
        return true;
    }
};

// The part of every usable range that `s` covers becomes reserved; the parts
// either side stay usable.
bool carve(Ranges& rs, const Span& s) {
    const uint64_t s_end = s.base + s.size;
    if (s.size == 0) return true;
    for (size_t i = 0; i < rs.count; ++i) {
        mb2::MemoryRange e = rs.r[i];
        if (e.type != mb2::MEMORY_AVAILABLE || s_end <= e.base || end_of(e) <= s.base) continue;
        const uint64_t lo = e.base > s.base ? e.base : s.base;
        const uint64_t hi = end_of(e) < s_end ? end_of(e) : s_end;
        rs.r[i]           = {lo, hi - lo, mb2::MEMORY_RESERVED};
        if (!rs.push({e.base, lo - e.base, e.type}) || !rs.push({hi, end_of(e) - hi, e.type})) return false;
    }
    return true;
}

void sort_by_base(Ranges& rs) {
    for (size_t i = 1; i < rs.count; ++i)
        for (size_t j = i; j > 0 && rs.r[j - 1].base > rs.r[j].base; --j) {
            mb2::MemoryRange t = rs.r[j];
            rs.r[j]            = rs.r[j - 1];
            rs.r[j - 1]        = t;
        }
}

}  // namespace

uint32_t multiboot_type(uint32_t efi_type, uint64_t attribute) {
    if (attribute & EFI_MEMORY_SP) return mb2::MEMORY_RESERVED;
    switch (efi_type) {
    case EFI_LOADER_CODE:
    case EFI_LOADER_DATA:
    case EFI_BOOT_SERVICES_CODE:
    case EFI_BOOT_SERVICES_DATA:
    case EFI_CONVENTIONAL: return mb2::MEMORY_AVAILABLE;
    case EFI_ACPI_RECLAIM: return mb2::MEMORY_ACPI_RECLAIMABLE;
    case EFI_ACPI_NVS: return mb2::MEMORY_NVS;
    case EFI_UNUSABLE: return mb2::MEMORY_BAD;
    default: return mb2::MEMORY_RESERVED;
    }
}

MapError translate(const uint8_t* map, size_t map_size, size_t descriptor_size, const Span* loader, size_t loader_count,
                   mb2::MemoryRange* scratch, size_t scratch_cap, mb2::MemoryRange* out, size_t out_cap,
                   size_t& count) {
    count = 0;
    if (descriptor_size < EFI_DESCRIPTOR_MIN || descriptor_size % 8 != 0) return MapError::BadDescriptorSize;
    Ranges rs{scratch, 0, scratch_cap};
    for (size_t off = 0; off + descriptor_size <= map_size; off += descriptor_size) {
        const uint8_t* d     = map + off;
        const uint64_t base  = bytes::load<uint64_t>(d + 8);
        const uint64_t pages = bytes::load<uint64_t>(d + 24);
        if (pages > (UINT64_MAX - base) / EFI_PAGE) return MapError::RangeOverflow;
        if (!rs.push({base, pages * EFI_PAGE, multiboot_type(bytes::load<uint32_t>(d), bytes::load<uint64_t>(d + 32))}))
            return MapError::TooManyRanges;
    }
    for (size_t i = 0; i < loader_count; ++i)
        if (!carve(rs, loader[i])) return MapError::TooManyRanges;
    sort_by_base(rs);
    for (size_t i = 0; i < rs.count; ++i) {
        if (count > 0 && out[count - 1].type == rs.r[i].type && end_of(out[count - 1]) == rs.r[i].base) {
            out[count - 1].length += rs.r[i].length;
            continue;
        }
        if (count == out_cap) return MapError::TooManyRanges;
        out[count++] = rs.r[i];
    }
    return MapError::Ok;
}

const char* to_string(MapError e) {
    switch (e) {
    case MapError::Ok: return "the memory map was translated";
    case MapError::BadDescriptorSize: return "the firmware's memory descriptors are smaller than 40 bytes";
    case MapError::RangeOverflow: return "a firmware memory range runs past the end of the address space";
    case MapError::TooManyRanges:
        return "the firmware's memory map has more ranges than the hypervisor takes (128, after merging)";
    }
    return "unknown memory map error";
}

}  // namespace natsume::efi
