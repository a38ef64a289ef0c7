// Architectural MSR numbers and the bits of the ones the hypervisor and the
// guest kernel both program (Intel SDM Vol. 4, Table 2-2; bit layouts as
// cited at each). One definition for every tree.
#pragma once
#include <stdint.h>

#include "drivers/x86/lapic.hpp"

namespace natsume::drivers::msr {
constexpr uint64_t bit(unsigned n) { return uint64_t{1} << n; }

inline constexpr uint32_t IA32_TSC                     = 0x010;
inline constexpr uint32_t IA32_APIC_BASE               = 0x01B;
inline constexpr uint32_t IA32_PLATFORM_ID             = 0x017;
inline constexpr uint32_t IA32_FEATURE_CONTROL         = 0x03A;
inline constexpr uint32_t IA32_TSC_ADJUST              = 0x03B;
inline constexpr uint32_t IA32_BIOS_SIGN_ID            = 0x08B;  // microcode update signature
inline constexpr uint32_t IA32_FLUSH_CMD               = 0x10B;
inline constexpr uint32_t IA32_SYSENTER_CS             = 0x174;
inline constexpr uint32_t IA32_SYSENTER_ESP            = 0x175;
inline constexpr uint32_t IA32_SYSENTER_EIP            = 0x176;
inline constexpr uint32_t IA32_DEBUGCTL                = 0x1D9;
inline constexpr uint32_t IA32_MISC_ENABLE             = 0x1A0;
inline constexpr uint32_t IA32_PAT                     = 0x277;
inline constexpr uint32_t IA32_PERF_GLOBAL_CTRL        = 0x38F;
inline constexpr uint32_t IA32_VMX_BASIC               = 0x480;
inline constexpr uint32_t IA32_VMX_PINBASED_CTLS       = 0x481;
inline constexpr uint32_t IA32_VMX_PROCBASED_CTLS      = 0x482;
inline constexpr uint32_t IA32_VMX_EXIT_CTLS           = 0x483;
inline constexpr uint32_t IA32_VMX_ENTRY_CTLS          = 0x484;
inline constexpr uint32_t IA32_VMX_MISC                = 0x485;
inline constexpr uint32_t IA32_VMX_CR0_FIXED0          = 0x486;
inline constexpr uint32_t IA32_VMX_CR0_FIXED1          = 0x487;
inline constexpr uint32_t IA32_VMX_CR4_FIXED0          = 0x488;
inline constexpr uint32_t IA32_VMX_CR4_FIXED1          = 0x489;
inline constexpr uint32_t IA32_VMX_VMCS_ENUM           = 0x48A;
inline constexpr uint32_t IA32_VMX_PROCBASED_CTLS2     = 0x48B;
inline constexpr uint32_t IA32_VMX_EPT_VPID_CAP        = 0x48C;
inline constexpr uint32_t IA32_VMX_TRUE_PINBASED_CTLS  = 0x48D;
inline constexpr uint32_t IA32_VMX_TRUE_PROCBASED_CTLS = 0x48E;
inline constexpr uint32_t IA32_VMX_TRUE_EXIT_CTLS      = 0x48F;
inline constexpr uint32_t IA32_VMX_TRUE_ENTRY_CTLS     = 0x490;
inline constexpr uint32_t IA32_VMX_VMFUNC              = 0x491;
inline constexpr uint32_t IA32_TSC_DEADLINE            = 0x6E0;
inline constexpr uint32_t X2APIC_FIRST                 = lapic::X2APIC_MSR_FIRST;
inline constexpr uint32_t X2APIC_LAST                  = lapic::X2APIC_MSR_LAST;
inline constexpr uint32_t X2APIC_ICR                   = lapic::x2apic_msr(lapic::Reg::IcrLow);
inline constexpr uint32_t IA32_EFER                    = 0xC000'0080;
inline constexpr uint32_t IA32_STAR                    = 0xC000'0081;
inline constexpr uint32_t IA32_LSTAR                   = 0xC000'0082;
inline constexpr uint32_t IA32_CSTAR                   = 0xC000'0083;
inline constexpr uint32_t IA32_FMASK                   = 0xC000'0084;
inline constexpr uint32_t IA32_FS_BASE                 = 0xC000'0100;
inline constexpr uint32_t IA32_GS_BASE                 = 0xC000'0101;
inline constexpr uint32_t IA32_KERNEL_GS_BASE          = 0xC000'0102;
inline constexpr uint32_t IA32_TSC_AUX                 = 0xC000'0103;

// IA32_FEATURE_CONTROL bits (SDM 23.7).
namespace feature_control {
inline constexpr uint64_t LOCK            = bit(0);
inline constexpr uint64_t VMX_INSIDE_SMX  = bit(1);
inline constexpr uint64_t VMX_OUTSIDE_SMX = bit(2);
}  // namespace feature_control

// IA32_EFER bits (SDM Vol. 3A 2.2.1).
namespace efer {
inline constexpr uint64_t SCE = bit(0);
inline constexpr uint64_t LME = bit(8);
inline constexpr uint64_t LMA = bit(10);
inline constexpr uint64_t NXE = bit(11);
}  // namespace efer

// IA32_APIC_BASE bits (SDM Vol. 3A 10.4.4).
namespace apic_base {
inline constexpr uint64_t BSP           = bit(8);
inline constexpr uint64_t X2APIC_ENABLE = bit(10);
inline constexpr uint64_t GLOBAL_ENABLE = bit(11);
inline constexpr uint64_t ADDRESS_MASK  = 0x000F'FFFF'FFFF'F000;
}  // namespace apic_base

}  // namespace natsume::drivers::msr
