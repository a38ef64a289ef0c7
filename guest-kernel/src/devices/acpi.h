// Just enough ACPI for the native path: the IOAPIC address from the MADT
// (ACPI 6.x, 5.2.5 RSDP, 5.2.7 RSDT, 5.2.12 MADT). A partition is told its
// IOAPIC page in the boot information instead.
#pragma once
#include <stdint.h>

namespace natsume::guest::acpi {
// Address of the IOAPIC with GSI base 0, or 0 when no MADT names one.
uint64_t ioapic_address();
}  // namespace natsume::guest::acpi
