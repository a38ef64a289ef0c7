// natsume-config probe: everything the machine description holds, gathered
// from a live Linux system or a captured tree, plus the warnings it raises
// about the machine itself (the draft partition file adds its own).
#pragma once
#include <vector>

#include "vmm-tools/probe/machine.hpp"
#include "vmm-tools/probe/tree.hpp"
#include "vmm-tools/probe/warning.hpp"

namespace natsume::probe {

struct ProbeResult {
    Machine machine;
    std::vector<Warning> warnings;
};

// Fails with one sentence when a file probe needs is missing or unreadable
// (the MADT, /proc/cpuinfo, the memory map, the PCI devices).
[[nodiscard]] Result<ProbeResult> probe_machine(const Tree& tree);

}  // namespace natsume::probe
