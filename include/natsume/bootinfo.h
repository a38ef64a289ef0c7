// Boot information the hypervisor hands to a partition's guest kernel.
//
// Entry contract (a partition's vCPU, no unrestricted guest needed):
//   64-bit long mode, CR0 = PE|MP|NE|WP|PG, CR4 = PAE|OSFXSR|OSXMMEXCPT,
//   EFER = LME|LMA|NXE, paging identity-maps guest-physical [0, 4 GiB) with
//   2 MiB pages (the 0xFE000000-0xFFFFFFFF window uncached), a flat GDT with
//   a 64-bit code segment (selector 0x08), data (0x10) and a TSS (0x18),
//   interrupts disabled, RIP = ELF entry point, RDI = gpa of this structure,
//   RSP = NATSUME_GUEST_BOOT_STACK_TOP. The guest may replace GDT, IDT and
//   page tables with its own at once.
//
// Guest-physical layout prepared by the hypervisor (all inside partition RAM):
//   0x1000  struct natsume_boot_info
//   0x2000  GDT + TSS
//   0x3000  PML4, PDPT, 4 page directories (0x3000-0x8fff)
//   0x9000-0xffff  boot stack (grows down from 0x10000)
//   >= 0x100000    ELF image segments
#pragma once
#include <stdint.h>

#include "natsume/channel.h"

#define NATSUME_BOOT_INFO_MAGIC      0x4f4f42534d54414eull  // "NATMSBOO"
#define NATSUME_BOOT_INFO_VERSION    4u
#define NATSUME_GUEST_BOOT_INFO_GPA  0x1000u
#define NATSUME_GUEST_GDT_GPA        0x2000u
// Selectors of the boot GDT at NATSUME_GUEST_GDT_GPA (the entry contract above).
#define NATSUME_GUEST_SEL_CODE64     0x08u
#define NATSUME_GUEST_SEL_DATA       0x10u
#define NATSUME_GUEST_SEL_TSS        0x18u
#define NATSUME_GUEST_PML4_GPA       0x3000u
#define NATSUME_GUEST_BOOT_STACK_TOP 0x10000u
#define NATSUME_GUEST_IMAGE_MIN_GPA  0x100000u

#define NATSUME_BOOT_MAX_DEVICES  8u
#define NATSUME_BOOT_MAX_CHANNELS 8u

#define NATSUME_CONSOLE_HYPERCALL 1u  // write through NATSUME_HC_CONSOLE_WRITE
#define NATSUME_CONSOLE_UART      2u  // the partition owns a 16550 at console_port

// A PCI function the partition owns. Its config space is reachable through
// ports 0xCF8/0xCFC (filtered by the hypervisor); its memory BARs are mapped
// uncached at their physical addresses, its I/O BARs opened.
struct natsume_boot_device {
    uint16_t bdf;  // bus << 8 | device << 3 | function
    uint16_t vendor_id;
    uint16_t device_id;
    uint16_t flags;  // NATSUME_DEVICE_* from config_blob.h
    uint32_t gsi;    // IOAPIC input of its INTx pin, 0xffffffff when it has none
    // Version 4: an IDE controller's channels in compatibility mode interrupt
    // on ISA lines (primary 14, secondary 15, edge-triggered, active high):
    // their IOAPIC inputs, NATSUME_BOOT_NO_LINE for a channel that has none.
    uint16_t legacy_gsi[2];
};
#define NATSUME_BOOT_NO_LINE 0xffffu

// A shared-memory channel this partition is one side of (config_blob.h).
// Its memory is mapped write-back at [gpa, gpa + size); its data area holds
// what the two sides agree on (docs/channels.md: the rings and the pages a
// request names by index, in place of Xen grant references).
struct natsume_boot_channel {
    char name[32];     // NUL-terminated, as in the partition file
    uint64_t gpa;      // where this partition sees it
    uint64_t size;     // bytes
    uint32_t id;       // the channel's number in the doorbell hypercalls
    uint32_t role;     // NATSUME_CHANNEL_FRONTEND or NATSUME_CHANNEL_BACKEND
    uint32_t peer_id;  // partition id of the other side
    uint32_t flags;    // NATSUME_CHANNEL_BACKEND_DMA when this side's devices may DMA into it
    // Version 4: the address this partition's devices reach the channel at
    // (NATSUME_CHANNEL_BACKEND_DMA only): its gpa when an IOMMU maps it into
    // their domain, its host-physical base when there is no IOMMU (the
    // devices then use host addresses, as in the identity DMA window); 0 when
    // they may not reach it.
    uint64_t dma_address;
};

struct natsume_boot_info {
    uint64_t magic;    // NATSUME_BOOT_INFO_MAGIC
    uint32_t version;  // NATSUME_BOOT_INFO_VERSION
    uint32_t size;     // sizeof(struct natsume_boot_info)
    char name[32];     // partition name, NUL-terminated
    uint32_t partition_id;
    uint32_t apic_id;       // local APIC ID of this vCPU's physical core
    uint64_t ram_size;      // guest-physical RAM is [0, ram_size)
    uint64_t tsc_khz;       // TSC frequency measured by the hypervisor
    uint32_t console;       // NATSUME_CONSOLE_*
    uint16_t console_port;  // I/O port of the UART when console == NATSUME_CONSOLE_UART
    uint16_t reserved0;
    uint64_t image_end;  // first gpa past the loaded ELF image (heap may start here)
    char cmdline[256];   // partition command line from the partition file, NUL-terminated
    // Version 2:
    uint64_t dma_base;  // identity-mapped window (gpa == hpa) for DMA buffers; 0 when none
    uint64_t dma_size;
    uint64_t ioapic_gpa;  // the (trapped) IOAPIC page the partition programs its pins through; 0 = none
    uint32_t device_count;
    uint32_t reserved1;
    struct natsume_boot_device devices[NATSUME_BOOT_MAX_DEVICES];
    // Version 3:
    uint32_t channel_count;
    uint32_t reserved2;
    struct natsume_boot_channel channels[NATSUME_BOOT_MAX_CHANNELS];
};
