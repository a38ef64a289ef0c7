#pragma once
#include <stdint.h>

namespace natsume::guest::tsc {
// Measures the TSC against PIT channel 2 over ~10 ms. 0 when the PIT never
// reached terminal count within the deadline.
[[nodiscard]] uint64_t calibrate_with_pit();
}  // namespace natsume::guest::tsc
