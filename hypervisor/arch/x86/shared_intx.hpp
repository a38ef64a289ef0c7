// INTx lines shared by devices of different partitions, routed per device
// (BDF), never per pin: the hypervisor takes the line on the boot core, asks
// each device on it whether it asserted, and forwards the interrupt only to
// the owner of the device that did.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/host_layout.h"
#include "partition/partition.hpp"

namespace natsume::x86::shared_intx {

// First of the boot core's vectors for shared lines (one per line): host_layout.h.
constexpr uint8_t VECTOR_BASE = HOST_VECTOR_SHARED_FIRST;
constexpr size_t MAX_LINES    = HOST_SHARED_LINES;

// Finds the lines that devices of different partitions share (after every
// partition's devices are resolved) and marks devices whose assertion check
// needs a trapped register page. False with a sentence when a line cannot be
// routed per device.
[[nodiscard]] bool plan(Partition* parts, uint32_t count, char* why, size_t n);
// Programs the physical IOAPIC entries of the shared lines to the boot core
// (through interrupt remapping when it is on). False with a sentence when a
// line's remapping entry was refused.
[[nodiscard]] bool activate(uint32_t boot_apic_id, char* why, size_t n);
bool is_shared(uint32_t gsi);
// Interrupt of shared line `index` on the boot core.
void handle(size_t index);
// The partition changed its virtual entry of this GSI: deliver what was held
// back while its pin was masked.
void guest_pin_changed(Partition& p, uint32_t gsi);
// Emulated read/write of a device register page the hypervisor had to trap
// (assertion check by a read-to-clear register): true when handled.
[[nodiscard]] bool register_access(Partition& p, uint64_t gpa, bool write, uint8_t size, uint32_t& value);
// Boot-core housekeeping while devices are held masked; true when polling is needed.
bool poll();

}  // namespace natsume::x86::shared_intx
