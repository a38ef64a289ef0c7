// The TSC rate, one value for every layer: arch/x86/timing measures it at
// boot and sets it here; until then a fast 4 GHz is assumed, so early
// deadlines err long.
#pragma once
#include <stdint.h>

namespace natsume::clock {

uint64_t tsc_khz();
void set_tsc_khz(uint64_t khz);

}  // namespace natsume::clock
