// Decides whether a guest's write to the local APIC interrupt command
// register may reach hardware: a partition may send fixed IPIs to its own
// cores and nothing else. The all-including-self and all-excluding-self
// shorthands (Linux sends the latter for TLB shootdowns and function calls
// once all its CPUs are up) never reach hardware as written: they become one
// physical fixed IPI per core of the partition, which the caller sends.
//
// ICR layout: Intel SDM Vol. 3A 10.6.1 (figure 10-12); x2APIC form (one
// 64-bit MSR 0x830, 32-bit destination in bits 63:32): 10.12.9.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "drivers/x86/lapic.hpp"

namespace natsume::icr {

// The register's fields and modes: drivers/x86/lapic.hpp.
using drivers::lapic::DeliveryMode;
using drivers::lapic::Shorthand;

enum class Reason : uint8_t {
    Allowed,             // send the ICR as written
    PartitionBroadcast,  // allowed, as the fixed IPIs Verdict::fanout names; never as written
    ReservedBits,        // x2APIC: hardware would #GP; the guest's write faults instead
    NotFixed,            // SMI, NMI, INIT, SIPI, lowest priority or a reserved mode
    LogicalMode,         // logical destinations may name cores of other partitions
    Broadcast,           // the broadcast ID, or a shorthand from a core missing from the core list
    ForeignDestination,  // the physical destination is not one of the partition's cores
    IllegalVector,       // vectors 0..15: hardware reports a send-illegal-vector error
};

// Bits in Verdict::fanout: a broadcast reaches at most this many cores.
inline constexpr size_t MAX_FANOUT = 32;

struct Verdict {
    bool allow;
    const char* why;  // one sentence for the log
    Reason reason;
    // Reason::PartitionBroadcast: bit i set, send a physical fixed IPI with
    // the command's vector to Partition::apic_ids[i]; each core once (an ID
    // listed twice counts at its first index). 0 with PartitionBroadcast is
    // an all-excluding-self from a one-core partition: allowed, nothing to
    // send. Always 0 otherwise. Callers must branch on reason, not on fanout.
    uint32_t fanout = 0;
};

// The partition's cores: apic_ids[0..count) and the core doing the write.
// A shorthand broadcast is refused unless self is listed and count is at
// most MAX_FANOUT.
struct Partition {
    const uint32_t* apic_ids;
    size_t count;
    uint32_t self;
};

// An x2APIC ICR write (WRMSR 0x830).
Verdict check_x2apic(uint64_t icr, const Partition&);
// An xAPIC ICR write: the low dword being written (it sends the IPI) and the
// current ICR high dword (destination in bits 31:24).
Verdict check_xapic(uint32_t low, uint32_t high, const Partition&);

}  // namespace natsume::icr
