#include "linux_cpu.hpp"

#include "drivers/x86/cpuid.hpp"
#include "drivers/x86/msr.hpp"

namespace natsume::linux_cpu {
namespace {

namespace cpuid = drivers::cpuid;
namespace msr   = drivers::msr;

// IA32_MISC_ENABLE: fast strings on, branch trace and PEBS unavailable (SDM Vol. 4 table 2-2).
constexpr uint64_t MISC_ENABLE_VALUE = msr::bit(0) | msr::bit(11) | msr::bit(12);

constexpr uint32_t THERMAL_POWER_LEAF = 0x6, PERFMON_LEAF = 0xa;

uint32_t low32(uint64_t v) { return v > 0xffffffffull ? 0xffffffffu : static_cast<uint32_t>(v); }

}  // namespace

void adjust(uint32_t leaf, Leaf& r, const Rates& rates) {
    const bool rates_known = rates.tsc_khz && rates.lapic_timer_khz;
    if (leaf == 0) {
        if (rates_known && r.eax < FREQUENCY_LEAF) r.eax = FREQUENCY_LEAF;
        return;
    }
    if (leaf == 1) {
        r.edx &= ~(cpuid::edx1::MCE | cpuid::edx1::MCA | cpuid::edx1::MTRR);
        r.ecx &= ~cpuid::ecx1::PDCM;
        return;
    }
    if (leaf == THERMAL_POWER_LEAF || leaf == PERFMON_LEAF) {
        r = {};
        return;
    }
    if (leaf == TSC_LEAF && rates_known) {
        // crystal = the APIC timer's input; TSC / crystal = EBX / EAX.
        r = {low32(rates.lapic_timer_khz), low32(rates.tsc_khz), low32(rates.lapic_timer_khz * 1000), 0};
        return;
    }
    if (leaf == FREQUENCY_LEAF && rates_known) {
        r = {low32(rates.tsc_khz / 1000), low32(rates.tsc_khz / 1000), low32(rates.lapic_timer_khz / 1000), 0};
        return;
    }
    // Leaves the raised maximum now covers but the hardware does not have.
    if (leaf < 0x40000000u && leaf > rates.host_max_leaf) r = {};
}

bool read_msr(uint32_t m, uint64_t& value) {
    switch (m) {
    case msr::IA32_MISC_ENABLE: value = MISC_ENABLE_VALUE; return true;
    case msr::IA32_BIOS_SIGN_ID:
    case msr::IA32_PLATFORM_ID:
    // Linux checks TSC_ADJUST once a second on each CPU where CPUID names it;
    // the partition's TSC has no offset, and the hypervisor's is not its to see.
    case msr::IA32_TSC_ADJUST: value = 0; return true;
    default: return false;
    }
}

bool write_msr_dropped(uint32_t m, uint64_t) {
    // Linux writes 0 to the microcode signature before reading it back, and
    // toggles IA32_MISC_ENABLE bits it may own on bare metal.
    return m == msr::IA32_BIOS_SIGN_ID || m == msr::IA32_MISC_ENABLE;
}

}  // namespace natsume::linux_cpu
