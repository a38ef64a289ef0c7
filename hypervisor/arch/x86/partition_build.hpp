// Prepares a partition before its core launches it: RAM contents, EPT,
// I/O and MSR bitmaps, and the guest's long-mode boot environment.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "partition/partition.hpp"

namespace natsume::x86 {

struct BuildError {
    char text[192];
};

[[nodiscard]] bool build_partition(Partition& p, const uint8_t* image, size_t image_size, uint64_t tsc_khz,
                                   BuildError& err);

}  // namespace natsume::x86
