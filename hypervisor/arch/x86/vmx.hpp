// VMX instructions and typed VMCS access (SDM Vol. 3C 30, "VMX instruction reference").
#pragma once
#include <stdint.h>
#include <type_traits>

#include "arch/x86/vmcs_fields.hpp"
#include "arch/x86/vmx_defs.hpp"

namespace natsume::x86 {

// Raw VMREAD of the current VMCS: only for code that walks fields it holds in
// a table (the VMCS set-up and dump); everything else uses vmcs::read<F>().
inline uint64_t vmread(Vmcs f) {
    uint64_t v;
    asm volatile("vmread %1, %0" : "=rm"(v) : "r"(uint64_t(encoding(f))) : "cc");
    return v;
}

// Raw VMWRITE; false when the CPU refused (an unsupported field, or no current
// VMCS). Only the VMCS set-up, which reports the first refused field, uses it.
[[nodiscard]] inline bool try_vmwrite(Vmcs f, uint64_t v) {
    bool fail;
    asm volatile("vmwrite %2, %1; setna %0" : "=qm"(fail) : "r"(uint64_t(encoding(f))), "rm"(v) : "cc", "memory");
    return !fail;
}

namespace vmcs {
// Prints the field and the VM-instruction error, then stops the machine: a
// refused VMWRITE of a field the set-up wrote successfully is a hypervisor bug.
[[noreturn]] void write_failed(Vmcs f);

// VMREAD of the current VMCS. It cannot fail where it is used: exit handlers
// run on the VMCS that just exited.
template <Vmcs F>
inline value_t<F> read() {
    uint64_t v = vmread(F);
    // VMREAD clears the destination's bits above the field (SDM 30.3, VMREAD):
    // telling the compiler saves a zero extension on every use.
    if constexpr (access_bytes(F) < 8)
        if (v >> (8 * access_bytes(F))) __builtin_unreachable();
    return static_cast<value_t<F>>(v);
}

// VMWRITE of the current VMCS. A value wider than the field is rejected at
// compile time, so nothing is silently cut; a refused write is fatal and says
// which field (the same instruction count as an unchecked write: the branch
// replaces the flag store).
template <Vmcs F, typename T>
inline void write(T value) {
    static_assert(writable_v<F, T>, "read-only field, or a value type wider than the field");
    asm goto("vmwrite %1, %0; jna %l[refused]" ::"r"(uint64_t(encoding(F))), "rm"(uint64_t(value))
             : "cc", "memory"
             : refused);
    return;
refused:
    write_failed(F);
}
}  // namespace vmcs

// Outcome of VMXON / VMCLEAR / VMPTRLD / INVEPT / INVVPID (SDM 30.2: CF = VMfailInvalid, ZF = VMfailValid).
[[nodiscard]] inline bool vmxon(uint64_t phys) {
    bool fail;
    asm volatile("vmxon %1; setna %0" : "=qm"(fail) : "m"(phys) : "cc", "memory");
    return !fail;
}
[[nodiscard]] inline bool vmclear(uint64_t phys) {
    bool fail;
    asm volatile("vmclear %1; setna %0" : "=qm"(fail) : "m"(phys) : "cc", "memory");
    return !fail;
}
[[nodiscard]] inline bool vmptrld(uint64_t phys) {
    bool fail;
    asm volatile("vmptrld %1; setna %0" : "=qm"(fail) : "m"(phys) : "cc", "memory");
    return !fail;
}
[[nodiscard]] inline bool invept_all() {
    struct {
        uint64_t eptp, reserved;
    } desc{0, 0};
    bool fail;
    asm volatile("invept %1, %2; setna %0" : "=qm"(fail) : "m"(desc), "r"(uint64_t(2)) : "cc", "memory");
    return !fail;
}
// INVVPID (SDM Vol. 3C 30.3): type 3 flushes one VPID's mappings except
// global ones — what a guest's own MOV to CR3 would have done.
[[nodiscard]] inline bool invvpid(InvvpidType type, uint16_t vpid) {
    struct {
        uint64_t vpid, linear;
    } desc{vpid, 0};
    bool fail;
    asm volatile("invvpid %1, %2; setna %0"
                 : "=qm"(fail)
                 : "m"(desc), "r"(static_cast<uint64_t>(type))
                 : "cc", "memory");
    return !fail;
}

}  // namespace natsume::x86
