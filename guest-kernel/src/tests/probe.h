// Fault-guarded instructions for tests that expect the hypervisor (or the
// CPU) to refuse them: each probe runs one instruction with a fix-up
// address, so a #GP, #UD, #PF, #AC... there resumes after it and is
// returned instead of stopping the kernel. The generalisation of the
// FaultGuard of attack.cpp.
#pragma once
#include <stdint.h>

namespace natsume::guest::probe {

inline constexpr int NONE = -1;
// Architectural vectors the probes report (SDM Vol. 3A table 6-1).
inline constexpr int DB = 1;
inline constexpr int UD = 6;
inline constexpr int GP = 13;
inline constexpr int PF = 14;
inline constexpr int AC = 17;

struct Fault {
    int vector     = NONE;  // NONE: the instruction completed
    uint64_t error = 0;
    bool none() const { return vector == NONE; }
    bool is(int v) const { return vector == v; }
};

// "none", "#GP", ... for result lines.
const char* name(const Fault& f);

// Installs the fix-up handler on every exception vector a probe can raise
// (all but NMI, #DF and #MC). Call once before the first probe.
void install();

Fault rdmsr(uint32_t msr, uint64_t& out);
Fault wrmsr(uint32_t msr, uint64_t v);
Fault xgetbv(uint32_t index, uint64_t& out);
Fault xsetbv(uint32_t index, uint64_t v);
uint64_t read_cr0();
uint64_t read_cr4();
Fault write_cr0(uint64_t v);
Fault write_cr4(uint64_t v);

// Memory accesses of 1, 2, 4 or 8 bytes (any other size: #UD reported).
Fault load(uintptr_t addr, unsigned size, uint64_t& out);
Fault store(uintptr_t addr, unsigned size, uint64_t v);
// rep movsl of `dwords` from src to dst, rep insb of `count` bytes.
Fault rep_movsl(uintptr_t dst, const void* src, uint64_t dwords);
Fault rep_insb(uint16_t port, void* dst, uint64_t count);
// Port I/O of 1, 2 or 4 bytes.
Fault in(uint16_t port, unsigned size, uint32_t& out);
Fault out(uint16_t port, unsigned size, uint32_t v);

// A 32-bit store executed in compatibility mode (a far return into the
// 32-bit code segment and a far jump back): the hypervisor's instruction
// decoder sees a non-64-bit instruction. addr must be below 4 GiB.
Fault store32_compat(uint32_t addr, uint32_t v);

enum class Vmx : uint8_t { Vmxon, Vmclear, Vmptrld, Vmread, Vmwrite, Vmlaunch, Vmresume, Vmxoff, Invept, Invvpid };
// One VMX instruction with harmless operands (a zeroed, aligned page; field 0).
Fault vmx(Vmx insn);
Fault invd();
Fault wbinvd();
// VMCALL: number in RAX, arguments in RDI, RSI, RDX; the result in `ret`.
Fault vmcall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, int64_t& ret);

}  // namespace natsume::guest::probe
