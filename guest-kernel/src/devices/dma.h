// Memory for device DMA (descriptor rings, packet buffers). In a partition
// it must come from the boot info's identity-mapped window: without an
// IOMMU the device uses the address as host-physical. Natively gpa == hpa
// everywhere and a static pool in the image is used.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume::guest::dma {

enum class Status : uint8_t { Ok, NoWindow };

[[nodiscard]] Status init();
// Zeroed, `align`-aligned (a power of two) memory, or nullptr when exhausted.
void* alloc(size_t size, size_t align);
// The bus address the device is given for a pointer from alloc.
inline uint64_t bus_address(const void* p) { return reinterpret_cast<uintptr_t>(p); }
uint64_t window_base();
uint64_t window_size();

}  // namespace natsume::guest::dma
