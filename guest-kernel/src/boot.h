// What the kernel learned about its environment at entry.
#pragma once
#include <stdint.h>

namespace boot {

enum class Mode : uint8_t { Native, Partition };

struct Context {
    Mode mode = Mode::Native;
    char name[32] = "native";
    uint32_t loader_apic_id = 0;  // from the boot info (partition only)
    uint64_t ram_top = 0;         // usable RAM ends here (exclusive)
    uint64_t ram_size = 0;        // as reported in the banner
    uint64_t tsc_khz = 0;         // 0 until known (natively: PIT calibration)
    uint64_t image_end = 0;
    char cmdline[256] = {};
};

const Context& context();
void set_tsc_khz(uint64_t khz);

// The main stack sits at the top of RAM; the heap ends below it.
inline constexpr uint64_t kStackRegionSize = 256 * 1024;

}  // namespace boot
