// The other cores of a multi-core Linux partition (docs/linux.md, "Several
// cores"). Linux starts its application processors through the ACPI
// multiprocessor wake-up mailbox its MADT names (ACPI 6.5 5.2.12.19), never
// with INIT and SIPI: each such core waits in VMX root operation on its own
// core until the mailbox names it, then enters the guest at the wake-up vector
// in 64-bit mode on the hypervisor's boot identity tables.
#pragma once
#include <stdint.h>

#include "arch/x86/percpu.hpp"
#include "partition/partition.hpp"

namespace natsume::x86::linux_ap {

// True with the wake-up vector once Linux asked for this core (the command is
// then cleared: Linux's acknowledgement); false when the partition stopped
// first. The mailbox is single-use per core (ACPI 6.5): a core Linux takes
// offline is not woken again.
[[nodiscard]] bool wait_for_wakeup(PerCpu& c, Partition& p, uint64_t& vector);

}  // namespace natsume::x86::linux_ap
