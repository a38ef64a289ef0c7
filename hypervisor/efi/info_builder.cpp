#include "info_builder.hpp"

#include "lib/bytes.hpp"

namespace natsume::efi {
namespace {

size_t length(const char* s) {
    size_t n = 0;
    while (s[n]) ++n;
    return n;
}

size_t align_up(size_t v) { return (v + mb2::TAG_ALIGN - 1) & ~(mb2::TAG_ALIGN - 1); }

}  // namespace

InfoBuilder::InfoBuilder(uint8_t* buf, size_t cap)
    : buf_(buf), cap_(cap), len_(mb2::FIXED_HEADER), overflow_(cap < mb2::FIXED_HEADER) {}

// Reserves a tag of `payload` bytes after its header, padded to the next tag's alignment.
uint8_t* InfoBuilder::begin_tag(mb2::TagType type, size_t payload) {
    const size_t size = mb2::TAG_HEADER + payload;
    if (overflow_ || size > UINT32_MAX || align_up(size) > cap_ - len_) {
        overflow_ = true;
        return nullptr;
    }
    uint8_t* t = buf_ + len_;
    __builtin_memset(t, 0, align_up(size));
    bytes::store<uint32_t>(t, type);
    bytes::store<uint32_t>(t + 4, static_cast<uint32_t>(size));
    len_ += align_up(size);
    return t + mb2::TAG_HEADER;
}

void InfoBuilder::string(mb2::TagType type, const char* s) {
    const size_t n = length(s) + 1;
    if (uint8_t* p = begin_tag(type, n)) __builtin_memcpy(p, s, n);
}

void InfoBuilder::module(uint32_t start, uint32_t end, const char* cmdline) {
    const size_t n = length(cmdline) + 1;
    uint8_t* p     = begin_tag(mb2::TAG_MODULE, 8 + n);
    if (!p) return;
    bytes::store(p, start);
    bytes::store(p + 4, end);
    __builtin_memcpy(p + 8, cmdline, n);
}

// Section 3.6.8: entry_size, entry_version 0, then base, length, type, reserved.
void InfoBuilder::memory_map(const mb2::MemoryRange* ranges, size_t count) {
    uint8_t* p = begin_tag(mb2::TAG_MMAP, 8 + count * mb2::MMAP_ENTRY_MIN);
    if (!p) return;
    bytes::store<uint32_t>(p, mb2::MMAP_ENTRY_MIN);
    bytes::store<uint32_t>(p + 4, 0);
    for (size_t i = 0; i < count; ++i) {
        uint8_t* e = p + 8 + i * mb2::MMAP_ENTRY_MIN;
        bytes::store(e, ranges[i].base);
        bytes::store(e + 8, ranges[i].length);
        bytes::store(e + 16, ranges[i].type);
    }
}

void InfoBuilder::efi64_system_table(uint64_t address) {
    if (uint8_t* p = begin_tag(mb2::TAG_EFI64, 8)) bytes::store(p, address);
}

void InfoBuilder::rsdp(mb2::TagType type, const void* rsdp, size_t len) {
    if (uint8_t* p = begin_tag(type, len)) __builtin_memcpy(p, rsdp, len);
}

size_t InfoBuilder::finish() {
    if (!begin_tag(mb2::TAG_END, 0)) return 0;
    bytes::store<uint32_t>(buf_, static_cast<uint32_t>(len_));
    bytes::store<uint32_t>(buf_ + 4, 0);
    return len_;
}

}  // namespace natsume::efi
