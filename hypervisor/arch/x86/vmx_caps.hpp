// Pure decisions on VMX capability MSRs: control adjustment, CR fixed bits,
// IA32_VMX_BASIC / IA32_VMX_EPT_VPID_CAP decoding, IA32_FEATURE_CONTROL policy.
#pragma once

#include <stdint.h>

#include "vmx_defs.hpp"  // same directory: works with either include root

namespace natsume::x86 {

struct ControlAdjust {
    uint32_t value;    // what to write into the VMCS control field
    uint32_t missing;  // wanted bits the CPU cannot set
    uint32_t forced;   // bits the CPU forces on that were not wanted
};

// A capability MSR reports allowed-0 settings in bits 31:0 (a 1 there means the
// control must be 1) and allowed-1 settings in bits 63:32 (a 0 there means the
// control must be 0) (SDM A.3.1).
constexpr ControlAdjust adjust_controls(uint64_t cap_msr, uint32_t wanted) {
    uint32_t must_be_one = static_cast<uint32_t>(cap_msr);
    uint32_t may_be_one  = static_cast<uint32_t>(cap_msr >> 32);
    return ControlAdjust{(wanted | must_be_one) & may_be_one, wanted & ~may_be_one, must_be_one & ~wanted};
}

// CR0/CR4 in VMX operation: bits set in FIXED0 must be 1, bits clear in FIXED1
// must be 0 (SDM A.7, A.8).
constexpr uint64_t fixed_cr(uint64_t value, uint64_t fixed0, uint64_t fixed1) { return (value | fixed0) & fixed1; }

constexpr bool cr_ok(uint64_t value, uint64_t fixed0, uint64_t fixed1) {
    return (value & fixed0) == fixed0 && (value & ~fixed1) == 0;
}

// With "unrestricted guest" the guest may clear CR0.PE and CR0.PG even though
// IA32_VMX_CR0_FIXED0 reports them as fixed to 1 (SDM 26.3.1.1).
inline constexpr uint64_t CR0_PE = uint64_t{1} << 0;
inline constexpr uint64_t CR0_PG = uint64_t{1} << 31;

constexpr uint64_t guest_cr0_fixed0(uint64_t fixed0, bool unrestricted_guest) {
    return unrestricted_guest ? fixed0 & ~(CR0_PE | CR0_PG) : fixed0;
}

struct VmxBasic {
    uint32_t revision;     // VMCS revision identifier, first dword of VMXON region and VMCS
    uint32_t region_size;  // bytes to allocate for the VMXON region and each VMCS
    bool true_controls;    // IA32_VMX_TRUE_*_CTLS exist and may clear default1 bits
    uint8_t memory_type;   // memory type for VMCS accesses: 6 = WB
};

// IA32_VMX_BASIC (SDM A.1).
constexpr VmxBasic decode_vmx_basic(uint64_t msr) {
    return VmxBasic{static_cast<uint32_t>(msr & vmx_basic::REVISION_MASK),
                    static_cast<uint32_t>((msr & vmx_basic::REGION_SIZE_MASK) >> vmx_basic::REGION_SIZE_SHIFT),
                    (msr & vmx_basic::TRUE_CONTROLS) != 0,
                    static_cast<uint8_t>((msr & vmx_basic::MEMORY_TYPE_MASK) >> vmx_basic::MEMORY_TYPE_SHIFT)};
}

// Which capability MSR governs each control field: the TRUE_* MSR when
// IA32_VMX_BASIC bit 55 says it exists (SDM A.2).
constexpr uint32_t pin_controls_msr(const VmxBasic& b) {
    return b.true_controls ? msr::IA32_VMX_TRUE_PINBASED_CTLS : msr::IA32_VMX_PINBASED_CTLS;
}
constexpr uint32_t proc_controls_msr(const VmxBasic& b) {
    return b.true_controls ? msr::IA32_VMX_TRUE_PROCBASED_CTLS : msr::IA32_VMX_PROCBASED_CTLS;
}
constexpr uint32_t exit_controls_msr(const VmxBasic& b) {
    return b.true_controls ? msr::IA32_VMX_TRUE_EXIT_CTLS : msr::IA32_VMX_EXIT_CTLS;
}
constexpr uint32_t entry_controls_msr(const VmxBasic& b) {
    return b.true_controls ? msr::IA32_VMX_TRUE_ENTRY_CTLS : msr::IA32_VMX_ENTRY_CTLS;
}

// IA32_VMX_EPT_VPID_CAP (SDM A.10).
struct EptVpidCaps {
    bool execute_only;
    bool walk_length_4;
    bool memory_type_uc;
    bool memory_type_wb;
    bool pages_2m;
    bool pages_1g;
    bool invept;
    bool accessed_dirty;
    bool invept_single_context;
    bool invept_all_context;
    bool invvpid;
    bool invvpid_address;
    bool invvpid_single_context;
    bool invvpid_all_context;
    bool invvpid_single_context_keep_globals;
};

constexpr EptVpidCaps decode_ept_vpid_caps(uint64_t msr) {
    auto has = [msr](uint64_t bit) { return (msr & bit) != 0; };
    using namespace ept_vpid_cap;
    return EptVpidCaps{has(EXECUTE_ONLY),
                       has(PAGE_WALK_4),
                       has(MEMORY_TYPE_UC),
                       has(MEMORY_TYPE_WB),
                       has(PAGES_2M),
                       has(PAGES_1G),
                       has(INVEPT),
                       has(ACCESSED_DIRTY),
                       has(INVEPT_SINGLE_CONTEXT),
                       has(INVEPT_ALL_CONTEXT),
                       has(INVVPID),
                       has(INVVPID_ADDRESS),
                       has(INVVPID_SINGLE_CONTEXT),
                       has(INVVPID_ALL_CONTEXT),
                       has(INVVPID_SINGLE_CONTEXT_KEEP_GLOBALS)};
}

// Why these EPT capabilities cannot carry make_eptp() tables (4-level walk, WB
// paging structures, INVEPT), or nullptr when they can.
constexpr const char* ept_unusable_reason(const EptVpidCaps& c) {
    if (!c.walk_length_4) return "EPT does not support a 4-level page walk";
    if (!c.memory_type_wb) return "EPT paging structures cannot be write-back";
    if (!c.invept || !(c.invept_single_context || c.invept_all_context)) return "INVEPT is not supported";
    return nullptr;
}

struct FeatureControlVerdict {
    bool usable;      // VMXON outside SMX can work
    bool must_write;  // write feature_control_value(msr) to IA32_FEATURE_CONTROL first
    const char* why;  // one sentence for the boot report, never null
};

// IA32_FEATURE_CONTROL (SDM 23.7): VMXON outside SMX faults unless the MSR is
// locked with bit 2 set. Firmware that locked it with VMX off leaves nothing to do.
constexpr FeatureControlVerdict feature_control_verdict(uint64_t msr) {
    bool locked = (msr & feature_control::LOCK) != 0;
    bool vmx    = (msr & feature_control::VMX_OUTSIDE_SMX) != 0;
    if (locked && vmx) return {true, false, "VMX enabled and locked by firmware"};
    if (locked)
        return {false, false,
                "VT-x is disabled and locked by the firmware: enable Intel Virtualization "
                "Technology in the BIOS/UEFI setup"};
    return {true, true, "VMX not locked by firmware: enabling VMX outside SMX and locking"};
}

// Value to write when the verdict says must_write: keep whatever firmware set.
constexpr uint64_t feature_control_value(uint64_t msr) {
    return msr | feature_control::LOCK | feature_control::VMX_OUTSIDE_SMX;
}

}  // namespace natsume::x86
