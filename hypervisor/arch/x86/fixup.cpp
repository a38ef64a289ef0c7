// The exception-fixup table of safe_access.hpp, searched by the exception entry.

#include <atomic>

#include "arch/x86/percpu.hpp"
#include "arch/x86/safe_access.hpp"

extern "C" const natsume::x86::FixupEntry __fixup_start[], __fixup_end[];

namespace natsume::x86 {

namespace {
constexpr uint64_t VEC_UD = 6, VEC_GP = 13, VEC_PF = 14;
std::atomic<uint64_t> taken;  // any core may take a fixup
}  // namespace

bool apply_fixup(TrapFrame* f) {
    // Only the faults a guest value can cause on these instructions (SDM Vol. 2:
    // WRMSR/RDMSR #GP(0); XSETBV #GP(0) or #UD), and the boot-time page probe's #PF.
    if (f->vector != VEC_GP && f->vector != VEC_UD && f->vector != VEC_PF) return false;
    for (const FixupEntry* e = __fixup_start; e != __fixup_end; ++e) {
        if (e->insn != f->rip) continue;
        f->rip = e->fixup;
        taken.fetch_add(1, std::memory_order_relaxed);
        return true;
    }
    return false;
}

uint64_t fixups_taken() { return taken.load(std::memory_order_relaxed); }

}  // namespace natsume::x86
