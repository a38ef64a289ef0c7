// Control registers, XSETBV and the exceptions Natsume intercepts (#AC, #DB):
// every guest value is checked the way the processor would check it
// (vdev/control_regs.hpp, vdev/xcr0.hpp) before it reaches the VMCS or the
// hardware, and an architectural fault stays the guest's own #GP or #UD.

#include <natsume/bootinfo.h>

#include "drivers/x86/cpu.hpp"

#include "arch/x86/exit_context.hpp"
#include "arch/x86/safe_access.hpp"
#include "arch/x86/vcpu.hpp"
#include "arch/x86/vmx.hpp"
#include "arch/x86/vmx_caps.hpp"
#include "base/log.hpp"
#include "vdev/control_regs.hpp"
#include "vdev/xcr0.hpp"

namespace natsume::x86 {

namespace {

Action fault(Vcpu& v, uint8_t vector, const char* what, const char* why) {
    partition_refuse(v.part, Refusal::Instruction, "%s at RIP 0x%lx: %s, %s injected", what,
                     vmcs::read<Vmcs::GUEST_RIP>(), why, vector == VEC_UD ? "#UD" : "#GP");
    inject_hw_exception(vector, vector == VEC_GP, 0);
    return Action::Resume;
}

void load_cr0(uint64_t value) {
    const VmxPlatform& p = vmx_platform;
    vmcs::write<Vmcs::CR0_READ_SHADOW>(value);
    vmcs::write<Vmcs::GUEST_CR0>(fixed_cr(value | cr0::PG, p.cr0_fixed0, p.cr0_fixed1));
}

// Global translations too: the tables under the guest change (this core runs only this partition).
bool flush_guest_tlb(const Vcpu& v) { return invvpid(InvvpidType::AllContext, v.part.x86.vpid); }

// The paging-off window (vdev/control_regs.hpp): Linux's AP trampoline drops
// from 64-bit to compatibility mode, clears CR0.PG, loads CR3, CR4 and EFER
// and sets CR0.PG again (realmode/rm/trampoline_64.S). Without unrestricted
// guest the processor cannot run unpaged, so it stays in IA-32e mode on the
// hypervisor's identity tables (the partition's boot tables, guest-physical
// NATSUME_GUEST_PML4_GPA: linear = physical, as with paging off); the guest
// reads CR0.PG = 0 and EFER.LMA = 0, and its CR3 loads and reads are trapped
// and kept aside until paging comes back on. Only the guest itself depends on
// those tables: every address still goes through its EPT.
Action open_paging_window(Vcpu& v, uint64_t value) {
    VcpuState& s = v.cpu.vcpu;
    s.paging_off = true;
    s.window_cr3 = vmcs::read<Vmcs::GUEST_CR3>();
    load_cr0(value);
    vmcs::write<Vmcs::GUEST_CR3>(NATSUME_GUEST_PML4_GPA);
    vmcs::write<Vmcs::PRIMARY_PROC_CONTROLS>(vmx_platform.proc | proc::CR3_LOAD_EXITING | proc::CR3_STORE_EXITING);
    if (!flush_guest_tlb(v)) return stop(v, "INVVPID when the partition turned paging off failed");
    if (!s.window_logged)
        log::print(
            "natsume: partition %s: core %u turned paging off in compatibility mode at RIP 0x%lx: it runs on the "
            "hypervisor's identity tables until it turns paging on\n",
            v.part.name(), v.cpu.shared.apic_id, vmcs::read<Vmcs::GUEST_RIP>());
    s.window_logged = true;
    skip_instruction();
    return Action::Resume;
}

Action close_paging_window(Vcpu& v, uint64_t value) {
    VcpuState& s    = v.cpu.vcpu;
    uint64_t load   = 0;
    cregs::Result r = cregs::check_cr3(s.window_cr3, vmx_platform.maxphyaddr, false, &load);
    if (r.verdict != cregs::Verdict::Ok)
        return stop(v, "MOV to CR0 0x%lx turns paging on with CR3 0x%lx: %s", value, s.window_cr3, r.why);
    s.paging_off = false;
    load_cr0(value);
    vmcs::write<Vmcs::GUEST_CR3>(load);
    vmcs::write<Vmcs::PRIMARY_PROC_CONTROLS>(vmx_platform.proc);
    if (!flush_guest_tlb(v)) return stop(v, "INVVPID when the partition turned paging on failed");
    skip_instruction();
    return Action::Resume;
}

Action mov_to_cr0(Vcpu& v, uint64_t value) {
    const bool lme  = vmcs::read<Vmcs::GUEST_IA32_EFER>() & efer::LME;
    cregs::Result r = cregs::check_cr0(value, guest_in_64bit_code(), v.cpu.vcpu.paging_off, lme);
    switch (r.verdict) {
    case cregs::Verdict::Unsupported: return stop(v, "MOV to CR0 0x%lx: %s", value, r.why);
    case cregs::Verdict::Gp: return fault(v, VEC_GP, "MOV to CR0", r.why);
    case cregs::Verdict::PagingOff: return open_paging_window(v, value);
    case cregs::Verdict::PagingOn: return close_paging_window(v, value);
    case cregs::Verdict::Ok: break;
    }
    load_cr0(value);
    skip_instruction();
    return Action::Resume;
}

Action mov_to_cr4(Vcpu& v, uint64_t value) {
    const VmxPlatform& p = vmx_platform;
    uint64_t old         = vmcs::read<Vmcs::GUEST_CR4>() & ~cr4::VMXE;  // VMXE is the hypervisor's, never the guest's
    cregs::Result r      = cregs::check_cr4(value, old, p.cr4_fixed1 & ~cr4::VMXE, vmcs::read<Vmcs::GUEST_CR3>());
    if (r.verdict != cregs::Verdict::Ok) return fault(v, VEC_GP, "MOV to CR4", r.why);
    vmcs::write<Vmcs::CR4_READ_SHADOW>(value);
    vmcs::write<Vmcs::GUEST_CR4>(fixed_cr(value, p.cr4_fixed0, p.cr4_fixed1));
    skip_instruction();
    return Action::Resume;
}

Action mov_to_cr3(Vcpu& v, uint64_t value) {
    if (v.cpu.vcpu.paging_off) {  // kept until paging comes back on (checked then)
        v.cpu.vcpu.window_cr3 = value;
        skip_instruction();
        return Action::Resume;
    }
    uint64_t load   = 0;
    bool pcide      = vmcs::read<Vmcs::GUEST_CR4>() & cregs::cr4::PCIDE;
    cregs::Result r = cregs::check_cr3(value, vmx_platform.maxphyaddr, pcide, &load);
    if (r.verdict != cregs::Verdict::Ok) return fault(v, VEC_GP, "MOV to CR3", r.why);
    vmcs::write<Vmcs::GUEST_CR3>(load);
    // The guest's own MOV to CR3 would have flushed its non-global TLB entries
    // (unless PCIDE and the no-flush bit); with VPID, the exit did not.
    if (!(pcide && (value >> 63)) && !invvpid(static_cast<InvvpidType>(vmx_platform.cr3_flush_type), v.part.x86.vpid))
        return stop(v, "INVVPID for the partition's MOV to CR3 failed");
    skip_instruction();
    return Action::Resume;
}

// Reflects an intercepted exception back into the guest.
Action reflect(Vcpu& v, uint32_t info) {
    auto vector        = static_cast<uint8_t>(info & intr_info::VECTOR_MASK);
    uint32_t vectoring = vmcs::read<Vmcs::IDT_VECTORING_INFO>();
    // An exception raised while the processor delivers an event (the
    // CVE-2015-5307 #AC and CVE-2015-8104 #DB loops start this way) would need
    // both events emulated: the partition stops instead of looping.
    if (vectoring & intr_info::VALID)
        return stop(v, "exception %u raised while delivering vector %u (IDT-vectoring 0x%x): exception loop", vector,
                    vectoring & intr_info::VECTOR_MASK, vectoring);
    uint64_t rip      = vmcs::read<Vmcs::GUEST_RIP>();
    VcpuState& s      = v.cpu.vcpu;
    s.reflect_repeats = (s.reflect_rip == rip && s.reflect_vector == vector) ? s.reflect_repeats + 1 : 0;
    s.reflect_rip     = rip;
    s.reflect_vector  = vector;
    if (s.reflect_repeats >= REFLECT_LOOP_LIMIT)
        return stop(v, "exception %u at RIP 0x%lx reflected %u times without progress: exception loop", vector, rip,
                    s.reflect_repeats);
    if (vector == VEC_DB) {
        // A #DB exit leaves DR6 untouched and reports its bits in the
        // qualification (SDM Vol. 3C 28.2.1): DR6 gets them before delivery.
        uint64_t q   = vmcs::read<Vmcs::EXIT_QUALIFICATION>();
        uint64_t dr6 = DR6_FIXED_ONES | (q & DR6_EXIT_BITS);
        if (q & DR6_RTM) dr6 &= ~DR6_RTM;
        asm volatile("mov %0, %%dr6" ::"r"(dr6));
    }
    auto type      = static_cast<InterruptionType>((info & intr_info::TYPE_MASK) >> intr_info::TYPE_SHIFT);
    bool has_error = info & intr_info::ERROR_CODE_VALID;
    vmcs::write<Vmcs::ENTRY_INTERRUPTION_INFO>(make_intr_info(vector, type, has_error));
    if (has_error) vmcs::write<Vmcs::ENTRY_EXCEPTION_ERROR_CODE>(vmcs::read<Vmcs::EXIT_INTERRUPTION_ERROR_CODE>());
    if (type == InterruptionType::PrivilegedSoftwareException || type == InterruptionType::SoftwareException)
        vmcs::write<Vmcs::ENTRY_INSTRUCTION_LENGTH>(vmcs::read<Vmcs::EXIT_INSTRUCTION_LENGTH>());
    return Action::Resume;
}

}  // namespace

Action on_cr_access(Vcpu& v) {
    CrAccess a = decode_cr_access(vmcs::read<Vmcs::EXIT_QUALIFICATION>());
    if (a.type == CrAccessType::MovToCr) {
        uint64_t value = gpr(v.regs, a.gpr);
        if (a.cr == 0) return mov_to_cr0(v, value);
        if (a.cr == 4) return mov_to_cr4(v, value);
        if (a.cr == 3) return mov_to_cr3(v, value);
    }
    if (a.cr == 3 && a.type == CrAccessType::MovFromCr) {
        set_gpr(v.regs, a.gpr, v.cpu.vcpu.paging_off ? v.cpu.vcpu.window_cr3 : vmcs::read<Vmcs::GUEST_CR3>());
        skip_instruction();
        return Action::Resume;
    }
    return stop(v, "unsupported control-register access (qualification 0x%lx)", vmcs::read<Vmcs::EXIT_QUALIFICATION>());
}

Action on_exception_or_nmi(Vcpu& v) {
    uint32_t info   = vmcs::read<Vmcs::EXIT_INTERRUPTION_INFO>();
    uint32_t vector = info & intr_info::VECTOR_MASK;
    if (vector == 2) {  // NMI: hypervisor control (mailbox, later)
        v.part.counters.nmis++;
        return Action::Resume;
    }
    if (vector == VEC_DB || vector == VEC_AC) return reflect(v, info);
    return stop(v, "unexpected exception exit (interruption info 0x%x)", info);
}

Action on_xsetbv(Vcpu& v) {
    const char* why = nullptr;
    xcr0::Request r{static_cast<uint32_t>(v.regs.rcx), (v.regs.rdx << 32) | static_cast<uint32_t>(v.regs.rax),
                    vmx_platform.xsave && (vmcs::read<Vmcs::GUEST_CR4>() & cr4::OSXSAVE), guest_cpl(),
                    vmx_platform.xcr0_supported};
    xcr0::Verdict verdict = xcr0::check(r, &why);
    if (verdict == xcr0::Verdict::Ud) return fault(v, VEC_UD, "XSETBV", why);
    if (verdict == xcr0::Verdict::Gp) return fault(v, VEC_GP, "XSETBV", why);
    if (!xsetbv_safe(r.index, r.value)) return fault(v, VEC_GP, "XSETBV", "the processor faulted on the value");
    skip_instruction();
    return Action::Resume;
}

}  // namespace natsume::x86
