#include "boot/multiboot2.h"

namespace natsume::guest::mb2 {
namespace {

// multiboot2 spec 3.6: tag types and memory-map entry type.
constexpr uint32_t TAG_END          = 0;
constexpr uint32_t TAG_CMDLINE      = 1;
constexpr uint32_t TAG_MMAP         = 6;
constexpr uint32_t MEMORY_AVAILABLE = 1;
// A bound on the structure size keeps a corrupt header from walking off.
constexpr uint32_t MAX_INFO_SIZE = 1u << 20;

template <typename T>
T load(const uint8_t* p) {
    T v;
    __builtin_memcpy(&v, p, sizeof(T));
    return v;
}

bool region_top(const uint8_t* tag, uint32_t tag_size, uint64_t image_addr, uint64_t& top) {
    uint32_t entry_size = load<uint32_t>(tag + 8);
    if (entry_size < 24) return false;
    for (uint32_t off = 16; off + entry_size <= tag_size; off += entry_size) {
        uint64_t base = load<uint64_t>(tag + off);
        uint64_t len  = load<uint64_t>(tag + off + 8);
        uint32_t type = load<uint32_t>(tag + off + 16);
        if (type == MEMORY_AVAILABLE && image_addr >= base && image_addr - base < len) {
            top = base + len;
            return true;
        }
    }
    return false;
}

}  // namespace

Status parse(const uint8_t* info, uint64_t image_addr, Info& out) {
    uint32_t total = load<uint32_t>(info);
    if (total < 16 || total > MAX_INFO_SIZE) return Status::BadHeader;
    bool have_mmap = false;
    bool in_ram    = false;
    for (uint32_t off = 8; off + 8 <= total;) {
        const uint8_t* tag = info + off;
        uint32_t type      = load<uint32_t>(tag);
        uint32_t size      = load<uint32_t>(tag + 4);
        if (type == TAG_END) break;
        if (size < 8 || off + size > total) return Status::BadHeader;
        if (type == TAG_CMDLINE) out.cmdline = reinterpret_cast<const char*>(tag + 8);
        if (type == TAG_MMAP) {
            have_mmap = true;
            in_ram    = in_ram || region_top(tag, size, image_addr, out.ram_top);
        }
        off += (size + 7) & ~7u;  // tags are 8-byte aligned
    }
    if (!have_mmap) return Status::NoMemoryMap;
    return in_ram ? Status::Ok : Status::ImageNotInRam;
}

}  // namespace natsume::guest::mb2
