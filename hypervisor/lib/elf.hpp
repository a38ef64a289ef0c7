// ELF64 executable parser and loader for partition images (System V ABI,
// "ELF-64 Object File Format" 1.5, and the x86-64 psABI for EM_X86_64).
//
// Images come from the boot modules, so every offset and size is checked
// against the file and against 64-bit overflow before a byte is read.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume::elf {

inline constexpr size_t MAX_SEGMENTS = 16;

// Program header p_flags.
inline constexpr uint32_t FLAG_EXECUTE = 1, FLAG_WRITE = 2, FLAG_READ = 4;

struct Segment {
    uint64_t paddr, vaddr, offset, file_size, mem_size;
    uint32_t flags;  // FLAG*
};

struct Image {
    uint64_t entry;                  // e_entry, a virtual address
    Segment segments[MAX_SEGMENTS];  // PT_LOAD with mem_size > 0, in file order
    size_t segment_count;
    uint64_t lowest, highest;  // paddr range covered by PT_LOAD, highest exclusive
    uint64_t entry_paddr;      // entry translated through the segment that holds it
};

enum class [[nodiscard]] Error{
    Ok,
    NullPointer,
    TooSmall,
    BadMagic,
    NotElf64,
    NotLittleEndian,
    BadVersion,
    NotExecutable,
    WrongMachine,
    BadPhdrSize,
    PhdrsOutsideFile,
    TooManySegments,
    NoLoadableSegments,
    SegmentOutsideFile,
    FileSizeExceedsMemSize,
    SegmentOverflow,
    EntryNotExecutable,
    SegmentBelowMinimum,
    SegmentAboveLimit,
    SegmentsOverlap,
    DestinationTooSmall,
};

// ELF64, little-endian, x86-64, ET_EXEC; program headers and PT_LOAD file
// ranges inside the file; mem_size >= file_size; no address wraps; the entry
// lies in a loaded executable segment.
[[nodiscard]] Error parse(const uint8_t* data, size_t size, Image& out);
// Every PT_LOAD lies in [min_addr, limit) by paddr and no two overlap.
[[nodiscard]] Error check_placement(const Image&, uint64_t min_addr, uint64_t limit);
// Copies file bytes and zeroes the rest of each segment into dest, where
// dest[0] is guest-physical 0 and dest_size the partition RAM size. Bounds are
// checked again, so a modified Image cannot write outside dest.
[[nodiscard]] Error load(const Image&, const uint8_t* data, size_t size, uint8_t* dest, uint64_t dest_size);
const char* to_string(Error);

}  // namespace natsume::elf
