#include <catch2/catch.hpp>
#include <cstring>

#include "hypervisor/arch/x86/vmx_defs.hpp"

using namespace natsume::x86;

TEST_CASE("control bits match SDM chapter 24 tables", "[vmx]") {
    CHECK(pin::EXTERNAL_INTERRUPT_EXITING == 0x01);
    CHECK(pin::NMI_EXITING == 0x08);
    CHECK(pin::PREEMPTION_TIMER == 0x40);
    CHECK(proc::HLT_EXITING == 0x80);
    CHECK(proc::UNCONDITIONAL_IO_EXITING == 0x0100'0000);
    CHECK(proc::USE_IO_BITMAPS == 0x0200'0000);
    CHECK(proc::USE_MSR_BITMAPS == 0x1000'0000);
    CHECK(proc::ACTIVATE_SECONDARY_CONTROLS == 0x8000'0000);
    CHECK(proc::CR3_LOAD_EXITING == 0x8000);
    CHECK(proc::MOV_DR_EXITING == 0x80'0000);
    CHECK(proc2::ENABLE_EPT == 0x2);
    CHECK(proc2::ENABLE_VPID == 0x20);
    CHECK(proc2::UNRESTRICTED_GUEST == 0x80);
    CHECK(proc2::VIRTUAL_INTERRUPT_DELIVERY == 0x200);
    CHECK(proc2::ENABLE_XSAVES_XRSTORS == 0x10'0000);
    CHECK(exit_ctl::HOST_ADDRESS_SPACE_SIZE == 0x200);
    CHECK(exit_ctl::ACK_INTERRUPT_ON_EXIT == 0x8000);
    CHECK(exit_ctl::LOAD_EFER == 0x20'0000);
    CHECK(exit_ctl::SAVE_PREEMPTION_TIMER == 0x40'0000);
    CHECK(entry_ctl::IA32E_MODE_GUEST == 0x200);
    CHECK(entry_ctl::LOAD_EFER == 0x8000);
    // default1 classes never overlap the controls Natsume sets explicitly
    CHECK((pin::DEFAULT1 & (pin::NMI_EXITING | pin::EXTERNAL_INTERRUPT_EXITING)) == 0);
    CHECK((entry_ctl::DEFAULT1 & entry_ctl::IA32E_MODE_GUEST) == 0);
    CHECK((exit_ctl::DEFAULT1 & exit_ctl::HOST_ADDRESS_SPACE_SIZE) == 0);
}

TEST_CASE("exit reasons: numbers and names", "[vmx]") {
    CHECK(static_cast<unsigned>(ExitReason::Cpuid) == 10);
    CHECK(static_cast<unsigned>(ExitReason::Vmcall) == 18);
    CHECK(static_cast<unsigned>(ExitReason::IoInstruction) == 30);
    CHECK(static_cast<unsigned>(ExitReason::EptViolation) == 48);
    CHECK(static_cast<unsigned>(ExitReason::PreemptionTimer) == 52);
    CHECK(static_cast<unsigned>(ExitReason::Xrstors) == 64);
    CHECK(std::strcmp(to_string(ExitReason::EptViolation), "EPT violation") == 0);
    CHECK(std::strcmp(to_string(static_cast<ExitReason>(35)), "unknown") == 0);
    CHECK(std::strcmp(to_string(static_cast<ExitReason>(999)), "unknown") == 0);

    int unknown = 0;
    for (unsigned r = 0; r < EXIT_REASON_COUNT; ++r) {
        const char* s = to_string(static_cast<ExitReason>(r));
        REQUIRE(s != nullptr);
        CHECK(std::strlen(s) > 0);
        unknown += std::strcmp(s, "unknown") == 0;
    }
    CHECK(unknown == 3);  // 35, 38, 42
}

TEST_CASE("exit-reason field decoding", "[vmx]") {
    CHECK(basic_exit_reason(0x8000'0021) == ExitReason::EntryFailInvalidGuestState);
    CHECK(entry_failed(0x8000'0021));
    CHECK(basic_exit_reason(0x0000'0030) == ExitReason::EptViolation);
    CHECK_FALSE(entry_failed(0x0000'0030));
    CHECK(std::strcmp(vm_instruction_error_string(7), "VM entry with invalid control field(s)") == 0);
    CHECK(std::strcmp(vm_instruction_error_string(14), "unknown VM-instruction error") == 0);
}

TEST_CASE("interruption information", "[vmx]") {
    CHECK(make_intr_info(14, InterruptionType::HardwareException, true) == 0x8000'0B0E);
    CHECK(make_intr_info(2, InterruptionType::Nmi, false) == 0x8000'0202);
    CHECK(make_intr_info(0x30, InterruptionType::External, false) == 0x8000'0030);
}

TEST_CASE("MSR numbers", "[vmx]") {
    CHECK(msr::IA32_FEATURE_CONTROL == 0x3A);
    CHECK(msr::IA32_VMX_BASIC == 0x480);
    CHECK(msr::IA32_VMX_PROCBASED_CTLS2 == 0x48B);
    CHECK(msr::IA32_VMX_EPT_VPID_CAP == 0x48C);
    CHECK(msr::IA32_VMX_TRUE_ENTRY_CTLS == 0x490);
    CHECK(msr::IA32_VMX_VMFUNC == 0x491);
    CHECK(msr::IA32_EFER == 0xC000'0080);
    CHECK(msr::IA32_PAT == 0x277);
    CHECK(msr::IA32_TSC_DEADLINE == 0x6E0);
    CHECK(feature_control::VMX_OUTSIDE_SMX == 4);
    CHECK(ept_vpid_cap::PAGES_2M == (1ull << 16));
    CHECK(ept_vpid_cap::INVVPID_ALL_CONTEXT == (1ull << 42));
}

TEST_CASE("EPT-violation exit qualification", "[vmx]") {
    // guest write to a read-only page, linear address valid, final translation
    EptViolation v = decode_ept_violation(0x0000'0000'0000'0182 | 0x8);
    CHECK(v.write);
    CHECK_FALSE(v.read);
    CHECK_FALSE(v.fetch);
    CHECK(v.readable);
    CHECK_FALSE(v.writable);
    CHECK_FALSE(v.executable);
    CHECK(v.linear_valid);
    CHECK(v.final_translation);
    CHECK_FALSE(v.nmi_unblocking);

    // instruction fetch from an unmapped page during a guest page walk, no linear address
    EptViolation f = decode_ept_violation(0x1104);
    CHECK(f.fetch);
    CHECK_FALSE(f.readable);
    CHECK_FALSE(f.linear_valid);
    CHECK_FALSE(f.final_translation);  // bit 8 means nothing without bit 7
    CHECK(f.nmi_unblocking);
}

TEST_CASE("I/O exit qualification", "[vmx]") {
    IoAccess out = decode_io_access(0x03F8'0000);  // out dx, al to COM1
    CHECK(out.size == 1);
    CHECK_FALSE(out.in);
    CHECK_FALSE(out.string);
    CHECK_FALSE(out.immediate);
    CHECK(out.port == 0x3F8);

    IoAccess in = decode_io_access(0x0060'0000 | 0x40 | 0x8 | 3);  // in eax, 0x60
    CHECK(in.size == 4);
    CHECK(in.in);
    CHECK(in.immediate);
    CHECK(in.port == 0x60);

    IoAccess rep = decode_io_access(0xCFC0'0000 | 0x20 | 0x10 | 1);  // rep outsw
    CHECK(rep.size == 2);
    CHECK(rep.string);
    CHECK(rep.rep);
    CHECK(rep.port == 0xCFC0);
}

TEST_CASE("control-register access exit qualification", "[vmx]") {
    CrAccess mov = decode_cr_access(0x104);  // mov cr4, rcx
    CHECK(mov.cr == 4);
    CHECK(mov.type == CrAccessType::MovToCr);
    CHECK(mov.gpr == 1);
    CrAccess lmsw = decode_cr_access(0x0001'0030);
    CHECK(lmsw.type == CrAccessType::Lmsw);
    CHECK(lmsw.lmsw_source == 1);
}
