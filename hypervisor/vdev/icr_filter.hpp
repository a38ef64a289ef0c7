// Decides whether a guest's write to the local APIC interrupt command
// register may reach hardware: a partition may send fixed IPIs to its own
// cores and nothing else.
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
    Allowed,
    ReservedBits,        // x2APIC: hardware would #GP; the guest's write faults instead
    NotFixed,            // SMI, NMI, INIT, SIPI, lowest priority or a reserved mode
    LogicalMode,         // logical destinations may name cores of other partitions
    Broadcast,           // all-including/excluding-self shorthands or the broadcast ID
    ForeignDestination,  // the physical destination is not one of the partition's cores
    IllegalVector,       // vectors 0..15: hardware reports a send-illegal-vector error
};

struct Verdict {
    bool allow;
    const char* why;  // one sentence for the log
    Reason reason;
};

// The partition's cores: apic_ids[0..count) and the core doing the write.
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
