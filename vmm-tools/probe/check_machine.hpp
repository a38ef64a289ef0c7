// `natsume-config check FILE --machine machine.toml`: the boot-time checks of
// a partition file against a machine description, offline: validate_platform
// (cores, SMT siblings, RAM and DMA windows in usable memory and outside the
// hypervisor's zone and RMRRs, devices present with the right id and not
// bridges, DMA isolation), the acknowledgement the boot demands where
// interrupt remapping is off, and shared_intx_lines with the per-device
// routing rule of the boot core.
#pragma once
#include <string>
#include <vector>

#include "natsume/config_blob.h"
#include "vmm-tools/probe/machine.hpp"

namespace natsume::probe {

struct MachineFinding {
    std::string text;
    bool is_note  = false;
    uint32_t line = 0, column = 0;  // in the partition file; 0: not known
};

// The first refusal (the boot stops at it, so does this), or the notes.
[[nodiscard]] std::vector<MachineFinding> check_on_machine(const natsume_config_header* h, const Machine& m,
                                                           std::string_view partition_text);

}  // namespace natsume::probe
