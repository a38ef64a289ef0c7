// Where a PCI function's INTx pin lands, the way the hypervisor resolves it
// (hypervisor/arch/x86/devices.cpp resolve_gsi: the Interrupt Line register
// firmware programmed, then the MADT interrupt source overrides), and the way
// Linux reports it (its IRQ number: for an IOAPIC input below 16 the ISA IRQ
// the overrides map, above that the GSI itself).
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "vmm-tools/probe/machine.hpp"

namespace natsume::probe {

// ISA IRQ -> GSI (ACPI 6.5, 5.2.12.5: identity unless an override says otherwise).
[[nodiscard]] uint32_t isa_gsi(uint8_t irq, const std::vector<IsaOverride>& overrides);
// nullopt: no pin, or the line register says "unknown" (0xff).
[[nodiscard]] std::optional<uint32_t> hypervisor_gsi(uint8_t pin, uint8_t line,
                                                     const std::vector<IsaOverride>& overrides);
// Linux IRQ (sysfs `irq`) of a function using INTx -> GSI; nullopt for 0.
[[nodiscard]] std::optional<uint32_t> linux_irq_gsi(uint32_t irq, const std::vector<IsaOverride>& overrides);
// The line the device really raises. Where Linux routes the pin to an
// IOAPIC input of its own (GSI 16 and up, from an APIC-mode ACPI _PRT entry),
// that is the wiring, and firmware often leaves the PIC-mode IRQ in the
// Interrupt Line register. A Linux IRQ below 16 came through an ACPI
// interrupt link that Linux may have reprogrammed itself (_SRS): then the
// register, as firmware left it for the hypervisor, is the better guess.
// The draft writes intx_gsi where this differs from the register.
inline constexpr uint32_t FIRST_PCI_GSI = 16;
[[nodiscard]] inline std::optional<uint32_t> wired_gsi(const PciFunction& f) {
    if (f.linux_gsi && *f.linux_gsi >= FIRST_PCI_GSI) return f.linux_gsi;
    return f.intx_gsi ? f.intx_gsi : f.linux_gsi;
}

// A shared INTx line can be routed per device when at most one device on it
// cannot tell whether it asserted (shared_intx.cpp, plan).
[[nodiscard]] bool line_routable(const std::vector<const PciFunction*>& devices_on_line);

}  // namespace natsume::probe
