// Fault-safe forms of the privileged instructions the hypervisor executes
// with a guest-supplied value (WRMSR, RDMSR, XSETBV). Each marked instruction
// has an entry in the exception-fixup table (section .natsume_fixup): a
// root-mode #GP or #UD on it resumes at its fix-up stub, which reports the
// fault to the caller, instead of reaching the hypervisor's panic path.
// A fault on any other instruction is still a hypervisor bug and panics.
#pragma once
#include <stdint.h>

namespace natsume::x86 {

struct TrapFrame;

// One table entry: where the marked instruction is and where to resume.
struct FixupEntry {
    uint64_t insn, fixup;
};

// Exception entry: true when f->rip is a marked instruction (f->rip is then
// moved to its fix-up stub and the vector recorded for fixup_vector()).
[[nodiscard]] bool apply_fixup(TrapFrame* f);
// Number of faults taken on marked instructions since boot, on every core.
uint64_t fixups_taken();

// Emits the table entry for local label 1 -> 3 and the stub at 3 that sets
// the fault flag and jumps back to 2 (after the instruction).
#define NATSUME_FIXUP_ASM(insn)            \
    "1: " insn                             \
    "\n"                                   \
    "2:\n"                                 \
    ".pushsection .natsume_fixup, \"a\"\n" \
    ".balign 8\n"                          \
    ".quad 1b, 3f\n"                       \
    ".popsection\n"                        \
    ".pushsection .text.fixup, \"ax\"\n"   \
    "3: movl $1, %[fault]\n"               \
    "jmp 2b\n"                             \
    ".popsection\n"

[[nodiscard]] inline bool rdmsr_safe(uint32_t msr, uint64_t& value) {
    uint32_t lo = 0, hi = 0, fault = 0;
    asm volatile(NATSUME_FIXUP_ASM("rdmsr") : "+a"(lo), "+d"(hi), [fault] "+r"(fault) : "c"(msr) : "memory");
    value = (uint64_t(hi) << 32) | lo;
    return fault == 0;
}

// WRMSR and XSETBV take the register number in ECX and the value in EDX:EAX.
#define NATSUME_SAFE_ECX_EDX_EAX(name, insn)                                        \
    [[nodiscard]] inline bool name(uint32_t index, uint64_t value) {                \
        uint32_t fault = 0;                                                         \
        asm volatile(NATSUME_FIXUP_ASM(insn)                                        \
                     : [fault] "+r"(fault)                                          \
                     : "c"(index), "a"(uint32_t(value)), "d"(uint32_t(value >> 32)) \
                     : "memory");                                                   \
        return fault == 0;                                                          \
    }
NATSUME_SAFE_ECX_EDX_EAX(wrmsr_safe, "wrmsr")
NATSUME_SAFE_ECX_EDX_EAX(xsetbv_safe, "xsetbv")
#undef NATSUME_SAFE_ECX_EDX_EAX

// A one-byte store that reports a page fault instead of taking it: used only
// to verify at boot that read-only and unmapped host pages really are.
[[nodiscard]] inline bool store8_faults(volatile uint8_t* p, uint8_t v) {
    uint32_t fault = 0;
    asm volatile(NATSUME_FIXUP_ASM("movb %[v], (%[p])") : [fault] "+r"(fault) : [p] "r"(p), [v] "q"(v) : "memory");
    return fault != 0;
}

#undef NATSUME_FIXUP_ASM

}  // namespace natsume::x86
