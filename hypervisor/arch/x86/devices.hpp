// PCI devices at boot: the platform inventory, and each partition's devices
// resolved against it (BDF, identity, INTx GSI), its virtual config space and
// its virtual IOAPIC.
#pragma once
#include "lib/acpi.hpp"
#include "lib/pci.hpp"
#include "partition/partition.hpp"

namespace natsume::x86::devices {

// Enumerates and sizes every PCI function and prints the inventory.
void scan(const pci::ConfigAccess& hw);
const pci::Inventory& inventory();

// INTx GSI of a function: the Interrupt Line register's ISA IRQ through the
// MADT's interrupt source overrides; NO_GSI when it has no INTx pin or no line.
uint32_t resolve_gsi(const pci::Function& fn, const acpi::Madt& madt);

// Fills p.devices from its partition-file entries. False with a sentence when a
// device is missing or differs from what the file expects.
[[nodiscard]] bool resolve(Partition& p, const acpi::Madt& madt, char* why, size_t why_size);

// Virtual config space and IOAPIC of a partition whose devices are resolved.
// remap: interrupt remapping will be on (this machine has it): its IOAPIC
// pins get remappable-format entries, and each MSI / kept MSI-X entry of its
// devices a remapping entry of its own with the device as source-id.
[[nodiscard]] bool attach(Partition& p, const pci::ConfigAccess& hw, bool remap, char* why, size_t why_size);

// A partition's access to the MSI-X table pages of one of its devices:
// true when gpa is on such a page (value read or written, refusal reported).
[[nodiscard]] bool msix_access(Partition& p, uint64_t gpa, bool write, uint8_t size, uint64_t& value, bool& refused,
                               const char*& why);

// A stopped partition's devices can no longer keep anyone busy: bus
// mastering off, INTx disabled, MSI disabled, MSI-X function-masked, and
// its unshared IOAPIC pins masked. Returns how many functions were quiesced.
uint32_t quiesce(Partition& p);

}  // namespace natsume::x86::devices
