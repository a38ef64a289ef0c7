// VMX control bits, exit reasons, VMX-related MSRs and exit-qualification decoding.
//
// Section numbers follow the Intel SDM Vol. 3C chapter numbering where the VMCS is
// chapter 24, VM entries 26, VM exits 27 and EPT 28 (newer editions shift each by one).
#pragma once

#include <stdint.h>

#include "drivers/x86/msr.hpp"

namespace natsume::x86 {

constexpr uint32_t bit32(unsigned n) { return uint32_t{1} << n; }
constexpr uint64_t bit64(unsigned n) { return uint64_t{1} << n; }

// Pin-based VM-execution controls (SDM 24.6.1, Table 24-5).
namespace pin {
inline constexpr uint32_t EXTERNAL_INTERRUPT_EXITING = bit32(0);
inline constexpr uint32_t NMI_EXITING                = bit32(3);
inline constexpr uint32_t VIRTUAL_NMIS               = bit32(5);
inline constexpr uint32_t PREEMPTION_TIMER           = bit32(6);
inline constexpr uint32_t POSTED_INTERRUPTS          = bit32(7);
// Reserved bits that are 1 in the "default1" class (SDM A.3.1), for CPUs
// without IA32_VMX_TRUE_PINBASED_CTLS.
inline constexpr uint32_t DEFAULT1 = 0x0000'0016;
}  // namespace pin

// Primary processor-based VM-execution controls (SDM 24.6.2, Table 24-6).
namespace proc {
inline constexpr uint32_t INTERRUPT_WINDOW_EXITING    = bit32(2);
inline constexpr uint32_t USE_TSC_OFFSETTING          = bit32(3);
inline constexpr uint32_t HLT_EXITING                 = bit32(7);
inline constexpr uint32_t INVLPG_EXITING              = bit32(9);
inline constexpr uint32_t MWAIT_EXITING               = bit32(10);
inline constexpr uint32_t RDPMC_EXITING               = bit32(11);
inline constexpr uint32_t RDTSC_EXITING               = bit32(12);
inline constexpr uint32_t CR3_LOAD_EXITING            = bit32(15);
inline constexpr uint32_t CR3_STORE_EXITING           = bit32(16);
inline constexpr uint32_t ACTIVATE_TERTIARY_CONTROLS  = bit32(17);
inline constexpr uint32_t CR8_LOAD_EXITING            = bit32(19);
inline constexpr uint32_t CR8_STORE_EXITING           = bit32(20);
inline constexpr uint32_t USE_TPR_SHADOW              = bit32(21);
inline constexpr uint32_t NMI_WINDOW_EXITING          = bit32(22);
inline constexpr uint32_t MOV_DR_EXITING              = bit32(23);
inline constexpr uint32_t UNCONDITIONAL_IO_EXITING    = bit32(24);
inline constexpr uint32_t USE_IO_BITMAPS              = bit32(25);
inline constexpr uint32_t MONITOR_TRAP_FLAG           = bit32(27);
inline constexpr uint32_t USE_MSR_BITMAPS             = bit32(28);
inline constexpr uint32_t MONITOR_EXITING             = bit32(29);
inline constexpr uint32_t PAUSE_EXITING               = bit32(30);
inline constexpr uint32_t ACTIVATE_SECONDARY_CONTROLS = bit32(31);
inline constexpr uint32_t DEFAULT1                    = 0x0401'E172;  // SDM A.3.2
}  // namespace proc

// Secondary processor-based VM-execution controls (SDM 24.6.2, Table 24-7).
namespace proc2 {
inline constexpr uint32_t VIRTUALIZE_APIC_ACCESSES     = bit32(0);
inline constexpr uint32_t ENABLE_EPT                   = bit32(1);
inline constexpr uint32_t DESCRIPTOR_TABLE_EXITING     = bit32(2);
inline constexpr uint32_t ENABLE_RDTSCP                = bit32(3);
inline constexpr uint32_t VIRTUALIZE_X2APIC_MODE       = bit32(4);
inline constexpr uint32_t ENABLE_VPID                  = bit32(5);
inline constexpr uint32_t WBINVD_EXITING               = bit32(6);
inline constexpr uint32_t UNRESTRICTED_GUEST           = bit32(7);
inline constexpr uint32_t APIC_REGISTER_VIRTUALIZATION = bit32(8);
inline constexpr uint32_t VIRTUAL_INTERRUPT_DELIVERY   = bit32(9);
inline constexpr uint32_t PAUSE_LOOP_EXITING           = bit32(10);
inline constexpr uint32_t RDRAND_EXITING               = bit32(11);
inline constexpr uint32_t ENABLE_INVPCID               = bit32(12);
inline constexpr uint32_t ENABLE_VM_FUNCTIONS          = bit32(13);
inline constexpr uint32_t VMCS_SHADOWING               = bit32(14);
inline constexpr uint32_t ENCLS_EXITING                = bit32(15);
inline constexpr uint32_t RDSEED_EXITING               = bit32(16);
inline constexpr uint32_t ENABLE_PML                   = bit32(17);
inline constexpr uint32_t EPT_VIOLATION_VE             = bit32(18);
inline constexpr uint32_t CONCEAL_VMX_FROM_PT          = bit32(19);
inline constexpr uint32_t ENABLE_XSAVES_XRSTORS        = bit32(20);
inline constexpr uint32_t MODE_BASED_EPT_EXECUTE       = bit32(22);
inline constexpr uint32_t SUBPAGE_WRITE_PERMISSIONS    = bit32(23);
inline constexpr uint32_t PT_USES_GUEST_PHYSICAL       = bit32(24);
inline constexpr uint32_t USE_TSC_SCALING              = bit32(25);
inline constexpr uint32_t ENABLE_USER_WAIT_PAUSE       = bit32(26);
inline constexpr uint32_t ENCLV_EXITING                = bit32(28);
}  // namespace proc2

// VM-exit controls (SDM 24.7.1, Table 24-11).
namespace exit_ctl {
inline constexpr uint32_t SAVE_DEBUG_CONTROLS     = bit32(2);
inline constexpr uint32_t HOST_ADDRESS_SPACE_SIZE = bit32(9);
inline constexpr uint32_t LOAD_PERF_GLOBAL_CTRL   = bit32(12);
inline constexpr uint32_t ACK_INTERRUPT_ON_EXIT   = bit32(15);
inline constexpr uint32_t SAVE_PAT                = bit32(18);
inline constexpr uint32_t LOAD_PAT                = bit32(19);
inline constexpr uint32_t SAVE_EFER               = bit32(20);
inline constexpr uint32_t LOAD_EFER               = bit32(21);
inline constexpr uint32_t SAVE_PREEMPTION_TIMER   = bit32(22);
inline constexpr uint32_t CLEAR_BNDCFGS           = bit32(23);
inline constexpr uint32_t CONCEAL_VMX_FROM_PT     = bit32(24);
inline constexpr uint32_t DEFAULT1                = 0x0003'6DFF;  // SDM A.4
}  // namespace exit_ctl

// VM-entry controls (SDM 24.8.1, Table 24-13).
namespace entry_ctl {
inline constexpr uint32_t LOAD_DEBUG_CONTROLS     = bit32(2);
inline constexpr uint32_t IA32E_MODE_GUEST        = bit32(9);
inline constexpr uint32_t ENTRY_TO_SMM            = bit32(10);
inline constexpr uint32_t DEACTIVATE_DUAL_MONITOR = bit32(11);
inline constexpr uint32_t LOAD_PERF_GLOBAL_CTRL   = bit32(13);
inline constexpr uint32_t LOAD_PAT                = bit32(14);
inline constexpr uint32_t LOAD_EFER               = bit32(15);
inline constexpr uint32_t LOAD_BNDCFGS            = bit32(16);
inline constexpr uint32_t CONCEAL_VMX_FROM_PT     = bit32(17);
inline constexpr uint32_t DEFAULT1                = 0x0000'11FF;  // SDM A.5
}  // namespace entry_ctl

// VM-entry / VM-exit interruption-information format (SDM 24.8.3, Table 24-14;
// 24.9.2, Table 24-15 uses the same layout).
namespace intr_info {
inline constexpr uint32_t VECTOR_MASK      = 0xFF;
inline constexpr unsigned TYPE_SHIFT       = 8;
inline constexpr uint32_t TYPE_MASK        = 7u << TYPE_SHIFT;
inline constexpr uint32_t ERROR_CODE_VALID = bit32(11);
inline constexpr uint32_t NMI_UNBLOCKING   = bit32(12);  // exit info only
inline constexpr uint32_t VALID            = bit32(31);
}  // namespace intr_info

enum class InterruptionType : uint8_t {
    External                    = 0,
    Nmi                         = 2,
    HardwareException           = 3,
    SoftwareInterrupt           = 4,
    PrivilegedSoftwareException = 5,
    SoftwareException           = 6,
    OtherEvent                  = 7,
};

constexpr uint32_t make_intr_info(uint8_t vector, InterruptionType type, bool error_code) {
    return intr_info::VALID | (error_code ? intr_info::ERROR_CODE_VALID : 0u) |
           (uint32_t{static_cast<uint8_t>(type)} << intr_info::TYPE_SHIFT) | vector;
}

// Guest interruptibility state (SDM 24.4.2, Table 24-3).
namespace interruptibility {
inline constexpr uint32_t BLOCKING_BY_STI    = bit32(0);
inline constexpr uint32_t BLOCKING_BY_MOV_SS = bit32(1);
inline constexpr uint32_t BLOCKING_BY_SMI    = bit32(2);
inline constexpr uint32_t BLOCKING_BY_NMI    = bit32(3);
}  // namespace interruptibility

// Guest activity state (SDM 24.4.2).
enum class ActivityState : uint32_t { Active = 0, Hlt = 1, Shutdown = 2, WaitForSipi = 3 };

// Segment access rights in the VMCS (SDM 24.4.1, Table 24-2): bit 16 marks a
// segment unusable, e.g. a null LDTR.
inline constexpr uint32_t ACCESS_RIGHTS_UNUSABLE = bit32(16);

// Basic exit reasons (SDM Vol. 3C Appendix C, Table C-1). Numbers 35, 38, 42
// and 71 are not assigned.
enum class ExitReason : uint16_t {
    ExceptionOrNmi             = 0,
    ExternalInterrupt          = 1,
    TripleFault                = 2,
    InitSignal                 = 3,
    StartupIpi                 = 4,
    IoSmi                      = 5,
    OtherSmi                   = 6,
    InterruptWindow            = 7,
    NmiWindow                  = 8,
    TaskSwitch                 = 9,
    Cpuid                      = 10,
    Getsec                     = 11,
    Hlt                        = 12,
    Invd                       = 13,
    Invlpg                     = 14,
    Rdpmc                      = 15,
    Rdtsc                      = 16,
    Rsm                        = 17,
    Vmcall                     = 18,
    Vmclear                    = 19,
    Vmlaunch                   = 20,
    Vmptrld                    = 21,
    Vmptrst                    = 22,
    Vmread                     = 23,
    Vmresume                   = 24,
    Vmwrite                    = 25,
    Vmxoff                     = 26,
    Vmxon                      = 27,
    CrAccess                   = 28,
    MovDr                      = 29,
    IoInstruction              = 30,
    Rdmsr                      = 31,
    Wrmsr                      = 32,
    EntryFailInvalidGuestState = 33,
    EntryFailMsrLoading        = 34,
    Mwait                      = 36,
    MonitorTrapFlag            = 37,
    Monitor                    = 39,
    Pause                      = 40,
    EntryFailMachineCheck      = 41,
    TprBelowThreshold          = 43,
    ApicAccess                 = 44,
    VirtualizedEoi             = 45,
    GdtrIdtrAccess             = 46,
    LdtrTrAccess               = 47,
    EptViolation               = 48,
    EptMisconfiguration        = 49,
    Invept                     = 50,
    Rdtscp                     = 51,
    PreemptionTimer            = 52,
    Invvpid                    = 53,
    Wbinvd                     = 54,
    Xsetbv                     = 55,
    ApicWrite                  = 56,
    Rdrand                     = 57,
    Invpcid                    = 58,
    Vmfunc                     = 59,
    Encls                      = 60,
    Rdseed                     = 61,
    PmlFull                    = 62,
    Xsaves                     = 63,
    Xrstors                    = 64,
    Pconfig                    = 65,
    SppEvent                   = 66,
    Umwait                     = 67,
    Tpause                     = 68,
    Loadiwkey                  = 69,
    Enclv                      = 70,
};

// One past the highest reason listed above: size of per-reason counter tables.
inline constexpr unsigned EXIT_REASON_COUNT = 71;

// The 32-bit exit-reason field (SDM 24.9.1, Table 24-14): basic reason in 15:0,
// bit 31 set when VM entry failed.
inline constexpr uint32_t EXIT_REASON_ENTRY_FAILURE = bit32(31);

constexpr ExitReason basic_exit_reason(uint32_t exit_reason_field) {
    return static_cast<ExitReason>(exit_reason_field & 0xFFFFu);
}

constexpr bool entry_failed(uint32_t exit_reason_field) { return (exit_reason_field & EXIT_REASON_ENTRY_FAILURE) != 0; }

// Never null: unassigned numbers give "unknown".
constexpr const char* to_string(ExitReason r) {
    switch (r) {
    case ExitReason::ExceptionOrNmi: return "exception or NMI";
    case ExitReason::ExternalInterrupt: return "external interrupt";
    case ExitReason::TripleFault: return "triple fault";
    case ExitReason::InitSignal: return "INIT signal";
    case ExitReason::StartupIpi: return "start-up IPI";
    case ExitReason::IoSmi: return "I/O SMI";
    case ExitReason::OtherSmi: return "other SMI";
    case ExitReason::InterruptWindow: return "interrupt window";
    case ExitReason::NmiWindow: return "NMI window";
    case ExitReason::TaskSwitch: return "task switch";
    case ExitReason::Cpuid: return "CPUID";
    case ExitReason::Getsec: return "GETSEC";
    case ExitReason::Hlt: return "HLT";
    case ExitReason::Invd: return "INVD";
    case ExitReason::Invlpg: return "INVLPG";
    case ExitReason::Rdpmc: return "RDPMC";
    case ExitReason::Rdtsc: return "RDTSC";
    case ExitReason::Rsm: return "RSM";
    case ExitReason::Vmcall: return "VMCALL";
    case ExitReason::Vmclear: return "VMCLEAR";
    case ExitReason::Vmlaunch: return "VMLAUNCH";
    case ExitReason::Vmptrld: return "VMPTRLD";
    case ExitReason::Vmptrst: return "VMPTRST";
    case ExitReason::Vmread: return "VMREAD";
    case ExitReason::Vmresume: return "VMRESUME";
    case ExitReason::Vmwrite: return "VMWRITE";
    case ExitReason::Vmxoff: return "VMXOFF";
    case ExitReason::Vmxon: return "VMXON";
    case ExitReason::CrAccess: return "control-register access";
    case ExitReason::MovDr: return "MOV DR";
    case ExitReason::IoInstruction: return "I/O instruction";
    case ExitReason::Rdmsr: return "RDMSR";
    case ExitReason::Wrmsr: return "WRMSR";
    case ExitReason::EntryFailInvalidGuestState: return "VM-entry failure: invalid guest state";
    case ExitReason::EntryFailMsrLoading: return "VM-entry failure: MSR loading";
    case ExitReason::Mwait: return "MWAIT";
    case ExitReason::MonitorTrapFlag: return "monitor trap flag";
    case ExitReason::Monitor: return "MONITOR";
    case ExitReason::Pause: return "PAUSE";
    case ExitReason::EntryFailMachineCheck: return "VM-entry failure: machine-check event";
    case ExitReason::TprBelowThreshold: return "TPR below threshold";
    case ExitReason::ApicAccess: return "APIC access";
    case ExitReason::VirtualizedEoi: return "virtualized EOI";
    case ExitReason::GdtrIdtrAccess: return "GDTR/IDTR access";
    case ExitReason::LdtrTrAccess: return "LDTR/TR access";
    case ExitReason::EptViolation: return "EPT violation";
    case ExitReason::EptMisconfiguration: return "EPT misconfiguration";
    case ExitReason::Invept: return "INVEPT";
    case ExitReason::Rdtscp: return "RDTSCP";
    case ExitReason::PreemptionTimer: return "VMX-preemption timer expired";
    case ExitReason::Invvpid: return "INVVPID";
    case ExitReason::Wbinvd: return "WBINVD/WBNOINVD";
    case ExitReason::Xsetbv: return "XSETBV";
    case ExitReason::ApicWrite: return "APIC write";
    case ExitReason::Rdrand: return "RDRAND";
    case ExitReason::Invpcid: return "INVPCID";
    case ExitReason::Vmfunc: return "VMFUNC";
    case ExitReason::Encls: return "ENCLS";
    case ExitReason::Rdseed: return "RDSEED";
    case ExitReason::PmlFull: return "page-modification log full";
    case ExitReason::Xsaves: return "XSAVES";
    case ExitReason::Xrstors: return "XRSTORS";
    case ExitReason::Pconfig: return "PCONFIG";
    case ExitReason::SppEvent: return "SPP-related event";
    case ExitReason::Umwait: return "UMWAIT";
    case ExitReason::Tpause: return "TPAUSE";
    case ExitReason::Loadiwkey: return "LOADIWKEY";
    case ExitReason::Enclv: return "ENCLV";
    }
    return "unknown";
}

// VM-instruction error numbers (SDM Vol. 3C 30.4, Table 30-1), read from
// Vmcs::VM_INSTRUCTION_ERROR after VMfailValid. Never null.
constexpr const char* vm_instruction_error_string(uint32_t error) {
    switch (error) {
    case 1: return "VMCALL executed in VMX root operation";
    case 2: return "VMCLEAR with invalid physical address";
    case 3: return "VMCLEAR with VMXON pointer";
    case 4: return "VMLAUNCH with non-clear VMCS";
    case 5: return "VMRESUME with non-launched VMCS";
    case 6: return "VMRESUME after VMXOFF";
    case 7: return "VM entry with invalid control field(s)";
    case 8: return "VM entry with invalid host-state field(s)";
    case 9: return "VMPTRLD with invalid physical address";
    case 10: return "VMPTRLD with VMXON pointer";
    case 11: return "VMPTRLD with incorrect VMCS revision identifier";
    case 12: return "VMREAD/VMWRITE from/to unsupported VMCS component";
    case 13: return "VMWRITE to read-only VMCS component";
    case 15: return "VMXON executed in VMX root operation";
    case 16: return "VM entry with invalid executive-VMCS pointer";
    case 17: return "VM entry with non-launched executive VMCS";
    case 18: return "VM entry with executive-VMCS pointer not VMXON pointer";
    case 19: return "VMCALL with non-clear VMCS";
    case 20: return "VMCALL with invalid VM-exit control fields";
    case 22: return "VMCALL with incorrect MSEG revision identifier";
    case 23: return "VMXOFF under dual-monitor treatment of SMIs and SMM";
    case 24: return "VMCALL with invalid SMM-monitor features";
    case 25: return "VM entry with invalid VM-execution control fields in executive VMCS";
    case 26: return "VM entry with events blocked by MOV SS";
    case 28: return "invalid operand to INVEPT/INVVPID";
    }
    return "unknown VM-instruction error";
}

// Architectural MSRs and their bits: drivers/x86/msr.hpp.
namespace msr             = drivers::msr;
namespace feature_control = drivers::msr::feature_control;
namespace efer            = drivers::msr::efer;
namespace apic_base       = drivers::msr::apic_base;

// IA32_VMX_BASIC fields (SDM A.1).
namespace vmx_basic {
inline constexpr uint64_t REVISION_MASK     = 0x7FFF'FFFF;
inline constexpr unsigned REGION_SIZE_SHIFT = 32;
inline constexpr uint64_t REGION_SIZE_MASK  = 0x1FFFull << REGION_SIZE_SHIFT;
inline constexpr uint64_t ADDR_WIDTH_32     = bit64(48);
inline constexpr unsigned MEMORY_TYPE_SHIFT = 50;
inline constexpr uint64_t MEMORY_TYPE_MASK  = 0xFull << MEMORY_TYPE_SHIFT;
inline constexpr uint64_t INS_OUTS_INFO     = bit64(54);
inline constexpr uint64_t TRUE_CONTROLS     = bit64(55);
}  // namespace vmx_basic

// IA32_VMX_MISC fields (SDM A.6).
namespace vmx_misc {
inline constexpr uint64_t PREEMPTION_TIMER_RATE_MASK = 0x1F;  // timer ticks at TSC >> rate
inline constexpr uint64_t STORES_LMA                 = bit64(5);
inline constexpr uint64_t ACTIVITY_HLT               = bit64(6);
inline constexpr uint64_t ACTIVITY_SHUTDOWN          = bit64(7);
inline constexpr uint64_t ACTIVITY_WAIT_FOR_SIPI     = bit64(8);
inline constexpr uint64_t VMWRITE_ANY_FIELD          = bit64(29);
}  // namespace vmx_misc

// IA32_VMX_EPT_VPID_CAP bits (SDM A.10).
namespace ept_vpid_cap {
inline constexpr uint64_t EXECUTE_ONLY                        = bit64(0);
inline constexpr uint64_t PAGE_WALK_4                         = bit64(6);
inline constexpr uint64_t PAGE_WALK_5                         = bit64(7);
inline constexpr uint64_t MEMORY_TYPE_UC                      = bit64(8);
inline constexpr uint64_t MEMORY_TYPE_WB                      = bit64(14);
inline constexpr uint64_t PAGES_2M                            = bit64(16);
inline constexpr uint64_t PAGES_1G                            = bit64(17);
inline constexpr uint64_t INVEPT                              = bit64(20);
inline constexpr uint64_t ACCESSED_DIRTY                      = bit64(21);
inline constexpr uint64_t ADVANCED_EXIT_INFO                  = bit64(22);
inline constexpr uint64_t INVEPT_SINGLE_CONTEXT               = bit64(25);
inline constexpr uint64_t INVEPT_ALL_CONTEXT                  = bit64(26);
inline constexpr uint64_t INVVPID                             = bit64(32);
inline constexpr uint64_t INVVPID_ADDRESS                     = bit64(40);
inline constexpr uint64_t INVVPID_SINGLE_CONTEXT              = bit64(41);
inline constexpr uint64_t INVVPID_ALL_CONTEXT                 = bit64(42);
inline constexpr uint64_t INVVPID_SINGLE_CONTEXT_KEEP_GLOBALS = bit64(43);
}  // namespace ept_vpid_cap

// INVEPT / INVVPID descriptor types (SDM Vol. 3C 30.3, "INVEPT" and "INVVPID").
enum class InveptType : uint64_t { SingleContext = 1, AllContext = 2 };
enum class InvvpidType : uint64_t {
    IndividualAddress        = 0,
    SingleContext            = 1,
    AllContext               = 2,
    SingleContextKeepGlobals = 3,
};

// Exit qualification of an EPT violation (SDM 27.2.1, Table 27-7).
struct EptViolation {
    bool read;               // the access was a data read
    bool write;              // the access was a data write
    bool fetch;              // the access was an instruction fetch
    bool readable;           // the guest-physical address was readable (bits 3..5:
    bool writable;           //   permissions of the failing translation, ANDed
    bool executable;         //   over all EPT levels)
    bool linear_valid;       // Vmcs::GUEST_LINEAR_ADDRESS holds the linear address
    bool final_translation;  // access was to the final address, not a guest paging-structure entry
    bool nmi_unblocking;     // NMI blocking must be restored before re-entry
};

constexpr EptViolation decode_ept_violation(uint64_t q) {
    auto b = [q](unsigned n) { return ((q >> n) & 1u) != 0; };
    return EptViolation{b(0), b(1), b(2), b(3), b(4), b(5), b(7), b(7) && b(8), b(12)};
}

// Exit qualification of an I/O instruction (SDM 27.2.1, Table 27-5).
struct IoAccess {
    uint8_t size;    // 1, 2 or 4 bytes
    bool in;         // IN/INS (guest reads the port)
    bool string;     // INS/OUTS
    bool rep;        // REP prefix
    bool immediate;  // port given as an immediate operand (else DX)
    uint16_t port;
};

constexpr IoAccess decode_io_access(uint64_t q) {
    return IoAccess{static_cast<uint8_t>((q & 7u) + 1u),
                    ((q >> 3) & 1u) != 0,
                    ((q >> 4) & 1u) != 0,
                    ((q >> 5) & 1u) != 0,
                    ((q >> 6) & 1u) != 0,
                    static_cast<uint16_t>((q >> 16) & 0xFFFFu)};
}

// Exit qualification of a control-register access (SDM 27.2.1, Table 27-3).
enum class CrAccessType : uint8_t { MovToCr = 0, MovFromCr = 1, Clts = 2, Lmsw = 3 };

struct CrAccess {
    uint8_t cr;  // control register number
    CrAccessType type;
    uint8_t gpr;           // 0 = RAX ... 15 = R15 (MOV to/from CR)
    uint16_t lmsw_source;  // LMSW source data
};

constexpr CrAccess decode_cr_access(uint64_t q) {
    return CrAccess{static_cast<uint8_t>(q & 0xFu), static_cast<CrAccessType>((q >> 4) & 3u),
                    static_cast<uint8_t>((q >> 8) & 0xFu), static_cast<uint16_t>((q >> 16) & 0xFFFFu)};
}

}  // namespace natsume::x86
