// Compiled partition file: the binary layout shared by vmm-tools (which
// writes it) and the hypervisor (which copies it and validates it again).
//
// All integers little-endian, fixed widths, no pointers. The blob is
//   struct natsume_config_header
//   struct natsume_config_partition [partition_count]
//   struct natsume_config_channel   [channel_count]
// and total_size covers exactly that. crc32 is the IEEE 802.3 CRC-32
// (reflected, polynomial 0xEDB88320, init and final xor 0xFFFFFFFF) of the
// whole blob computed with the crc32 field set to zero.
#pragma once
#include <stdint.h>

#include "natsume/channel.h"

#define NATSUME_CONFIG_MAGIC          0x4746435355544e41ull  // "ANTUSCFG"
#define NATSUME_CONFIG_VERSION        4u                     // blob layout; the TOML file has its own version
#define NATSUME_CONFIG_MAX_PARTITIONS 16u
#define NATSUME_CONFIG_MAX_CORES      8u
#define NATSUME_CONFIG_NAME_LEN       32u
#define NATSUME_CONFIG_IMAGE_LEN      64u
#define NATSUME_CONFIG_CMDLINE_LEN    256u
#define NATSUME_CONFIG_MAX_DEVICES    8u

#define NATSUME_CONFIG_MAX_CHANNELS NATSUME_CHANNEL_MAX
// Partition RAM is mapped with 2 MiB EPT pages: base and size are multiples.
#define NATSUME_CONFIG_RAM_ALIGN    0x200000ull
#define NATSUME_CONFIG_RAM_MIN      0x400000ull

// natsume_config_partition.kind (version 4): what the partition boots.
#define NATSUME_KIND_NATSUME   0u  // an ELF64 guest kernel entered with struct natsume_boot_info (bootinfo.h)
#define NATSUME_KIND_LINUX     1u  // a Linux bzImage entered by the 64-bit boot protocol (docs/linux.md)
// A Linux partition's main memory (its RAM above 1 MiB, or its DMA window):
// its kernel decompresses into tens of MiB (the bzImage's init_size).
#define NATSUME_LINUX_RAM_MIN  0x4000000ull
// A Linux partition's DMA window ends below this: the boot page tables map
// guest-physical memory write-back up to here, uncached above (to 4 GiB).
#define NATSUME_LINUX_MAIN_END 0xfe000000ull

#define NATSUME_LAPIC_PASSTHROUGH 1u  // xAPIC page / x2APIC MSRs reach the hardware (trusted guest)
#define NATSUME_LAPIC_TRAPPED     2u  // reserved for the trapped, filtered LAPIC

// PCI function address: bus << 8 | device << 3 | function.
#define NATSUME_BDF(bus, dev, fn)        ((uint16_t)(((bus) << 8) | ((dev) << 3) | (fn)))
#define NATSUME_DEVICE_ANY_ID            0xffffu      // vendor/device not checked
#define NATSUME_GSI_AUTO                 0xffffffffu  // INTx GSI from the Interrupt Line register + MADT overrides
#define NATSUME_DEVICE_NO_DMA            0x0001u      // the device never masters the bus: bus-master enable refused
// A Linux partition's IDE controller in compatibility mode: Linux drives its
// secondary channel (clear: the primary). docs/linux.md, "Disks".
#define NATSUME_DEVICE_IDE_SECONDARY     0x0002u
#define NATSUME_DEVICE_FLAGS             0x0003u  // every defined bit
// natsume_config_partition.flags
#define NATSUME_PARTITION_SHARE_SMT      0x0001u  // its cores may have SMT siblings outside the partition
#define NATSUME_PARTITION_UNISOLATED_DMA 0x0002u  // its bus-master devices may run without DMA and interrupt remapping
#define NATSUME_PARTITION_L1D_FLUSH      0x0004u  // flush the L1 data cache on every VM entry (IA32_FLUSH_CMD)
#define NATSUME_PARTITION_FLAGS          0x0007u  // every defined bit

struct natsume_config_device {
    uint16_t bdf;        // NATSUME_BDF(...)
    uint16_t vendor_id;  // NATSUME_DEVICE_ANY_ID or the expected vendor (catches a wrong slot)
    uint16_t device_id;  // NATSUME_DEVICE_ANY_ID or the expected device
    uint16_t flags;      // NATSUME_DEVICE_*
    uint32_t intx_gsi;   // NATSUME_GSI_AUTO or the GSI the device's INTx pin is wired to
    uint32_t reserved;   // 0
};

struct natsume_config_header {
    uint64_t magic;           // NATSUME_CONFIG_MAGIC
    uint32_t version;         // NATSUME_CONFIG_VERSION
    uint32_t header_size;     // sizeof(struct natsume_config_header)
    uint32_t partition_size;  // sizeof(struct natsume_config_partition)
    uint32_t partition_count;
    uint32_t total_size;  // header + partition_count * partition_size + channel_count * channel_size
    uint32_t crc32;
    char name[NATSUME_CONFIG_NAME_LEN];  // machine / file name, NUL-terminated
    // Version 3:
    uint32_t channel_size;  // sizeof(struct natsume_config_channel)
    uint32_t channel_count;
};

struct natsume_config_partition {
    char name[NATSUME_CONFIG_NAME_LEN];    // NUL-terminated, [a-z0-9_-]+
    char image[NATSUME_CONFIG_IMAGE_LEN];  // multiboot2 module name of the ELF64 guest image, or of the bzImage
    char cmdline[NATSUME_CONFIG_CMDLINE_LEN];
    uint64_t ram_base;                         // host-physical base of the partition's RAM
    uint64_t ram_size;                         // guest-physical [0, ram_size) maps to [ram_base, ram_base + ram_size)
    uint32_t core_count;                       // 1 (kind natsume), 1 to 8 (kind linux: cores[0] boots)
    uint32_t cores[NATSUME_CONFIG_MAX_CORES];  // local APIC IDs
    uint32_t lapic_mode;                       // NATSUME_LAPIC_*
    uint32_t flags;                            // NATSUME_PARTITION_*
    uint32_t kind;                             // NATSUME_KIND_* (version 4; 0 before)
    // Identity-mapped window (guest-physical == host-physical) for device DMA
    // buffers, needed where no IOMMU translates DMA; 0/0 when absent.
    uint64_t dma_base;
    uint64_t dma_size;
    uint32_t device_count;  // 0 .. NATSUME_CONFIG_MAX_DEVICES
    uint32_t reserved2;     // 0
    struct natsume_config_device devices[NATSUME_CONFIG_MAX_DEVICES];
    // Version 4: a Linux partition's initramfs module name ("" for none); "" for other kinds.
    char initramfs[NATSUME_CONFIG_IMAGE_LEN];
};

// A shared-memory channel between two partitions: host RAM [base, base+size)
// mapped into exactly the frontend's and the backend's EPT, each at its own
// guest-physical address, and into no device's DMA domain unless
// NATSUME_CHANNEL_BACKEND_DMA lets the backend's devices reach it. Base, size
// and both addresses are multiples of NATSUME_CONFIG_RAM_ALIGN.

// Roles, flags and the address limit: natsume/channel.h.
struct natsume_config_channel_end {
    uint32_t partition;  // index into the partition array
    uint32_t reserved;   // 0
    uint64_t gpa;        // where this side sees the channel
};

struct natsume_config_channel {
    char name[NATSUME_CONFIG_NAME_LEN];  // NUL-terminated, [a-z0-9_-]+
    uint64_t base;                       // host-physical
    uint64_t size;
    struct natsume_config_channel_end ends[2];  // NATSUME_CHANNEL_FRONTEND, NATSUME_CHANNEL_BACKEND
    uint32_t flags;                             // NATSUME_CHANNEL_*
    // Doorbells a second each side may ring after a burst of
    // NATSUME_CHANNEL_DOORBELL_BURST; 0 = NATSUME_CHANNEL_DOORBELL_RATE.
    uint32_t doorbell_rate;
};

#ifdef __cplusplus
static_assert(sizeof(natsume_config_header) == 72, "config header layout");
static_assert(sizeof(natsume_config_channel) == 32 + 16 + 2 * 16 + 8, "channel layout");
static_assert(sizeof(natsume_config_device) == 16, "device layout");
static_assert(sizeof(natsume_config_partition) == 32 + 64 + 256 + 16 + 4 + 32 + 12 + 16 + 8 + 8 * 16 + 64,
              "partition layout");
#endif
