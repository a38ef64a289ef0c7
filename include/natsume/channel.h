// Channel facts shared by the partition file (config_blob.h), the boot
// information (bootinfo.h) and the doorbell hypercalls (hypercall.h).
#pragma once

#define NATSUME_CHANNEL_MAX            16u  // channels in one partition file; ids are 0 .. count - 1
#define NATSUME_CHANNEL_FRONTEND       0u   // a side's role, and its index in natsume_config_channel.ends
#define NATSUME_CHANNEL_BACKEND        1u
#define NATSUME_CHANNEL_BACKEND_DMA    0x0001u  // the backend's devices may DMA into the channel
#define NATSUME_CHANNEL_FLAGS          0x0001u  // every defined bit
// Guest addresses a channel may take: above the side's RAM, below the 32 MiB
// under 4 GiB that hold the local APIC, IOAPIC and firmware (the boot page
// tables map [0, 4 GiB), that window uncached).
// A side's doorbells: a burst, then a rate (per second); the rest are
// refused. The rate bounds the interrupts a hostile side can send its peer.
#define NATSUME_CHANNEL_DOORBELL_BURST 256u
#define NATSUME_CHANNEL_DOORBELL_RATE  200000u  // the default; a channel may set its own
#define NATSUME_CHANNEL_GPA_LIMIT      0xFE000000ull
