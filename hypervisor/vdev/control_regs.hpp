// Which MOV-to-CR0/CR3/CR4 values a partition's guest may load, decided the
// way the processor would (SDM Vol. 2B "MOV—Move to/from Control Registers",
// 64-bit mode exceptions; Vol. 3A 2.5). A guest always runs in IA-32e mode
// with paging on (no unrestricted guest needed). Turning paging off from
// compatibility mode (Linux's AP trampoline does, for a few instructions)
// opens a paging-off window: the processor stays paged on the hypervisor's
// identity tables while the guest reads CR0.PG = 0, until it turns paging on
// again with EFER.LME set. Leaving protected mode, or paging without long
// mode, is "unsupported" (the partition stops with a reason); every
// architectural #GP stays a #GP for the guest.
#pragma once
#include <stdint.h>

namespace natsume::cregs {

namespace cr0 {
inline constexpr uint64_t PE = 1ull << 0, NW = 1ull << 29, CD = 1ull << 30, PG = 1ull << 31;
}
namespace cr4 {
inline constexpr uint64_t PAE = 1ull << 5, VMXE = 1ull << 13, PCIDE = 1ull << 17, OSXSAVE = 1ull << 18,
                          LA57 = 1ull << 12;
}

enum class Verdict : uint8_t {
    Ok,
    Gp,
    Unsupported,
    PagingOff,  // MOV to CR0 opens the paging-off window
    PagingOn,   // MOV to CR0 closes it: CR3 takes what the guest wrote meanwhile
};

struct Result {
    Verdict verdict;
    const char* why;  // nullptr when Ok
};

// in_64bit_code: CS.L of the guest (64-bit mode rather than compatibility
// mode); paging_off: the guest is inside its paging-off window; lme: its EFER.LME.
Result check_cr0(uint64_t value, bool in_64bit_code, bool paging_off = false, bool lme = true);
// fixed1: IA32_VMX_CR4_FIXED1 (bits the CPU allows set). VMXE is refused: no nested VMX.
Result check_cr4(uint64_t value, uint64_t old, uint64_t fixed1, uint64_t cr3);
// pcide: the guest's CR4.PCIDE. On Ok, *load is the value CR3 takes (bit 63,
// the no-flush hint, cleared).
Result check_cr3(uint64_t value, uint8_t maxphyaddr, bool pcide, uint64_t* load);

}  // namespace natsume::cregs
