// Local vector table entries a partition may program (SDM Vol. 3A 10.5.1,
// Figure 10-8). The CMCI, thermal, performance-counter, LINT0 and LINT1
// entries carry a delivery mode in bits 10:8: SMI would enter firmware, NMI
// is the hypervisor's control path to a core, INIT resets it, and ExtINT
// takes vectors from a legacy 8259 no partition owns. Only Fixed is allowed
// there; the timer and error entries have no delivery mode field.
#pragma once
#include <stdint.h>

#include "drivers/x86/lapic.hpp"

namespace natsume::lvt {

// Offsets of the entries in the xAPIC page (drivers/x86/lapic.hpp); the
// x2APIC MSR is 0x800 + offset / 16.
namespace reg = drivers::lapic;

constexpr bool has_delivery_mode(uint32_t offset) {
    return offset == reg::offset(reg::Reg::LvtCmci) || offset == reg::offset(reg::Reg::LvtThermal) ||
           offset == reg::offset(reg::Reg::LvtPerf) || offset == reg::offset(reg::Reg::LvtLint0) ||
           offset == reg::offset(reg::Reg::LvtLint1);
}

// Why a write of value to the entry at offset is refused, or nullptr. A
// masked entry cannot deliver and is allowed (Linux parks LINT0 as masked
// ExtINT): unmasking it is another write, checked again. Callers drop a
// refused write rather than fault, as a guest expects the write to work.
const char* refuse_reason(uint32_t offset, uint32_t value);

}  // namespace natsume::lvt
