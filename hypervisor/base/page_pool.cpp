#include "base/page_pool.hpp"

#include "base/klib.hpp"
#include "base/spinlock.hpp"

namespace natsume::page_pool {
namespace {
constexpr uint64_t POOL_PAGES = 1024;  // 4 MiB: EPT + bitmaps for 16 partitions with room to spare
alignas(4096) uint8_t pool[POOL_PAGES][4096];
uint64_t used;
Spinlock lock;
}  // namespace

uint64_t alloc() {
    LockGuard g(lock);
    if (used == POOL_PAGES) return 0;
    uint8_t* page = pool[used++];
    memset(page, 0, 4096);
    return reinterpret_cast<uint64_t>(page);
}

uint64_t pages_used() { return used; }
uint64_t pages_total() { return POOL_PAGES; }

}  // namespace natsume::page_pool
