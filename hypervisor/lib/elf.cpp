#include "elf.hpp"

#include "bytes.hpp"

namespace natsume::elf {
namespace {

// ELF-64 Object File Format 1.5: file header (section 3) and program header
// (section 6) offsets, and the identification values Natsume accepts.
constexpr size_t EHDR_SIZE = 64;
constexpr size_t PHDR_SIZE = 56;
constexpr size_t EI_CLASS = 4, EI_DATA = 5, EI_VERSION = 6;
constexpr uint8_t CLASS64 = 2, DATA_LSB = 1, VERSION_CURRENT = 1;
constexpr size_t E_TYPE = 16, E_MACHINE = 18, E_VERSION = 20, E_ENTRY = 24, E_PHOFF = 32;
constexpr size_t E_PHENTSIZE = 54, E_PHNUM = 56;
constexpr uint16_t TYPE_EXEC      = 2;
constexpr uint16_t kMachineX86_64 = 62;
constexpr size_t P_TYPE = 0, P_FLAGS = 4, P_OFFSET = 8, P_VADDR = 16, P_PADDR = 24, P_FILESZ = 32, P_MEMSZ = 40;
constexpr uint32_t PT_LOAD = 1;

// [offset, offset + len) lies inside a buffer of size bytes, without wrapping.
bool inside(uint64_t offset, uint64_t len, uint64_t size) { return offset <= size && len <= size - offset; }

bool wraps(uint64_t base, uint64_t len) { return len > UINT64_MAX - base; }

Error check_ident(const uint8_t* d, size_t size) {
    if (size < EHDR_SIZE) return Error::TooSmall;
    if (d[0] != 0x7F || d[1] != 'E' || d[2] != 'L' || d[3] != 'F') return Error::BadMagic;
    if (d[EI_CLASS] != CLASS64) return Error::NotElf64;
    if (d[EI_DATA] != DATA_LSB) return Error::NotLittleEndian;
    if (d[EI_VERSION] != VERSION_CURRENT || bytes::load<uint32_t>(d + E_VERSION) != VERSION_CURRENT)
        return Error::BadVersion;
    if (bytes::load<uint16_t>(d + E_TYPE) != TYPE_EXEC) return Error::NotExecutable;
    if (bytes::load<uint16_t>(d + E_MACHINE) != kMachineX86_64) return Error::WrongMachine;
    return Error::Ok;
}

Error read_segment(const uint8_t* ph, size_t size, Segment& s) {
    s = Segment{bytes::load<uint64_t>(ph + P_PADDR),  bytes::load<uint64_t>(ph + P_VADDR),
                bytes::load<uint64_t>(ph + P_OFFSET), bytes::load<uint64_t>(ph + P_FILESZ),
                bytes::load<uint64_t>(ph + P_MEMSZ),  bytes::load<uint32_t>(ph + P_FLAGS)};
    if (!inside(s.offset, s.file_size, size)) return Error::SegmentOutsideFile;
    if (s.file_size > s.mem_size) return Error::FileSizeExceedsMemSize;
    if (wraps(s.paddr, s.mem_size) || wraps(s.vaddr, s.mem_size)) return Error::SegmentOverflow;
    return Error::Ok;
}

void add_segment(Image& img, const Segment& s) {
    if (img.segment_count == 0 || s.paddr < img.lowest) img.lowest = s.paddr;
    if (img.segment_count == 0 || s.paddr + s.mem_size > img.highest) img.highest = s.paddr + s.mem_size;
    img.segments[img.segment_count++] = s;
}

Error resolve_entry(Image& img) {
    for (size_t i = 0; i < img.segment_count; ++i) {
        const Segment& s = img.segments[i];
        if ((s.flags & FLAG_EXECUTE) == 0 || img.entry < s.vaddr || img.entry - s.vaddr >= s.mem_size) continue;
        img.entry_paddr = s.paddr + (img.entry - s.vaddr);
        return Error::Ok;
    }
    return Error::EntryNotExecutable;
}

bool overlap(const Segment& a, const Segment& b) {
    return a.paddr < b.paddr + b.mem_size && b.paddr < a.paddr + a.mem_size;
}

}  // namespace

Error parse(const uint8_t* data, size_t size, Image& out) {
    __builtin_memset(&out, 0, sizeof out);
    if (data == nullptr) return Error::NullPointer;
    if (Error e = check_ident(data, size); e != Error::Ok) return e;
    const uint64_t phoff     = bytes::load<uint64_t>(data + E_PHOFF);
    const uint16_t phentsize = bytes::load<uint16_t>(data + E_PHENTSIZE);
    const uint16_t phnum     = bytes::load<uint16_t>(data + E_PHNUM);
    if (phentsize < PHDR_SIZE) return Error::BadPhdrSize;
    // phnum * phentsize < 2^32, so the product cannot wrap.
    if (!inside(phoff, uint64_t{phnum} * phentsize, size)) return Error::PhdrsOutsideFile;
    out.entry = bytes::load<uint64_t>(data + E_ENTRY);
    for (size_t i = 0; i < phnum; ++i) {
        const uint8_t* ph = data + phoff + i * phentsize;
        if (bytes::load<uint32_t>(ph + P_TYPE) != PT_LOAD) continue;
        Segment s;
        if (Error e = read_segment(ph, size, s); e != Error::Ok) return e;
        if (s.mem_size == 0) continue;
        if (out.segment_count == MAX_SEGMENTS) return Error::TooManySegments;
        add_segment(out, s);
    }
    if (out.segment_count == 0) return Error::NoLoadableSegments;
    return resolve_entry(out);
}

Error check_placement(const Image& img, uint64_t min_addr, uint64_t limit) {
    for (size_t i = 0; i < img.segment_count; ++i) {
        const Segment& s = img.segments[i];
        if (s.paddr < min_addr) return Error::SegmentBelowMinimum;
        if (s.paddr > limit || s.mem_size > limit - s.paddr) return Error::SegmentAboveLimit;
        for (size_t j = 0; j < i; ++j)
            if (overlap(s, img.segments[j])) return Error::SegmentsOverlap;
    }
    return Error::Ok;
}

Error load(const Image& img, const uint8_t* data, size_t size, uint8_t* dest, uint64_t dest_size) {
    if (data == nullptr || dest == nullptr) return Error::NullPointer;
    if (img.segment_count > MAX_SEGMENTS) return Error::TooManySegments;
    for (size_t i = 0; i < img.segment_count; ++i) {
        const Segment& s = img.segments[i];
        if (!inside(s.offset, s.file_size, size)) return Error::SegmentOutsideFile;
        if (s.file_size > s.mem_size) return Error::FileSizeExceedsMemSize;
        if (!inside(s.paddr, s.mem_size, dest_size)) return Error::DestinationTooSmall;
    }
    for (size_t i = 0; i < img.segment_count; ++i) {
        const Segment& s = img.segments[i];
        uint8_t* at      = dest + s.paddr;
        __builtin_memcpy(at, data + s.offset, s.file_size);
        __builtin_memset(at + s.file_size, 0, s.mem_size - s.file_size);
    }
    return Error::Ok;
}

const char* to_string(Error e) {
    switch (e) {
    case Error::Ok: return "The ELF image is valid.";
    case Error::NullPointer: return "A null pointer was passed where an ELF image or destination was expected.";
    case Error::TooSmall: return "The file is smaller than an ELF64 header.";
    case Error::BadMagic: return "The file does not start with the ELF magic bytes.";
    case Error::NotElf64: return "The ELF file is not 64-bit (ELFCLASS64).";
    case Error::NotLittleEndian: return "The ELF file is not little-endian.";
    case Error::BadVersion: return "The ELF file has an unknown ELF version.";
    case Error::NotExecutable:
        return "The ELF file is not a static executable (ET_EXEC); relocatable and PIE files are not loaded.";
    case Error::WrongMachine: return "The ELF file is not for x86-64 (EM_X86_64).";
    case Error::BadPhdrSize: return "The ELF program header entry size is smaller than 56 bytes.";
    case Error::PhdrsOutsideFile: return "The ELF program header table lies outside the file.";
    case Error::TooManySegments: return "The ELF file has more loadable segments than the loader can hold (16).";
    case Error::NoLoadableSegments: return "The ELF file has no loadable (PT_LOAD) segment.";
    case Error::SegmentOutsideFile: return "An ELF segment's file bytes lie outside the file.";
    case Error::FileSizeExceedsMemSize: return "An ELF segment's file size is larger than its memory size.";
    case Error::SegmentOverflow:
        return "An ELF segment's address plus size wraps past the end of the 64-bit address space.";
    case Error::EntryNotExecutable: return "The ELF entry point is not inside a loaded executable segment.";
    case Error::SegmentBelowMinimum: return "An ELF segment starts below the lowest address a partition image may use.";
    case Error::SegmentAboveLimit: return "An ELF segment ends above the partition's RAM.";
    case Error::SegmentsOverlap: return "Two ELF segments overlap in physical memory.";
    case Error::DestinationTooSmall: return "An ELF segment does not fit in the destination memory.";
    }
    return "Unknown ELF error.";
}

}  // namespace natsume::elf
