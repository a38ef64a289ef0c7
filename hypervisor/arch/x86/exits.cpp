// VM-exit handling: one small handler per basic exit reason, chosen from a
// table. A handler either resumes the guest or stops its partition; it never
// stops the hypervisor or another partition.
#include <initializer_list>
#include <natsume/hypercall.h>

#include "arch/x86/cpu.hpp"
#include "arch/x86/exit_context.hpp"
#include "arch/x86/vcpu.hpp"
#include "arch/x86/vmx.hpp"
#include "arch/x86/vmx_caps.hpp"
#include "core/boot.hpp"
#include "core/log.hpp"

namespace natsume::x86 {
namespace {

// --- handlers ---------------------------------------------------------------

Action on_cpuid(Vcpu& v) {
    auto leaf = static_cast<uint32_t>(v.regs.rax), sub = static_cast<uint32_t>(v.regs.rcx);
    CpuidResult r{};
    if (leaf == NATSUME_CPUID_BASE) {
        r = {NATSUME_CPUID_VERSION, NATSUME_CPUID_SIG_EBX, NATSUME_CPUID_SIG_ECX, NATSUME_CPUID_SIG_EDX};
    } else if (leaf == NATSUME_CPUID_VERSION) {
        r.eax = (NATSUME_VERSION_MAJOR << 16) | NATSUME_VERSION_MINOR;
    } else if ((leaf & 0xf0000000u) == 0x40000000u) {
        r = {};
    } else {
        r = cpuid(leaf, sub);
        if (leaf == 1) {
            r.ecx &= ~CPUID1_ECX_VMX;       // no nested VMX
            r.ecx |= 1u << 31;              // "hypervisor present"
            // Initial APIC ID in EBX[31:24] is the core's own: the vCPU is pinned to it.
        }
    }
    v.regs.rax = r.eax; v.regs.rbx = r.ebx; v.regs.rcx = r.ecx; v.regs.rdx = r.edx;
    skip_instruction();
    return Action::Resume;
}


Action on_hlt(Vcpu&) {
    // HLT exiting is off on partition cores; if a CPU forces it, halt in the
    // guest's own activity state so its interrupts still wake it directly.
    skip_instruction();
    (void)vmwrite(Vmcs::GUEST_ACTIVITY_STATE, static_cast<uint32_t>(ActivityState::Hlt));
    return Action::Resume;
}

// Ports 0xCF8-0xCFF: configuration mechanism #1 against the partition's
// virtual config space (its own devices and a virtual host bridge only).

Action on_cr_access(Vcpu& v) {
    CrAccess a = decode_cr_access(vmread(Vmcs::EXIT_QUALIFICATION));
    const VmxPlatform& p = vmx_platform;
    if (a.type == CrAccessType::MovToCr && (a.cr == 0 || a.cr == 4)) {
        uint64_t value = gpr(v.regs, a.gpr);
        bool cr0 = a.cr == 0;
        uint64_t f0 = cr0 ? p.cr0_fixed0 : p.cr4_fixed0, f1 = cr0 ? p.cr0_fixed1 : p.cr4_fixed1;
        if (cr0 && (value & (cr0::PG | cr0::PE)) != (cr0::PG | cr0::PE))
            return stop(v, "guest cleared CR0.PG/PE (value 0x%lx): leaving paged mode needs unrestricted guest", value);
        if (!cr0 && (value & cr4::VMXE)) { inject_hw_exception(VEC_GP, true, 0); return Action::Resume; }
        (void)vmwrite(cr0 ? Vmcs::CR0_READ_SHADOW : Vmcs::CR4_READ_SHADOW, value);
        (void)vmwrite(cr0 ? Vmcs::GUEST_CR0 : Vmcs::GUEST_CR4, fixed_cr(value, f0, f1));
        skip_instruction();
        return Action::Resume;
    }
    if (a.cr == 3 && a.type == CrAccessType::MovToCr) {
        (void)vmwrite(Vmcs::GUEST_CR3, gpr(v.regs, a.gpr));
        skip_instruction();
        return Action::Resume;
    }
    if (a.cr == 3 && a.type == CrAccessType::MovFromCr) {
        set_gpr(v.regs, a.gpr, vmread(Vmcs::GUEST_CR3));
        skip_instruction();
        return Action::Resume;
    }
    return stop(v, "unsupported control-register access (qualification 0x%lx)", vmread(Vmcs::EXIT_QUALIFICATION));
}

Action on_exception_or_nmi(Vcpu& v) {
    uint32_t info = static_cast<uint32_t>(vmread(Vmcs::EXIT_INTERRUPTION_INFO));
    if ((info & intr_info::VECTOR_MASK) == 2) {   // NMI: hypervisor control (mailbox, later)
        v.part.counters.nmis++;
        return Action::Resume;
    }
    return stop(v, "unexpected exception exit (interruption info 0x%x)", info);
}

Action on_external_interrupt(Vcpu&) { return Action::Resume; }

// INIT is never delivered to a partition core: in VMX non-root operation it
// causes this exit instead (SDM 25.2). Another partition (lapic = passthrough
// can send one) must not be able to reset this core, so it is dropped.
Action on_init_signal(Vcpu& v) {
    v.part.counters.refused_other++;
    partition_log_refusal(v.part, "INIT signal at RIP 0x%lx ignored: a core is reset only by the hypervisor",
                          vmread(Vmcs::GUEST_RIP));
    return Action::Resume;
}

Action on_sipi(Vcpu& v) {
    v.part.counters.refused_other++;
    partition_log_refusal(v.part, "start-up IPI ignored");
    return Action::Resume;
}

Action on_triple_fault(Vcpu& v) { return stop(v, "triple fault (the guest could not deliver an exception)"); }


Action on_ept_misconfig(Vcpu& v) {
    return stop(v, "EPT misconfiguration at guest-physical 0x%lx (hypervisor bug)", vmread(Vmcs::GUEST_PHYSICAL_ADDRESS));
}

Action on_invd(Vcpu&) {
    asm volatile("wbinvd" ::: "memory");   // INVD would discard other partitions' dirty lines
    skip_instruction();
    return Action::Resume;
}

Action on_xsetbv(Vcpu& v) {
    auto index = static_cast<uint32_t>(v.regs.rcx);
    uint64_t value = (v.regs.rdx << 32) | static_cast<uint32_t>(v.regs.rax);
    CpuidResult x = cpuid(0xd, 0);
    uint64_t supported = (uint64_t(x.edx) << 32) | x.eax;
    if (index != 0 || !(value & 1) || (value & ~supported) || !(read_cr4() & (1u << 18))) {
        inject_hw_exception(VEC_GP, true, 0);
        return Action::Resume;
    }
    asm volatile("xsetbv" ::"c"(index), "a"(uint32_t(value)), "d"(uint32_t(value >> 32)));
    skip_instruction();
    return Action::Resume;
}

Action on_vmx_instruction(Vcpu& v) {
    v.part.counters.refused_other++;
    partition_log_refusal(v.part, "VMX instruction (exit reason %u) at RIP 0x%lx: #UD injected", v.reason,
                          vmread(Vmcs::GUEST_RIP));
    inject_hw_exception(VEC_UD, false);
    return Action::Resume;
}

Action on_unhandled(Vcpu& v) {
    return stop(v, "unhandled VM exit %u (%s)", v.reason, to_string(static_cast<ExitReason>(v.reason)));
}

struct HandlerTable {
    Handler h[EXIT_REASON_SLOTS];
    constexpr HandlerTable() : h{} {
        for (auto& x : h) x = on_unhandled;
        auto set = [this](ExitReason r, Handler f) { h[static_cast<uint16_t>(r)] = f; };
        set(ExitReason::ExceptionOrNmi, on_exception_or_nmi);
        set(ExitReason::ExternalInterrupt, on_external_interrupt);
        set(ExitReason::TripleFault, on_triple_fault);
        set(ExitReason::InitSignal, on_init_signal);
        set(ExitReason::StartupIpi, on_sipi);
        set(ExitReason::Cpuid, on_cpuid);
        set(ExitReason::Hlt, on_hlt);
        set(ExitReason::Invd, on_invd);
        set(ExitReason::Vmcall, on_vmcall);
        set(ExitReason::CrAccess, on_cr_access);
        set(ExitReason::IoInstruction, on_io);
        set(ExitReason::Rdmsr, on_rdmsr);
        set(ExitReason::Wrmsr, on_wrmsr);
        set(ExitReason::EptViolation, on_ept_violation);
        set(ExitReason::EptMisconfiguration, on_ept_misconfig);
        set(ExitReason::Xsetbv, on_xsetbv);
        for (ExitReason r : {ExitReason::Vmclear, ExitReason::Vmlaunch, ExitReason::Vmptrld, ExitReason::Vmptrst,
                             ExitReason::Vmread, ExitReason::Vmresume, ExitReason::Vmwrite, ExitReason::Vmxoff,
                             ExitReason::Vmxon, ExitReason::Invept, ExitReason::Invvpid, ExitReason::Getsec})
            set(r, on_vmx_instruction);
    }
};
constexpr HandlerTable handlers;

[[noreturn]] void stop_partition(Partition& p, const char* reason) {
    partition_report_stop(p, reason);
    this_cpu().state = CpuState::Parked;
    boot::notify_partition_stopped();
    halt_forever();
}

}  // namespace
}  // namespace natsume::x86

using namespace natsume;
using namespace natsume::x86;

extern "C" void vmx_exit_dispatch(GuestRegs* regs) {
    PerCpu& c = this_cpu();
    Partition& p = *c.partition;
    auto raw = static_cast<uint32_t>(vmread(Vmcs::EXIT_REASON));
    Vcpu v{c, p, *regs, static_cast<uint32_t>(basic_exit_reason(raw)), {}};
    if (v.reason < EXIT_REASON_SLOTS) p.counters.exits[v.reason]++;
    if (entry_failed(raw)) {
        log::format(v.stop_reason, sizeof v.stop_reason, "VM entry failed: exit reason %u (%s), qualification 0x%lx",
                    v.reason, to_string(static_cast<ExitReason>(v.reason)), vmread(Vmcs::EXIT_QUALIFICATION));
        dump_registers(v);
        stop_partition(p, v.stop_reason);
    }
    Handler h = v.reason < EXIT_REASON_SLOTS ? handlers.h[v.reason] : on_unhandled;
    if (h(v) == Action::Stop) stop_partition(p, v.stop_reason);
}

namespace {
[[noreturn]] void entry_instruction_failed(const char* what, uint64_t rflags) {
    PerCpu& c = this_cpu();
    char why[160];
    if (rflags & 0x40) {   // ZF: VMfailValid, the error number is in the VMCS
        auto err = static_cast<uint32_t>(vmread(Vmcs::VM_INSTRUCTION_ERROR));
        log::format(why, sizeof why, "%s failed: VM-instruction error %u (%s)", what, err, vm_instruction_error_string(err));
    } else {
        log::format(why, sizeof why, "%s failed: no current VMCS (VMfailInvalid)", what);
    }
    stop_partition(*c.partition, why);
}
}  // namespace

extern "C" void vmx_launch_failed(uint64_t rflags) { entry_instruction_failed("VMLAUNCH", rflags); }
extern "C" void vmx_resume_failed(uint64_t rflags) { entry_instruction_failed("VMRESUME", rflags); }
