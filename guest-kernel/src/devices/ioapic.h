// The IOAPIC this kernel programs: natively the one the MADT names (or the
// conventional 0xFEC00000), in a partition the trapped page at
// boot info ioapic_gpa, where the hypervisor accepts only the pins of the
// partition's own devices.
#pragma once
#include <stdint.h>

#include "drivers/x86/ioapic.hpp"

namespace natsume::guest::ioapic {

// Registers and the redirection-entry type: drivers/x86/ioapic.hpp.
using namespace natsume::drivers::ioapic;

enum class Status : uint8_t { Ok, NoIoapic, BadPin };

// Finds the IOAPIC and maps its page uncached. Idempotent.
[[nodiscard]] Status init();
uint64_t base();
unsigned pins();

uint64_t read_entry(unsigned pin);
void write_entry(unsigned pin, uint64_t entry);
// Programs `pin` for PCI INTx (level, active low) with `vector`, physical
// destination this core; left masked.
[[nodiscard]] Status route_pci_intx(unsigned pin, uint8_t vector);
void mask(unsigned pin);
void unmask(unsigned pin);

}  // namespace natsume::guest::ioapic
