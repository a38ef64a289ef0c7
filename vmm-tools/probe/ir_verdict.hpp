// Whether the hypervisor will turn interrupt remapping on, decided offline the
// way it decides at boot (hypervisor/arch/x86/vtd/platform.cpp): a DMAR with
// the INTR_REMAP flag, every unit with IR and queued invalidation (where Linux
// shows the ECAP register), no IOH erratum (hypervisor/arch/x86/vtd/erratum.hpp,
// the host bridge at 00:00.0), and a DMAR device scope for the first IOAPIC.
#pragma once
#include "hypervisor/lib/dmar.hpp"
#include "vmm-tools/probe/config_snapshot.hpp"
#include "vmm-tools/probe/machine.hpp"
#include "vmm-tools/probe/warning.hpp"

namespace natsume::probe {

// Sets m.vtd.ir_usable and ir_off_reason; adds IohErratum or IrUnusable
// warnings. `table` may be null (no DMAR).
void decide_interrupt_remapping(Machine& m, const dmar::Dmar* table, const ConfigSnapshot& config,
                                std::vector<Warning>& warnings);

}  // namespace natsume::probe
