#include "arch/x86/boot_info.hpp"

#include "drivers/multiboot2.h"

#include "base/panic.hpp"

namespace natsume::x86::boot_info {

const void* phys_map(void*, uint64_t phys, size_t len) {
    if (phys >= MAPPED || len > MAPPED - phys) return nullptr;
    return reinterpret_cast<const void*>(phys);
}

void read_multiboot(uint32_t magic, uint64_t info, mb2::Info& out) {
    if (magic != MB2_BOOTLOADER_MAGIC) NATSUME_PANIC("not started by a multiboot2 loader (magic 0x%x)", magic);
    uint32_t total = *reinterpret_cast<const uint32_t*>(info);
    mb2::Error e   = mb2::parse(reinterpret_cast<const void*>(info), total, out);
    if (e != mb2::Error::Ok) NATSUME_PANIC("multiboot2 information is malformed: %s", mb2::to_string(e));
}

}  // namespace natsume::x86::boot_info
