// VT-d in the hypervisor's boot: find the remapping units (ACPI DMAR), then,
// once every partition's devices are known and before any application
// processor starts, put each partition's devices in a DMA domain of their
// own and turn translation on. Interrupt remapping of the partitions' IOAPIC
// pins follows where the hardware has it and no erratum forbids it.
//
// Boot order (main.cpp):
//   ACPI, PCI enumeration -> detect() -> partition file checked against the
//   platform (iommu = present, RMRRs) -> partitions built -> setup_platform()
//   -> VMX check, application processors, launch.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "common/config/validate.hpp"
#include "lib/acpi.hpp"
#include "lib/dmar.hpp"
#include "lib/pci.hpp"
#include "partition/partition.hpp"
#include "vdev/msi_route.hpp"

namespace natsume::x86::vtd {

struct PlatformInfo {
    bool present;  // a DMAR with at least one usable unit
    uint32_t units;
    bool ir_capable;  // every unit has IR + QI, DMAR allows it, no IOH erratum
    bool eim;         // every unit has EIM: x2APIC (32-bit) IRTE destinations
    char summary[160];
    // Host-physical ranges firmware keeps DMA-ing to (RMRRs), for the validator.
    config::Range rmrr[dmar::MAX_RMRRS];
    size_t rmrr_count;
};

// Boot CPU, after ACPI and PCI enumeration, before the partition file is
// checked against the platform: finds the DMAR, decodes the units (reads
// CAP/ECAP only, no hardware writes yet), prints them, fills the RMRRs.
// No DMAR is not an error: out.present stays false. False (with a sentence in
// why) for a DMAR that is present but unusable.
[[nodiscard]] bool detect(const acpi::PhysMem&, const acpi::Tables&, const pci::Inventory&, PlatformInfo& out,
                          char* why, size_t n);

// After every partition's devices are resolved and before any application
// processor starts: one second-level domain per partition (gpa [0, ram_size)
// -> ram_base, DMA window identity), each owned device attached by its BDF,
// RMRRs identity-mapped for their devices (owner's domain, or a hypervisor
// domain for unassigned devices), every other requester blocked (no context
// entry), translation enabled on every unit; then interrupt remapping when
// usable. Prints one line per partition. Without VT-d it only says, loudly,
// that DMA is not isolated.
[[nodiscard]] bool setup_platform(const PlatformInfo&, Partition* parts, uint32_t count, char* why, size_t n);

// True once setup_platform turned interrupt remapping on: IOAPIC pins, shared
// lines, MSI and MSI-X are then programmed in remappable format.
bool interrupt_remapping_on();
// Fault events of every unit go to the boot core as this vector; the boot
// core then drains and logs every record with the partition owning the device.
void enable_fault_events(uint8_t vector, uint32_t boot_apic_id);
size_t drain_and_log_faults(const Partition* parts, uint32_t count);

// The first interrupt-remapping entry of the partition's IOAPIC pins (vioapic
// Config::irte_base): pin n of the IOAPIC uses entry irte_base_for(p) + n.
uint16_t irte_base_for(const Partition&);

// Programs the remapping entry `index` (irte_base_for(p) + pin) for a pin the
// partition owns: the guest's vector and trigger mode, destination `dest`
// (one of the partition's cores), source-id = the IOAPIC's requester id from the DMAR
// (an interrupt from anything else is blocked by the unit). Call before the
// physical entry is unmasked. False with a sentence when the index is not one
// of the partition's pins or the unit refused.
[[nodiscard]] bool program_irte(const Partition& p, uint16_t index, uint8_t vector, bool level, uint32_t dest,
                                char* why, size_t n);

// MSI and MSI-X: `count` consecutive remapping entries for one device, taken
// at boot (before setup_platform) from those above the IOAPIC pins. False
// with a sentence when the table is full.
[[nodiscard]] bool reserve_msi_entries(uint16_t count, uint16_t& first, char* why, size_t n);
// Points a reserved entry at apic_id with the guest's vector (fixed, edge,
// physical), source-id = the device's requester id bdf, so the unit blocks
// the message from any other requester; out is the message that names it.
// nullptr, or why it was refused.
const char* route_device_msi(uint16_t bdf, uint16_t index, uint8_t vector, uint32_t apic_id, msi::Message& out);
// A shared INTx line taken by the boot core: its pin's entry to apic_id with
// vector (level, source-id = the IOAPIC), and the remappable redirection
// entry to write (unmasked). nullptr, or why it was refused.
const char* program_shared_line(uint32_t gsi, uint8_t vector, uint32_t apic_id, uint64_t& rte);

// Pure pieces, host-tested.
// The IOVA ranges a partition's domain maps, as [base, base+size): guest RAM
// at 0 and the identity DMA window. True when [base, limit] (inclusive, as in
// an RMRR) overlaps either, i.e. the region cannot be identity-mapped there.
constexpr bool iova_taken(uint64_t ram_size, uint64_t dma_base, uint64_t dma_size, uint64_t base, uint64_t limit) {
    bool in_ram    = base < ram_size;
    bool in_window = dma_size != 0 && base < dma_base + dma_size && limit >= dma_base;
    return in_ram || in_window;
}
// Domain id of partition `index`; 0 is left unused (caching-mode units tag
// not-present entries with it) and the hypervisor's own domain comes last.
constexpr uint16_t partition_domain_id(uint32_t index) { return static_cast<uint16_t>(index + 1); }
inline constexpr uint16_t HYPERVISOR_DOMAIN_ID = NATSUME_CONFIG_MAX_PARTITIONS + 1;

}  // namespace natsume::x86::vtd
