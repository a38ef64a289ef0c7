#include <catch2/catch.hpp>
#include <cstring>

#include "hypervisor/arch/x86/vmx_caps.hpp"

using namespace natsume::x86;

namespace {
constexpr uint64_t cap(uint32_t must_be_one, uint32_t may_be_one) { return (uint64_t{may_be_one} << 32) | must_be_one; }
}  // namespace

TEST_CASE("adjust_controls: default1 bits are forced, wanted bits kept", "[caps]") {
    // Nehalem-style pin-based capability: default1 = 0x16, may set bits 0..6
    ControlAdjust a = adjust_controls(cap(0x16, 0x7F), pin::NMI_EXITING);
    CHECK(a.value == 0x1E);
    CHECK(a.missing == 0);
    CHECK(a.forced == 0x16);
}

TEST_CASE("adjust_controls: unsupported wanted bits are reported missing", "[caps]") {
    uint32_t wanted = pin::NMI_EXITING | pin::POSTED_INTERRUPTS | pin::PREEMPTION_TIMER;
    ControlAdjust a = adjust_controls(cap(0x16, 0x3F), wanted);
    CHECK(a.missing == (pin::POSTED_INTERRUPTS | pin::PREEMPTION_TIMER));
    CHECK((a.value & a.missing) == 0);
    CHECK(a.value == (0x16 | pin::NMI_EXITING));
}

TEST_CASE("adjust_controls: wanted bits already forced are not reported forced", "[caps]") {
    ControlAdjust a = adjust_controls(cap(0x0401'E172, 0xFFFF'FFFF), proc::HLT_EXITING | 0x2);
    CHECK(a.value == (0x0401'E172 | proc::HLT_EXITING | 0x2));
    CHECK(a.forced == (0x0401'E172 & ~uint32_t{0x2}));
    CHECK(a.missing == 0);
}

TEST_CASE("adjust_controls: edge cases", "[caps]") {
    ControlAdjust none = adjust_controls(0, 0);
    CHECK(none.value == 0);
    CHECK(none.missing == 0);
    CHECK(none.forced == 0);

    ControlAdjust all_free = adjust_controls(cap(0, 0xFFFF'FFFF), 0xDEAD'BEEF);
    CHECK(all_free.value == 0xDEAD'BEEF);
    CHECK(all_free.missing == 0);
    CHECK(all_free.forced == 0);

    ControlAdjust nothing_allowed = adjust_controls(cap(0, 0), 0xFFFF'FFFF);
    CHECK(nothing_allowed.value == 0);
    CHECK(nothing_allowed.missing == 0xFFFF'FFFF);

    // secondary controls have no must-be-one bits
    ControlAdjust sec = adjust_controls(cap(0, proc2::ENABLE_EPT | proc2::ENABLE_VPID),
                                        proc2::ENABLE_EPT | proc2::ENABLE_VPID | proc2::UNRESTRICTED_GUEST);
    CHECK(sec.value == (proc2::ENABLE_EPT | proc2::ENABLE_VPID));
    CHECK(sec.missing == proc2::UNRESTRICTED_GUEST);
    STATIC_REQUIRE(adjust_controls(cap(1, 3), 2).value == 3);
}

TEST_CASE("fixed CR0/CR4 bits", "[caps]") {
    const uint64_t cr0_fixed0 = 0x8000'0021, cr0_fixed1 = 0xFFFF'FFFF;
    CHECK(fixed_cr(0x11, cr0_fixed0, cr0_fixed1) == 0x8000'0031);
    CHECK_FALSE(cr_ok(0x11, cr0_fixed0, cr0_fixed1));
    CHECK(cr_ok(0x8000'0031, cr0_fixed0, cr0_fixed1));
    CHECK_FALSE(cr_ok(0x1'8000'0031, cr0_fixed0, cr0_fixed1));  // reserved high bit

    const uint64_t cr4_fixed0 = 0x2000, cr4_fixed1 = 0x0037'27FF;
    uint64_t cr4 = 0x20 | (1u << 23);  // PAE plus a bit the CPU does not allow
    CHECK(fixed_cr(cr4, cr4_fixed0, cr4_fixed1) == 0x2020);
    CHECK_FALSE(cr_ok(cr4, cr4_fixed0, cr4_fixed1));
    CHECK(cr_ok(fixed_cr(cr4, cr4_fixed0, cr4_fixed1), cr4_fixed0, cr4_fixed1));

    CHECK(guest_cr0_fixed0(cr0_fixed0, true) == 0x20);
    CHECK(guest_cr0_fixed0(cr0_fixed0, false) == cr0_fixed0);
}

TEST_CASE("IA32_VMX_BASIC decoding", "[caps]") {
    // revision 1, 4 KiB regions, WB, INS/OUTS info, true controls
    VmxBasic b = decode_vmx_basic(0x00D8'1000'0000'0001);
    CHECK(b.revision == 1);
    CHECK(b.region_size == 0x1000);
    CHECK(b.memory_type == 6);
    CHECK(b.true_controls);
    CHECK(pin_controls_msr(b) == msr::IA32_VMX_TRUE_PINBASED_CTLS);
    CHECK(entry_controls_msr(b) == msr::IA32_VMX_TRUE_ENTRY_CTLS);

    VmxBasic old = decode_vmx_basic(0x0018'0400'8000'000E);
    CHECK(old.revision == 0xE);  // bit 31 is not part of the revision
    CHECK(old.region_size == 0x400);
    CHECK_FALSE(old.true_controls);
    CHECK(proc_controls_msr(old) == msr::IA32_VMX_PROCBASED_CTLS);
    CHECK(exit_controls_msr(old) == msr::IA32_VMX_EXIT_CTLS);
}

TEST_CASE("IA32_VMX_EPT_VPID_CAP decoding", "[caps]") {
    using namespace ept_vpid_cap;
    uint64_t nehalem = PAGE_WALK_4 | MEMORY_TYPE_UC | MEMORY_TYPE_WB | PAGES_2M | INVEPT | INVEPT_SINGLE_CONTEXT |
                       INVEPT_ALL_CONTEXT | INVVPID | INVVPID_SINGLE_CONTEXT | INVVPID_ALL_CONTEXT;
    EptVpidCaps c = decode_ept_vpid_caps(nehalem);
    CHECK(c.walk_length_4);
    CHECK(c.memory_type_wb);
    CHECK(c.pages_2m);
    CHECK_FALSE(c.pages_1g);
    CHECK_FALSE(c.accessed_dirty);
    CHECK_FALSE(c.execute_only);
    CHECK(c.invept_single_context);
    CHECK(c.invvpid_all_context);
    CHECK_FALSE(c.invvpid_address);
    CHECK(ept_unusable_reason(c) == nullptr);

    EptVpidCaps full = decode_ept_vpid_caps(~uint64_t{0});
    CHECK(full.pages_1g);
    CHECK(full.accessed_dirty);
    CHECK(full.execute_only);
    CHECK(full.invvpid_single_context_keep_globals);

    CHECK(ept_unusable_reason(decode_ept_vpid_caps(nehalem & ~MEMORY_TYPE_WB)) != nullptr);
    CHECK(ept_unusable_reason(decode_ept_vpid_caps(nehalem & ~PAGE_WALK_4)) != nullptr);
    CHECK(ept_unusable_reason(decode_ept_vpid_caps(nehalem & ~INVEPT)) != nullptr);
    CHECK(ept_unusable_reason(decode_ept_vpid_caps(0)) != nullptr);
}

TEST_CASE("IA32_FEATURE_CONTROL policy", "[caps]") {
    FeatureControlVerdict unlocked = feature_control_verdict(0);
    CHECK(unlocked.usable);
    CHECK(unlocked.must_write);
    CHECK(feature_control_value(0) == 0x5);
    CHECK(feature_control_value(0x2) == 0x7);  // keeps the SMX setting

    FeatureControlVerdict enabled = feature_control_verdict(0x5);
    CHECK(enabled.usable);
    CHECK_FALSE(enabled.must_write);
    REQUIRE(enabled.why != nullptr);

    for (uint64_t locked_off : {uint64_t{0x1}, uint64_t{0x3}}) {
        FeatureControlVerdict v = feature_control_verdict(locked_off);
        CHECK_FALSE(v.usable);
        CHECK_FALSE(v.must_write);
        REQUIRE(v.why != nullptr);
        CHECK(std::strstr(v.why, "BIOS") != nullptr);
    }
}
