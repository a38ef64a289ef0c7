// The runnable test modes, selected with test=<name> on the command line.
#pragma once
#include <stdint.h>

namespace natsume::guest::tests {

// Returns false when no test has that name.
[[nodiscard]] bool run(const char* name);
// The default run: `ticks` periodic LAPIC timer interrupts ~10 ms apart.
void lapic_periodic(uint64_t ticks);

}  // namespace natsume::guest::tests
