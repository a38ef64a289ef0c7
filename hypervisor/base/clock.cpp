#include "base/clock.hpp"

#include <atomic>

namespace natsume::clock {
namespace {
std::atomic<uint64_t> khz{4000000};  // set once by the boot core, read by every core
}  // namespace

uint64_t tsc_khz() { return khz.load(std::memory_order_relaxed); }
void set_tsc_khz(uint64_t k) { khz.store(k, std::memory_order_relaxed); }

}  // namespace natsume::clock
