// The machine description: what probe found on the target machine, written
// as machine.toml (docs/probe.md) and read back by `check --machine`. Plain
// data; every fact is one the hypervisor also learns at boot (MADT, memory
// map, PCI enumeration, DMAR), plus what only Linux knows (SMT siblings from
// /proc/cpuinfo, IOMMU groups, its interrupt routing).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vmm-tools/probe/memmap.hpp"

namespace natsume::probe {

struct Core {
    uint32_t apic_id = 0;
    bool enabled     = true;                // MADT: enabled (or online capable)
    std::optional<uint32_t> package, core;  // from /proc/cpuinfo; absent for a CPU Linux did not bring up
    std::vector<uint32_t> siblings;         // APIC IDs of the other hardware threads of this core
};

struct CpuFeatures {
    std::string model;
    bool vmx = false, ept = false, unrestricted_guest = false, x2apic = false;
};

struct Ioapic {
    uint32_t id = 0, address = 0, gsi_base = 0;
};

// MADT interrupt source override: ISA IRQ `isa_irq` arrives on `gsi`.
struct IsaOverride {
    uint8_t isa_irq = 0;
    uint32_t gsi    = 0;
    uint16_t flags  = 0;  // MPS INTI flags (polarity, trigger)
};

struct EcamRange {
    uint64_t base     = 0;
    uint16_t segment  = 0;
    uint8_t start_bus = 0, end_bus = 0;
};

// How the hypervisor can tell that a device on a shared INTx line asserted
// (hypervisor/arch/x86/shared_intx.cpp, check_for).
enum class IntxCheck : uint8_t {
    StatusBit,  // PCI status bit 3 (PCI Express, or command bit 10 already set)
    E1000Icr,   // 8254x: the read-to-clear ICR in its memory BAR 0
    Unknown,    // not known offline (a conventional PCI device: it may have bit 3; the boot tries)
};

struct PciFunction {
    uint16_t bdf = 0, vendor = 0, device = 0;
    uint32_t class_code = 0;  // class << 16 | subclass << 8 | prog_if
    uint8_t revision = 0, header_type = 0;
    bool bridge           = false;                   // header type 1 or 2: never assignable
    uint8_t secondary_bus = 0, subordinate_bus = 0;  // bridges
    uint8_t intx_pin  = 0;                           // 0 none, 1..4 INTA#..INTD#
    uint8_t intx_line = 0xff;                        // Interrupt Line register as firmware left it
    std::optional<uint32_t> intx_gsi;   // as the hypervisor resolves it: Interrupt Line and the MADT overrides
    std::optional<uint32_t> linux_gsi;  // where Linux routes the pin (ACPI _PRT), when it uses INTx
    bool msi = false, msix = false, pcie = false;
    IntxCheck intx_check = IntxCheck::Unknown;
    std::optional<uint16_t> behind;  // the bridge whose secondary bus this function is on
    std::optional<uint32_t> iommu_group;
    bool in_scan = true;  // reached by the hypervisor's enumeration (bus 0 and below programmed bridges)
    [[nodiscard]] uint8_t base_class() const { return static_cast<uint8_t>(class_code >> 16); }
    [[nodiscard]] uint8_t subclass() const { return static_cast<uint8_t>(class_code >> 8); }
};

struct VtdUnit {
    uint64_t base        = 0;
    uint16_t segment     = 0;
    bool include_pci_all = false;
    std::vector<uint16_t> devices;      // PCI endpoint scopes, resolved to BDFs
    std::optional<uint64_t> cap, ecap;  // registers, when Linux exposes them (/sys/class/iommu)
};

struct Rmrr {
    uint64_t base = 0, limit = 0;  // limit: last byte, as in the table
    std::vector<uint16_t> devices;
};

struct Vtd {
    bool present               = false;  // a DMAR with at least one unit: DMA remapping
    uint8_t host_address_width = 0;
    bool intr_remap_flag       = false;  // the DMAR's INTR_REMAP flag
    std::vector<VtdUnit> units;
    std::vector<Rmrr> rmrrs;
    bool ir_usable = false;     // interrupt remapping as the hypervisor would decide it
    std::string ir_off_reason;  // why not, when present and not usable
};

struct Machine {
    std::string source;     // the root probed
    uint32_t bsp      = 0;  // APIC ID of the boot processor: stays with the hypervisor
    uint8_t smt_shift = 0;  // low APIC ID bits numbering a core's threads (0: no SMT)
    CpuFeatures cpu;
    std::vector<Core> cores;
    std::vector<MemoryRange> memory;
    std::vector<Ioapic> ioapics;
    std::vector<IsaOverride> overrides;
    std::vector<EcamRange> ecam;
    std::vector<PciFunction> pci;
    Vtd vtd;

    [[nodiscard]] const PciFunction* function(uint16_t bdf) const {
        for (const PciFunction& f : pci)
            if (f.bdf == bdf) return &f;
        return nullptr;
    }
};

}  // namespace natsume::probe
