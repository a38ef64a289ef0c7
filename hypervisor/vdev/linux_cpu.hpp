// What a Linux partition's CPUID and a few MSRs say, beyond what every
// partition sees (exits.cpp, exit_msr.cpp). Linux reads the TSC and local
// APIC timer rates from CPUID leaf 0x15 (Linux arch/x86/kernel/tsc.c,
// native_calibrate_tsc: tsc = crystal * EBX / EAX, and the APIC timer period
// from the crystal) instead of calibrating against a PIT it does not have
// here; machine checks, MTRRs, performance monitoring and power management
// belong to the hypervisor, so their leaves and bits read as absent. Linux
// reads IA32_MISC_ENABLE and the microcode signature without a fault handler:
// they get fixed, harmless values and writes to them are dropped. Pure:
// host-tested.
#pragma once
#include <stdint.h>

namespace natsume::linux_cpu {

struct Leaf {
    uint32_t eax, ebx, ecx, edx;
};

struct Rates {
    uint64_t tsc_khz;
    uint64_t lapic_timer_khz;  // the APIC timer's input, divide by 1 (0: unknown)
    uint32_t host_max_leaf;    // CPUID.0:EAX on the hardware
};

inline constexpr uint32_t TSC_LEAF = 0x15, FREQUENCY_LEAF = 0x16;

// Adjusts r, the hardware's answer to (leaf, subleaf), in place.
void adjust(uint32_t leaf, Leaf& r, const Rates& rates);

// Emulated MSRs: true with the value for a read / when the write is dropped.
bool read_msr(uint32_t msr, uint64_t& value);
bool write_msr_dropped(uint32_t msr, uint64_t value);

}  // namespace natsume::linux_cpu
