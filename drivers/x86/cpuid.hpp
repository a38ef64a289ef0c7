// CPUID leaves and the feature bits the hypervisor, its self-test and the
// guest kernel test (Intel SDM Vol. 2A, CPUID, Tables 3-8 "Information Returned
// by CPUID", 3-10 "Feature Information Returned in the ECX Register" and 3-11
// "... in the EDX Register"). One definition for every tree.
#pragma once
#include <stdint.h>

#include "drivers/x86/cpu.hpp"

namespace natsume::drivers::cpuid {
constexpr uint32_t bit(unsigned n) { return uint32_t{1} << n; }

namespace leaf {
inline constexpr uint32_t BASIC         = 0x00;  // EAX = highest basic leaf
inline constexpr uint32_t FEATURES      = 0x01;
inline constexpr uint32_t CACHE_PARAMS  = 0x04;        // deterministic cache parameters
inline constexpr uint32_t STRUCTURED    = 0x07;        // structured extended features
inline constexpr uint32_t TOPOLOGY      = 0x0B;        // extended topology enumeration
inline constexpr uint32_t XSAVE         = 0x0D;        // subleaf 0: EDX:EAX = supported XCR0 bits
inline constexpr uint32_t TSC_CRYSTAL   = 0x15;        // EAX/EBX = TSC/crystal ratio, ECX = crystal Hz
inline constexpr uint32_t FREQUENCY     = 0x16;        // EAX = base frequency in MHz (a name, not a measurement)
inline constexpr uint32_t HYPERVISOR    = 0x40000000;  // reserved for hypervisors (SDM: "invalid" on bare metal)
inline constexpr uint32_t EXT_MAX       = 0x80000000;  // EAX = highest extended leaf
inline constexpr uint32_t EXT_FEATURES  = 0x80000001;
inline constexpr uint32_t ADDRESS_SIZES = 0x80000008;  // EAX[7:0] = MAXPHYADDR
}  // namespace leaf

// CPUID.1:ECX
namespace ecx1 {
inline constexpr uint32_t MONITOR      = bit(3);   // MONITOR/MWAIT (SDM Vol. 2B)
inline constexpr uint32_t VMX          = bit(5);   // SDM 23.6 "Discovering support for VMX"
inline constexpr uint32_t PDCM         = bit(15);  // IA32_PERF_CAPABILITIES
inline constexpr uint32_t X2APIC       = bit(21);
inline constexpr uint32_t TSC_DEADLINE = bit(24);
inline constexpr uint32_t XSAVE        = bit(26);
inline constexpr uint32_t OSXSAVE      = bit(27);  // CR4.OSXSAVE as the reading software's OS set it
inline constexpr uint32_t HYPERVISOR   = bit(31);  // set by hypervisors, zero on bare metal
}  // namespace ecx1

// CPUID.1:EDX
namespace edx1 {
inline constexpr uint32_t MCE  = bit(7);   // machine-check exception
inline constexpr uint32_t APIC = bit(9);   // an on-chip local APIC
inline constexpr uint32_t MTRR = bit(12);  // memory type range registers
inline constexpr uint32_t MCA  = bit(14);  // machine-check architecture (IA32_MCG_* and banks)
}  // namespace edx1

// CPUID.7.0:EBX and EDX
namespace ebx7 {
inline constexpr uint32_t SMEP    = bit(7);
inline constexpr uint32_t INVPCID = bit(10);
inline constexpr uint32_t SMAP    = bit(20);
}  // namespace ebx7
namespace ecx7 {
inline constexpr uint32_t OSPKE = bit(4);  // CR4.PKE as the reading software's OS set it
}  // namespace ecx7
namespace edx7 {
inline constexpr uint32_t L1D_FLUSH = bit(28);  // IA32_FLUSH_CMD exists
}  // namespace edx7

// CPUID.80000001H:EDX
namespace edx81 {
inline constexpr uint32_t NX     = bit(20);  // execute-disable
inline constexpr uint32_t RDTSCP = bit(27);
}  // namespace edx81

// The features callers test, each behind the leaf-range check it needs (a
// leaf above the highest one returns another leaf's data, SDM CPUID "INPUT EAX").
inline bool has_structured(uint32_t ebx_bits) {
    return x86::cpuid(leaf::BASIC).eax >= leaf::STRUCTURED && (x86::cpuid(leaf::STRUCTURED, 0).ebx & ebx_bits);
}
inline bool has_structured_edx(uint32_t edx_bits) {
    return x86::cpuid(leaf::BASIC).eax >= leaf::STRUCTURED && (x86::cpuid(leaf::STRUCTURED, 0).edx & edx_bits);
}
inline bool has_extended(uint32_t edx_bits) {
    return x86::cpuid(leaf::EXT_MAX).eax >= leaf::EXT_FEATURES && (x86::cpuid(leaf::EXT_FEATURES).edx & edx_bits);
}
inline bool has_ecx1(uint32_t ecx_bits) { return x86::cpuid(leaf::FEATURES).ecx & ecx_bits; }

// MAXPHYADDR, 36 when the leaf is absent (SDM Vol. 3A 4.1.4).
inline uint8_t maxphyaddr() {
    if (x86::cpuid(leaf::EXT_MAX).eax < leaf::ADDRESS_SIZES) return 36;
    return static_cast<uint8_t>(x86::cpuid(leaf::ADDRESS_SIZES).eax & 0xff);
}
}  // namespace natsume::drivers::cpuid
