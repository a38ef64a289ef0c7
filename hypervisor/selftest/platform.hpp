// What the self-test's boot code found, for the test cases.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "lib/acpi.hpp"
#include "lib/dmar.hpp"

namespace natsume::selftest {

struct Platform {
    acpi::Madt madt;
    dmar::Dmar dmar;
    bool dmar_found;
    uint32_t bsp_apic_id;
    uint32_t ap_apic_id;  // the first application processor, if any
    bool ap_online;
    unsigned expected_levels;    // from the command line "vtd-levels=N", 0 = any
    bool register_invalidation;  // command line "vtd-register-invalidation": no queued invalidation
    bool emulator_is_qemu;       // CPUID hypervisor leaf says TCG or KVM: QEMU's intel-iommu model
};

// Interrupts seen by selftest_irq, per test vector.
struct IrqLog {
    volatile uint32_t count;
    volatile uint32_t apic_id;  // core it last arrived on
};
IrqLog& irq_log(uint8_t vector);

// Runs every test case; returns the number that failed.
unsigned run_tests(Platform& p, unsigned& passed);

}  // namespace natsume::selftest
