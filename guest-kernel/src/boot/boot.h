// What the kernel learned about its environment at entry.
#pragma once
#include <stdint.h>

#include <natsume/bootinfo.h>

namespace natsume::guest::boot {

enum class Mode : uint8_t { Native, Partition };

struct Context {
    Mode mode               = Mode::Native;
    char name[32]           = "native";
    uint32_t loader_apic_id = 0;  // from the boot info (partition only)
    uint64_t ram_top        = 0;  // usable RAM ends here (exclusive)
    uint64_t ram_size       = 0;  // as reported in the banner
    uint64_t tsc_khz        = 0;  // 0 until known (natively: PIT calibration)
    uint64_t image_end      = 0;
    uint64_t heap_end       = 0;  // newlib's heap is [image_end, heap_end)
    char cmdline[256]       = {};
    // Boot information v2 (partition only; natively all zero).
    uint64_t dma_base                                     = 0;  // identity-mapped DMA window, gpa == hpa
    uint64_t dma_size                                     = 0;
    uint64_t ioapic_gpa                                   = 0;  // the trapped IOAPIC page, 0 = none
    uint32_t device_count                                 = 0;
    natsume_boot_device devices[NATSUME_BOOT_MAX_DEVICES] = {};
    // Boot information v3: the channels this partition is a side of.
    uint32_t channel_count                                   = 0;
    natsume_boot_channel channels[NATSUME_BOOT_MAX_CHANNELS] = {};
};

const Context& context();
void set_tsc_khz(uint64_t khz);

// The main stack sits at the top of RAM; the heap ends below it.
inline constexpr uint64_t STACK_REGION_SIZE = 256 * 1024;

}  // namespace natsume::guest::boot
