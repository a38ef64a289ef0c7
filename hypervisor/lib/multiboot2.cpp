#include "multiboot2.hpp"

#include "bytes.hpp"

namespace natsume::mb2 {
namespace {

// A tag's payload, already checked to lie inside the block.
struct Tag {
    uint32_t type;
    const uint8_t* data;  // payload after the 8-byte header
    size_t len;           // payload length
};

// True when s[0, len) holds a NUL, so the string ends inside the tag.
bool terminated(const uint8_t* s, size_t len) {
    for (size_t i = 0; i < len; ++i)
        if (s[i] == 0) return true;
    return false;
}

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// Length of the first word of s (up to the first blank or NUL).
size_t first_word_len(const char* s) {
    size_t n = 0;
    while (s[n] != '\0' && !is_blank(s[n])) ++n;
    return n;
}

Error parse_string(const Tag& t, size_t skip, const char*& out) {
    if (t.len < skip || !terminated(t.data + skip, t.len - skip)) return Error::StringNotTerminated;
    out = reinterpret_cast<const char*>(t.data + skip);
    return Error::Ok;
}

Error parse_module(const Tag& t, Info& out) {
    if (t.len < 8) return Error::TagTooSmall;
    Module m{bytes::load<uint32_t>(t.data), bytes::load<uint32_t>(t.data + 4), nullptr};
    if (m.end < m.start) return Error::ModuleBadRange;
    if (Error e = parse_string(t, 8, m.cmdline); e != Error::Ok) return e;
    if (out.module_count == MAX_MODULES) return Error::TooManyModules;
    out.modules[out.module_count++] = m;
    return Error::Ok;
}

Error parse_mmap(const Tag& t, Info& out) {
    if (t.len < MMAP_HEADER - TAG_HEADER) return Error::TagTooSmall;
    const uint32_t entry_size = bytes::load<uint32_t>(t.data);
    // Section 3.6.8: entry_size is a multiple of 8 and at least one entry's size.
    if (entry_size < MMAP_ENTRY_MIN || entry_size % 8 != 0) return Error::MemoryMapBadEntrySize;
    const size_t body = t.len - (MMAP_HEADER - TAG_HEADER);
    if (body % entry_size != 0) return Error::MemoryMapBadLength;
    for (size_t off = 0; off < body; off += entry_size) {
        const uint8_t* e = t.data + (MMAP_HEADER - TAG_HEADER) + off;
        MemoryRange r{bytes::load<uint64_t>(e), bytes::load<uint64_t>(e + 8), bytes::load<uint32_t>(e + 16)};
        if (r.length > UINT64_MAX - r.base) return Error::MemoryRangeOverflow;
        if (out.memory_count == MAX_MEMORY_RANGES) return Error::TooManyMemoryRanges;
        out.memory[out.memory_count++] = r;
    }
    return Error::Ok;
}

Error parse_rsdp_copy(const Tag& t, const uint8_t*& ptr, size_t& len) {
    if (ptr != nullptr) return Error::DuplicateTag;
    ptr = t.data;  // validated later by acpi::parse_rsdp
    len = t.len;
    return Error::Ok;
}

Error parse_tag(const Tag& t, Info& out, bool& seen_cmdline, bool& seen_mmap) {
    switch (t.type) {
    case TAG_CMDLINE:
        if (seen_cmdline) return Error::DuplicateTag;
        seen_cmdline = true;
        return parse_string(t, 0, out.cmdline);
    case TAG_BOOTLOADER_NAME: return parse_string(t, 0, out.bootloader_name);
    case TAG_MODULE: return parse_module(t, out);
    case TAG_BASIC_MEMINFO:
        if (t.len < 8) return Error::TagTooSmall;
        out.has_basic_meminfo = true;
        out.mem_lower_kib     = bytes::load<uint32_t>(t.data);
        out.mem_upper_kib     = bytes::load<uint32_t>(t.data + 4);
        return Error::Ok;
    case TAG_MMAP:
        if (seen_mmap) return Error::DuplicateTag;
        seen_mmap = true;
        return parse_mmap(t, out);
    case TAG_EFI64:
        if (t.len < 8) return Error::TagTooSmall;
        out.efi64_system_table = bytes::load<uint64_t>(t.data);
        return Error::Ok;
    case TAG_ACPI_OLD: return parse_rsdp_copy(t, out.rsdp_v1, out.rsdp_v1_len);
    case TAG_ACPI_NEW: return parse_rsdp_copy(t, out.rsdp_v2, out.rsdp_v2_len);
    case TAG_LOAD_BASE_ADDR:
        if (t.len < 4) return Error::TagTooSmall;
        out.load_base_addr = bytes::load<uint32_t>(t.data);
        return Error::Ok;
    default: return Error::Ok;  // tags this hypervisor does not use
    }
}

// Reads the tag header at off; total is already known to fit the buffer.
Error next_tag(const uint8_t* base, size_t off, size_t total, Tag& t) {
    if (total - off < TAG_HEADER) return Error::TagHeaderTruncated;
    t.type              = bytes::load<uint32_t>(base + off);
    const uint32_t size = bytes::load<uint32_t>(base + off + 4);
    if (size < TAG_HEADER) return Error::TagTooSmall;
    if (size > total - off) return Error::TagExceedsTotalSize;
    t.data = base + off + TAG_HEADER;
    t.len  = size - TAG_HEADER;
    return Error::Ok;
}

void reset(Info& out) {
    __builtin_memset(&out, 0, sizeof out);
    out.cmdline         = "";
    out.bootloader_name = "";
}

}  // namespace

Error parse(const void* info, size_t max_size, Info& out) {
    reset(out);
    if (info == nullptr) return Error::NullInfo;
    if (reinterpret_cast<uintptr_t>(info) % TAG_ALIGN != 0) return Error::Misaligned;
    if (max_size < FIXED_HEADER) return Error::BufferTooSmall;
    const auto* base     = static_cast<const uint8_t*>(info);
    const uint32_t total = bytes::load<uint32_t>(base);
    if (total < FIXED_HEADER + TAG_HEADER) return Error::TotalSizeTooSmall;
    if (total > max_size) return Error::TotalSizeExceedsBuffer;
    out.info_size = total;

    bool seen_cmdline = false, seen_mmap = false;
    for (size_t off = FIXED_HEADER; off < total;) {
        Tag t;
        if (Error e = next_tag(base, off, total, t); e != Error::Ok) return e;
        if (t.type == TAG_END) return t.len == 0 ? Error::Ok : Error::BadEndTag;
        if (Error e = parse_tag(t, out, seen_cmdline, seen_mmap); e != Error::Ok) return e;
        // Sizes are at most total (< 4 GiB), so this cannot wrap a 64-bit size_t.
        off += (t.len + TAG_HEADER + TAG_ALIGN - 1) & ~(TAG_ALIGN - 1);
    }
    return Error::MissingEndTag;
}

const char* to_string(Error e) {
    switch (e) {
    case Error::Ok: return "The multiboot2 information is valid.";
    case Error::NullInfo: return "The boot loader passed no multiboot2 information (null pointer).";
    case Error::Misaligned: return "The multiboot2 information is not 8-byte aligned.";
    case Error::BufferTooSmall: return "The buffer is too small to hold the multiboot2 information header.";
    case Error::TotalSizeTooSmall: return "The multiboot2 total_size is too small to hold even the end tag.";
    case Error::TotalSizeExceedsBuffer: return "The multiboot2 total_size runs past the end of the buffer.";
    case Error::TagHeaderTruncated:
        return "A multiboot2 tag header is cut off by total_size (tags misaligned or missing end tag).";
    case Error::TagTooSmall: return "A multiboot2 tag is smaller than its type requires.";
    case Error::TagExceedsTotalSize: return "A multiboot2 tag's size runs past total_size.";
    case Error::MissingEndTag: return "The multiboot2 information has no end tag within total_size.";
    case Error::BadEndTag: return "The multiboot2 end tag has a size other than 8.";
    case Error::StringNotTerminated:
        return "A multiboot2 string (command line or name) is not NUL-terminated inside its tag.";
    case Error::DuplicateTag: return "A multiboot2 tag that may appear only once appears twice.";
    case Error::ModuleBadRange: return "A multiboot2 module ends before it starts.";
    case Error::TooManyModules:
        return "The boot loader passed more multiboot2 modules than the hypervisor can hold (32).";
    case Error::MemoryMapBadEntrySize:
        return "The multiboot2 memory map entry_size is below 24 or not a multiple of 8.";
    case Error::MemoryMapBadLength: return "The multiboot2 memory map tag is not a whole number of entries.";
    case Error::MemoryRangeOverflow:
        return "A multiboot2 memory map range wraps past the end of the 64-bit address space.";
    case Error::TooManyMemoryRanges:
        return "The multiboot2 memory map has more ranges than the hypervisor can hold (128).";
    }
    return "Unknown multiboot2 parse error.";
}

const Module* find_module(const Info& info, const char* name) {
    if (name == nullptr || name[0] == '\0') return nullptr;
    const size_t n = __builtin_strlen(name);
    for (size_t i = 0; i < info.module_count; ++i) {
        const char* c = info.modules[i].cmdline;
        if (first_word_len(c) == n && __builtin_memcmp(c, name, n) == 0) return &info.modules[i];
    }
    return nullptr;
}

const char* module_args(const Module& m) {
    const char* c = m.cmdline + first_word_len(m.cmdline);
    while (is_blank(*c)) ++c;
    return c;
}

}  // namespace natsume::mb2
