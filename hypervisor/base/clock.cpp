#include "base/clock.hpp"

namespace natsume::clock {
namespace {
uint64_t khz = 4000000;
}  // namespace

uint64_t tsc_khz() { return __atomic_load_n(&khz, __ATOMIC_RELAXED); }
void set_tsc_khz(uint64_t k) { __atomic_store_n(&khz, k, __ATOMIC_RELAXED); }

}  // namespace natsume::clock
