// Device-side test modes: test=pci, e1000, bench-irq, load-cpu, load-irq, load-attack,
// attack-pci, attack-ioapic, attack-ipi, shared-line-rt, shared-line-gp,
// shared-line-native.
#pragma once

namespace natsume::guest::device_tests {
// Returns false when no device test has that name.
[[nodiscard]] bool run(const char* name);
}  // namespace natsume::guest::device_tests
