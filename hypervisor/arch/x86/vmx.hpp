// VMX instructions and typed VMCS access (SDM Vol. 3C 30, "VMX instruction reference").
#pragma once
#include <stdint.h>

#include "arch/x86/vmcs_fields.hpp"
#include "arch/x86/vmx_defs.hpp"

namespace natsume::x86 {

// Reads a VMCS field of the current VMCS. The VMCS is always valid when
// this is called (exit handlers, after VMPTRLD), so no failure path.
inline uint64_t vmread(Vmcs f) {
    uint64_t v;
    asm volatile("vmread %1, %0" : "=rm"(v) : "r"(uint64_t(encoding(f))) : "cc");
    return v;
}

// Typed read: rejects at compile time a value type narrower than the field.
template <Vmcs F, typename T>
inline T vmread_as() {
    static_assert(fits_v<F, T>, "value type does not match the VMCS field width");
    return static_cast<T>(vmread(F));
}

// VMWRITE; false when the CPU refused (e.g. an unsupported field).
[[nodiscard]] inline bool vmwrite(Vmcs f, uint64_t v) {
    bool fail;
    asm volatile("vmwrite %2, %1; setna %0" : "=qm"(fail) : "r"(uint64_t(encoding(f))), "rm"(v) : "cc", "memory");
    return !fail;
}

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
    struct { uint64_t eptp, reserved; } desc{0, 0};
    bool fail;
    asm volatile("invept %1, %2; setna %0" : "=qm"(fail) : "m"(desc), "r"(uint64_t(2)) : "cc", "memory");
    return !fail;
}
// INVVPID (SDM Vol. 3C 30.3): type 3 flushes one VPID's mappings except
// global ones — what a guest's own MOV to CR3 would have done.
[[nodiscard]] inline bool invvpid(InvvpidType type, uint16_t vpid) {
    struct { uint64_t vpid, linear; } desc{vpid, 0};
    bool fail;
    asm volatile("invvpid %1, %2; setna %0" : "=qm"(fail) : "m"(desc), "r"(static_cast<uint64_t>(type)) : "cc", "memory");
    return !fail;
}

}  // namespace natsume::x86
