// Natsume hypercall ABI, shared by the hypervisor and every guest.
//
// A guest issues VMCALL with the call number in RAX and up to three
// arguments in RDI, RSI, RDX. The result comes back in RAX: a value >= 0 on
// success, a negative NATSUME_E* code on failure. Unknown numbers return
// NATSUME_ENOSYS; a hypercall never stops the calling guest unless it asks to.
// Only the guest kernel may call: VMCALL at CPL > 0 returns NATSUME_EPERM.
#pragma once
#include <stdint.h>

#define NATSUME_HC_CONSOLE_WRITE  0u  // rdi = gpa of bytes, rsi = length (<= 4096) -> bytes written
#define NATSUME_HC_PARTITION_INFO 1u  // rdi = gpa of struct natsume_partition_info -> 0
#define NATSUME_HC_STOP_SELF      2u  // rdi = exit code; does not return
#define NATSUME_HC_STATS_PRINT    3u  // prints this partition's exit counters on the hypervisor console -> 0
#define NATSUME_HC_STATS_READ     4u  // rdi = gpa of struct natsume_stats -> 0
#define NATSUME_HC_CHANNEL_BIND   5u  // rdi = channel id, rsi = vector (0x10-0xFE; 0 unbinds) -> 0
#define NATSUME_HC_DOORBELL       6u  // rdi = channel id -> 0: the peer's bound vector sent to the peer's core
#define NATSUME_HC_COUNT          7u

#define NATSUME_OK       0
#define NATSUME_EPERM    (-1)    // not allowed for this caller (e.g. from guest user mode, CPL > 0)
#define NATSUME_ENOSYS   (-38)   // unknown hypercall number
#define NATSUME_EFAULT   (-14)   // a guest address is outside the partition's RAM
#define NATSUME_EINVAL   (-22)   // a bad argument (length, flags)
#define NATSUME_ENOENT   (-2)    // no such channel, or the caller is not one of its sides
#define NATSUME_ENOTCONN (-107)  // doorbell: the peer has bound no vector, or has stopped
#define NATSUME_EAGAIN   (-11)   // doorbell: over the channel's rate limit; dropped, counted

#define NATSUME_CONSOLE_WRITE_MAX 4096u

// CPUID leaf 0x40000000 returns the highest Natsume leaf in EAX and the
// signature "NatsumeVMM\0\0" in EBX, ECX, EDX; leaf 0x40000001 returns the
// version as (major << 16) | minor in EAX.
#define NATSUME_CPUID_BASE    0x40000000u
#define NATSUME_CPUID_VERSION 0x40000001u
#define NATSUME_CPUID_SIG_EBX 0x7374614eu  // "Nats"
#define NATSUME_CPUID_SIG_ECX 0x56656d75u  // "umeV"
#define NATSUME_CPUID_SIG_EDX 0x0000004du  // "M\0\0\0"
#define NATSUME_VERSION_MAJOR 0u
#define NATSUME_VERSION_MINOR 1u

// Counters of the calling partition since it started (NATSUME_HC_STATS_READ).
#define NATSUME_STATS_EXIT_REASONS 80u
struct natsume_stats {
    uint64_t exits_total;  // every VM exit of this partition's vCPU
    uint64_t hypercalls;
    uint64_t refused_io;
    uint64_t refused_msr;
    uint64_t refused_other;
    uint64_t nmis;                // NMI exits (hypervisor control)
    uint64_t console_dropped;     // console bytes the rate limit dropped (written, accepted, not printed)
    uint64_t refusals_unlogged;   // refusals counted but not logged (log rate limit)
    uint64_t doorbells_sent;      // doorbells this partition rang that reached the peer
    uint64_t doorbells_received;  // doorbells its peers rang to it
    uint64_t doorbells_refused;   // refused: unbound peer, stopped peer, rate limit, bad channel
    uint64_t exits[NATSUME_STATS_EXIT_REASONS];  // by basic exit reason (Intel SDM Vol. 3C, Appendix C)
};

struct natsume_partition_info {
    char name[32];          // NUL-terminated
    uint32_t partition_id;  // index in the partition file
    uint32_t apic_id;       // local APIC ID of the core this vCPU runs on
    uint64_t ram_size;      // guest-physical RAM is [0, ram_size)
    uint64_t tsc_khz;       // TSC frequency measured by the hypervisor at boot
};
