// Validation of a compiled partition file (include/natsume/config_blob.h).
//
// Run twice: offline by natsume-config after compiling, and at boot by the
// hypervisor on its own copy of the blob, which it never trusts. Freestanding:
// no allocation, no libc, no floating point. Each check stops at the first
// problem and describes it in one sentence that names the partition and field
// and says what to change.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "natsume/config_blob.h"

namespace natsume::config {

struct Report {
    char text[256];
};

// Structure and internal consistency: magic, version, sizes, crc32, strings,
// names, cores, RAM alignment and overlap, LAPIC mode, reserved fields.
// `blob` must be aligned to 8 bytes; `size` is the number of bytes available
// (at least total_size; trailing bytes are ignored).
[[nodiscard]] bool validate_blob(const void* blob, size_t size, Report& r);

struct Range {
    uint64_t base, size;
};

// What the hypervisor found on the machine (MADT, multiboot2 memory map).
struct Platform {
    const uint32_t* apic_ids;  // enabled local APICs
    size_t apic_count;
    uint32_t bsp_apic_id;      // stays with the hypervisor
    const Range* usable;       // usable RAM
    size_t usable_count;
    const Range* reserved;     // hypervisor image, heap, modules
    size_t reserved_count;
};

// Fit of a blob that passed validate_blob to this machine: every core exists
// and is not the BSP; each partition's RAM lies inside one usable range and
// overlaps no reserved range.
[[nodiscard]] bool validate_platform(const natsume_config_header* h, const Platform& p, Report& r);

// The partition array that follows the header (valid after validate_blob).
[[nodiscard]] const natsume_config_partition* partitions(const natsume_config_header* h);

[[nodiscard]] const char* lapic_mode_name(uint32_t mode);  // "passthrough", "trapped" or "unknown"

}  // namespace natsume::config
