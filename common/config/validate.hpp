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

// Which part of a channel a refusal is about, so natsume-config can point at
// the key in the partition file.
enum class ChannelField : uint8_t { Whole, Name, Memory, Frontend, Backend };
constexpr uint32_t NO_CHANNEL = 0xffffffffu;

struct Report {
    char text[256];
    uint32_t channel   = NO_CHANNEL;  // the channel refused, NO_CHANNEL when the refusal is about something else
    ChannelField field = ChannelField::Whole;
};

// Explicit INTx GSIs in a partition file lie below this: a bound that catches
// typos (ten 24-pin IOAPICs fit); natsume-config applies the same limit.
constexpr uint32_t MAX_INTX_GSI = 256;

// Structure and internal consistency: magic, version, sizes, crc32, strings,
// names, cores, RAM alignment and overlap, LAPIC mode, reserved fields;
// devices (count, known flags, vendor/device given together, GSI range, BDF
// unique across all partitions) and DMA windows (2 MiB aligned, outside the
// partition's guest-physical RAM, overlapping no partition's RAM and no other
// window); channels (names unique, 2 MiB aligned memory overlapping no RAM,
// DMA window or other channel, two distinct existing partitions, each seeing
// it above its RAM, below NATSUME_CHANNEL_GPA_LIMIT, clear of its DMA window
// and its other channels, at most NATSUME_BOOT_MAX_CHANNELS per partition).
// `blob` must be aligned to 8 bytes; `size` is the number of bytes available
// (at least total_size; trailing bytes are ignored).
[[nodiscard]] bool validate_blob(const void* blob, size_t size, Report& r);

struct Range {
    uint64_t base, size;
};

// One PCI function found by enumeration at boot.
struct PlatformDevice {
    uint16_t bdf, vendor_id, device_id;
    uint32_t gsi;    // resolved INTx GSI, or NATSUME_GSI_AUTO when the function has no INTx
    bool is_bridge;  // header type 1 (PCI-to-PCI) or 2 (CardBus)
};

// What the hypervisor found on the machine (MADT, multiboot2 memory map, PCI
// enumeration, DMAR). The fields after reserved_count may be left out of an
// aggregate initializer: no devices, no IOMMU.
struct Platform {
    const uint32_t* apic_ids;  // enabled local APICs
    size_t apic_count;
    uint32_t bsp_apic_id;  // stays with the hypervisor
    const Range* usable;   // usable RAM
    size_t usable_count;
    const Range* reserved;  // hypervisor image, heap, modules
    size_t reserved_count;
    const PlatformDevice* devices = nullptr;  // every PCI function enumerated
    size_t device_count           = 0;
    bool iommu                    = false;  // DMA remapping will isolate devices
    // Host-physical regions firmware keeps DMA-ing to (ACPI DMAR RMRRs): they
    // stay identity-mapped for their devices, so no partition may own them.
    const Range* rmrr = nullptr;
    size_t rmrr_count = 0;
    // Low APIC ID bits that number the hardware threads of one core (CPUID
    // leaf 0xB, or leaf 1/4 on older CPUs): IDs equal above them are SMT
    // siblings, which share caches and execution units. 0: no SMT.
    uint8_t smt_shift = 0;
};

// Fit of a blob that passed validate_blob to this machine: every core exists
// and is not the BSP; no core has an SMT sibling in another partition or
// with the hypervisor unless the partitions involved set
// NATSUME_PARTITION_SHARE_SMT; each partition's RAM and DMA window lie inside one
// usable range and overlap no reserved range; every device exists at its BDF,
// matches its vendor:device when given and is not a bridge; without an IOMMU,
// a partition owning a device that may master the bus has a DMA window; no
// partition's RAM or DMA window overlaps an RMRR.
[[nodiscard]] bool validate_platform(const natsume_config_header* h, const Platform& p, Report& r);

// An INTx line (GSI) used by devices of more than one partition: the
// hypervisor must own it and deliver per device. Lists every configured
// device resolved to that GSI, in partition order, at most
// NATSUME_CONFIG_MAX_DEVICES of them (`count` says how many are listed;
// `truncated` says some were left out).
struct SharedLine {
    uint32_t gsi;
    uint16_t bdf[NATSUME_CONFIG_MAX_DEVICES];
    uint8_t partition[NATSUME_CONFIG_MAX_DEVICES];  // index into partitions(h)
    size_t count;
    bool truncated;
};

// The shared INTx lines of a blob that passed validate_blob, in ascending GSI
// order. A device's GSI is its intx_gsi, or when that is NATSUME_GSI_AUTO the
// gsi of the PlatformDevice at its BDF; devices with neither are skipped (so
// with an empty Platform only explicit GSIs count, as offline). Writes at most
// `cap` lines to `out` and returns how many shared lines exist (more than
// `cap` means some were not written).
[[nodiscard]] size_t shared_intx_lines(const natsume_config_header* h, const Platform& p, SharedLine* out, size_t cap);

// The partition array that follows the header (valid after validate_blob).
[[nodiscard]] const natsume_config_partition* partitions(const natsume_config_header* h);
// The channel array that follows the partitions (valid after validate_blob).
[[nodiscard]] const natsume_config_channel* channels(const natsume_config_header* h);

[[nodiscard]] const char* lapic_mode_name(uint32_t mode);  // "passthrough", "trapped" or "unknown"

}  // namespace natsume::config
