// The hypervisor's view of its own local APIC: xAPIC MMIO or x2APIC MSRs,
// whichever mode the firmware left the core in (SDM Vol. 3A 10.4, 10.12).
#pragma once
#include <stdint.h>

namespace natsume::x86::lapic {

void init_this_core();  // software-enable, mask LINT0/LINT1 except on the BSP's NMI line
uint32_t id();
bool x2apic_mode();
uint64_t mmio_base();
void eoi();
// The local APIC timer's input rate in kHz (divide by 1), measured on this
// core against the TSC over `window_tsc` ticks; 0 when the timer did not count.
// Linux partitions are told it (CPUID leaf 0x15's crystal) instead of calibrating.
uint64_t measure_timer_khz(uint64_t tsc_khz, uint64_t window_tsc);

// Interrupt command (SDM Vol. 3A 10.6.1). Each returns false when the
// delivery-status bit did not clear before its deadline.
[[nodiscard]] bool send_init(uint32_t apic_id);
[[nodiscard]] bool send_sipi(uint32_t apic_id, uint8_t vector_page);
[[nodiscard]] bool send_fixed(uint32_t apic_id, uint8_t vector);
// An NMI: how one core of a partition makes another leave the guest (NMI exiting).
[[nodiscard]] bool send_nmi(uint32_t apic_id);

}  // namespace natsume::x86::lapic
