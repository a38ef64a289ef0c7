// VMCS field encodings and their width/type decoding.
//
// Encodings: Intel SDM Vol. 3C, Appendix B ("Field Encoding in VMCS").
// Encoding layout: SDM Vol. 3C, 24.11.2, Table 24-21 —
//   bit 0      access type (1 = high 32 bits of a 64-bit field)
//   bits 9:1   index
//   bits 11:10 type (0 control, 1 VM-exit information, 2 guest state, 3 host state)
//   bits 14:13 width (0 16-bit, 1 64-bit, 2 32-bit, 3 natural width)
// Only full (access type 0) encodings are listed: in 64-bit mode VMREAD and
// VMWRITE move the whole 64-bit field, so the high-half encodings are never needed.
#pragma once

#include <stdint.h>
#include <type_traits>

namespace natsume::x86 {

enum class Vmcs : uint32_t {
    // 16-bit control fields (B.1.1)
    VPID                      = 0x0000,
    POSTED_INTR_NOTIFY_VECTOR = 0x0002,
    EPTP_INDEX                = 0x0004,

    // 16-bit guest-state fields (B.1.2)
    GUEST_ES_SELECTOR   = 0x0800,
    GUEST_CS_SELECTOR   = 0x0802,
    GUEST_SS_SELECTOR   = 0x0804,
    GUEST_DS_SELECTOR   = 0x0806,
    GUEST_FS_SELECTOR   = 0x0808,
    GUEST_GS_SELECTOR   = 0x080A,
    GUEST_LDTR_SELECTOR = 0x080C,
    GUEST_TR_SELECTOR   = 0x080E,
    GUEST_INTR_STATUS   = 0x0810,
    GUEST_PML_INDEX     = 0x0812,

    // 16-bit host-state fields (B.1.3)
    HOST_ES_SELECTOR = 0x0C00,
    HOST_CS_SELECTOR = 0x0C02,
    HOST_SS_SELECTOR = 0x0C04,
    HOST_DS_SELECTOR = 0x0C06,
    HOST_FS_SELECTOR = 0x0C08,
    HOST_GS_SELECTOR = 0x0C0A,
    HOST_TR_SELECTOR = 0x0C0C,

    // 64-bit control fields (B.2.1)
    IO_BITMAP_A            = 0x2000,
    IO_BITMAP_B            = 0x2002,
    MSR_BITMAP             = 0x2004,
    EXIT_MSR_STORE_ADDR    = 0x2006,
    EXIT_MSR_LOAD_ADDR     = 0x2008,
    ENTRY_MSR_LOAD_ADDR    = 0x200A,
    EXECUTIVE_VMCS_POINTER = 0x200C,
    PML_ADDRESS            = 0x200E,
    TSC_OFFSET             = 0x2010,
    VIRTUAL_APIC_PAGE_ADDR = 0x2012,
    APIC_ACCESS_ADDR       = 0x2014,
    POSTED_INTR_DESC_ADDR  = 0x2016,
    VM_FUNCTION_CONTROLS   = 0x2018,
    EPT_POINTER            = 0x201A,
    EOI_EXIT_BITMAP0       = 0x201C,
    EOI_EXIT_BITMAP1       = 0x201E,
    EOI_EXIT_BITMAP2       = 0x2020,
    EOI_EXIT_BITMAP3       = 0x2022,
    EPTP_LIST_ADDR         = 0x2024,
    VMREAD_BITMAP          = 0x2026,
    VMWRITE_BITMAP         = 0x2028,
    VE_INFO_ADDR           = 0x202A,
    XSS_EXIT_BITMAP        = 0x202C,
    TSC_MULTIPLIER         = 0x2032,

    // 64-bit read-only data field (B.2.2)
    GUEST_PHYSICAL_ADDRESS = 0x2400,

    // 64-bit guest-state fields (B.2.3)
    VMCS_LINK_POINTER           = 0x2800,
    GUEST_IA32_DEBUGCTL         = 0x2802,
    GUEST_IA32_PAT              = 0x2804,
    GUEST_IA32_EFER             = 0x2806,
    GUEST_IA32_PERF_GLOBAL_CTRL = 0x2808,
    GUEST_PDPTE0                = 0x280A,
    GUEST_PDPTE1                = 0x280C,
    GUEST_PDPTE2                = 0x280E,
    GUEST_PDPTE3                = 0x2810,

    // 64-bit host-state fields (B.2.4)
    HOST_IA32_PAT              = 0x2C00,
    HOST_IA32_EFER             = 0x2C02,
    HOST_IA32_PERF_GLOBAL_CTRL = 0x2C04,

    // 32-bit control fields (B.3.1)
    PIN_BASED_CONTROLS          = 0x4000,
    PRIMARY_PROC_CONTROLS       = 0x4002,
    EXCEPTION_BITMAP            = 0x4004,
    PAGE_FAULT_ERROR_CODE_MASK  = 0x4006,
    PAGE_FAULT_ERROR_CODE_MATCH = 0x4008,
    CR3_TARGET_COUNT            = 0x400A,
    EXIT_CONTROLS               = 0x400C,
    EXIT_MSR_STORE_COUNT        = 0x400E,
    EXIT_MSR_LOAD_COUNT         = 0x4010,
    ENTRY_CONTROLS              = 0x4012,
    ENTRY_MSR_LOAD_COUNT        = 0x4014,
    ENTRY_INTERRUPTION_INFO     = 0x4016,
    ENTRY_EXCEPTION_ERROR_CODE  = 0x4018,
    ENTRY_INSTRUCTION_LENGTH    = 0x401A,
    TPR_THRESHOLD               = 0x401C,
    SECONDARY_PROC_CONTROLS     = 0x401E,
    PLE_GAP                     = 0x4020,
    PLE_WINDOW                  = 0x4022,

    // 32-bit read-only data fields (B.3.2)
    VM_INSTRUCTION_ERROR         = 0x4400,
    EXIT_REASON                  = 0x4402,
    EXIT_INTERRUPTION_INFO       = 0x4404,
    EXIT_INTERRUPTION_ERROR_CODE = 0x4406,
    IDT_VECTORING_INFO           = 0x4408,
    IDT_VECTORING_ERROR_CODE     = 0x440A,
    EXIT_INSTRUCTION_LENGTH      = 0x440C,
    EXIT_INSTRUCTION_INFO        = 0x440E,

    // 32-bit guest-state fields (B.3.3)
    GUEST_ES_LIMIT           = 0x4800,
    GUEST_CS_LIMIT           = 0x4802,
    GUEST_SS_LIMIT           = 0x4804,
    GUEST_DS_LIMIT           = 0x4806,
    GUEST_FS_LIMIT           = 0x4808,
    GUEST_GS_LIMIT           = 0x480A,
    GUEST_LDTR_LIMIT         = 0x480C,
    GUEST_TR_LIMIT           = 0x480E,
    GUEST_GDTR_LIMIT         = 0x4810,
    GUEST_IDTR_LIMIT         = 0x4812,
    GUEST_ES_ACCESS_RIGHTS   = 0x4814,
    GUEST_CS_ACCESS_RIGHTS   = 0x4816,
    GUEST_SS_ACCESS_RIGHTS   = 0x4818,
    GUEST_DS_ACCESS_RIGHTS   = 0x481A,
    GUEST_FS_ACCESS_RIGHTS   = 0x481C,
    GUEST_GS_ACCESS_RIGHTS   = 0x481E,
    GUEST_LDTR_ACCESS_RIGHTS = 0x4820,
    GUEST_TR_ACCESS_RIGHTS   = 0x4822,
    GUEST_INTERRUPTIBILITY   = 0x4824,
    GUEST_ACTIVITY_STATE     = 0x4826,
    GUEST_SMBASE             = 0x4828,
    GUEST_IA32_SYSENTER_CS   = 0x482A,
    GUEST_PREEMPTION_TIMER   = 0x482E,

    // 32-bit host-state field (B.3.4)
    HOST_IA32_SYSENTER_CS = 0x4C00,

    // Natural-width control fields (B.4.1)
    CR0_GUEST_HOST_MASK = 0x6000,
    CR4_GUEST_HOST_MASK = 0x6002,
    CR0_READ_SHADOW     = 0x6004,
    CR4_READ_SHADOW     = 0x6006,
    CR3_TARGET_VALUE0   = 0x6008,
    CR3_TARGET_VALUE1   = 0x600A,
    CR3_TARGET_VALUE2   = 0x600C,
    CR3_TARGET_VALUE3   = 0x600E,

    // Natural-width read-only data fields (B.4.2)
    EXIT_QUALIFICATION   = 0x6400,
    IO_RCX               = 0x6402,
    IO_RSI               = 0x6404,
    IO_RDI               = 0x6406,
    IO_RIP               = 0x6408,
    GUEST_LINEAR_ADDRESS = 0x640A,

    // Natural-width guest-state fields (B.4.3)
    GUEST_CR0                      = 0x6800,
    GUEST_CR3                      = 0x6802,
    GUEST_CR4                      = 0x6804,
    GUEST_ES_BASE                  = 0x6806,
    GUEST_CS_BASE                  = 0x6808,
    GUEST_SS_BASE                  = 0x680A,
    GUEST_DS_BASE                  = 0x680C,
    GUEST_FS_BASE                  = 0x680E,
    GUEST_GS_BASE                  = 0x6810,
    GUEST_LDTR_BASE                = 0x6812,
    GUEST_TR_BASE                  = 0x6814,
    GUEST_GDTR_BASE                = 0x6816,
    GUEST_IDTR_BASE                = 0x6818,
    GUEST_DR7                      = 0x681A,
    GUEST_RSP                      = 0x681C,
    GUEST_RIP                      = 0x681E,
    GUEST_RFLAGS                   = 0x6820,
    GUEST_PENDING_DEBUG_EXCEPTIONS = 0x6822,
    GUEST_IA32_SYSENTER_ESP        = 0x6824,
    GUEST_IA32_SYSENTER_EIP        = 0x6826,

    // Natural-width host-state fields (B.4.4)
    HOST_CR0               = 0x6C00,
    HOST_CR3               = 0x6C02,
    HOST_CR4               = 0x6C04,
    HOST_FS_BASE           = 0x6C06,
    HOST_GS_BASE           = 0x6C08,
    HOST_TR_BASE           = 0x6C0A,
    HOST_GDTR_BASE         = 0x6C0C,
    HOST_IDTR_BASE         = 0x6C0E,
    HOST_IA32_SYSENTER_ESP = 0x6C10,
    HOST_IA32_SYSENTER_EIP = 0x6C12,
    HOST_RSP               = 0x6C14,
    HOST_RIP               = 0x6C16,
};

// Encoding bits 14:13 (SDM 24.11.2, Table 24-21).
enum class Width : uint8_t { W16 = 0, W64 = 1, W32 = 2, Natural = 3 };

// Encoding bits 11:10.
enum class FieldType : uint8_t { Control = 0, ExitInfo = 1, Guest = 2, Host = 3 };

constexpr uint32_t encoding(Vmcs f) { return static_cast<uint32_t>(f); }

constexpr Width width(Vmcs f) { return static_cast<Width>((encoding(f) >> 13) & 3u); }

constexpr FieldType field_type(Vmcs f) { return static_cast<FieldType>((encoding(f) >> 10) & 3u); }

constexpr bool is_high_half(Vmcs f) { return (encoding(f) & 1u) != 0; }

// Type 1 holds the VM-exit information fields, which VMWRITE rejects unless
// IA32_VMX_MISC bit 29 says otherwise; treat them as read-only everywhere.
constexpr bool is_read_only(Vmcs f) { return field_type(f) == FieldType::ExitInfo; }

// Bytes one VMREAD/VMWRITE moves in 64-bit mode. A high-half encoding
// (access type 1) reads only the upper 32 bits of a 64-bit field.
constexpr unsigned access_bytes(Vmcs f) {
    switch (width(f)) {
    case Width::W16: return 2;
    case Width::W32: return 4;
    case Width::W64: return is_high_half(f) ? 4 : 8;
    case Width::Natural: return 8;
    }
    return 0;
}

// The value type of a field, from its width: what vmcs::read<F>() returns and
// the widest type vmcs::write<F>() accepts (arch/x86/vmx.hpp).
namespace vmcs {
template <Vmcs F>
using value_t =
    std::conditional_t<access_bytes(F) == 2, uint16_t, std::conditional_t<access_bytes(F) == 4, uint32_t, uint64_t>>;

// What vmcs::write<F>(T) accepts: a writable field and an integer no wider
// than it, so nothing is cut silently.
template <Vmcs F, typename T>
inline constexpr bool writable_v =
    !is_read_only(F) && (std::is_integral_v<T> || std::is_enum_v<T>)&&sizeof(T) <= access_bytes(F);
}  // namespace vmcs

static_assert(width(Vmcs::GUEST_RIP) == Width::Natural);
static_assert(width(Vmcs::VMCS_LINK_POINTER) == Width::W64);
static_assert(width(Vmcs::PIN_BASED_CONTROLS) == Width::W32);
static_assert(width(Vmcs::GUEST_CS_SELECTOR) == Width::W16);
static_assert(is_read_only(Vmcs::EXIT_REASON) && !is_read_only(Vmcs::GUEST_RIP));

}  // namespace natsume::x86
