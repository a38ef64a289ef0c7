#include "devices/dma.h"

#include <string.h>

#include "boot/boot.h"

namespace natsume::guest::dma {
namespace {

constexpr size_t NATIVE_POOL_SIZE = 256 * 1024;
alignas(4096) uint8_t g_native_pool[NATIVE_POOL_SIZE];

uint64_t g_base = 0;
uint64_t g_size = 0;
uint64_t g_used = 0;

}  // namespace

Status init() {
    if (g_base) return Status::Ok;
    const boot::Context& c = boot::context();
    if (c.mode == boot::Mode::Partition) {
        // The kernel's identity map covers [0, 4 GiB) only.
        if (c.dma_size == 0 || c.dma_base + c.dma_size > (1ull << 32)) return Status::NoWindow;
        g_base = c.dma_base;
        g_size = c.dma_size;
    } else {
        g_base = reinterpret_cast<uintptr_t>(g_native_pool);
        g_size = NATIVE_POOL_SIZE;
    }
    g_used = 0;
    return Status::Ok;
}

void* alloc(size_t size, size_t align) {
    uint64_t start = (g_base + g_used + align - 1) & ~uint64_t{align - 1};
    if (g_base == 0 || start + size > g_base + g_size) return nullptr;
    g_used  = start + size - g_base;
    void* p = reinterpret_cast<void*>(start);
    memset(p, 0, size);
    return p;
}

uint64_t window_base() { return g_base; }
uint64_t window_size() { return g_size; }

}  // namespace natsume::guest::dma
