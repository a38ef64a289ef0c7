// VM-exit handling: one small handler per basic exit reason, chosen from a
// table. A handler either resumes the guest or stops its partition; it never
// stops the hypervisor or another partition.
#include <initializer_list>

#include <natsume/hypercall.h>

#include "drivers/x86/cpu.hpp"
#include "drivers/x86/cpuid.hpp"

#include "arch/x86/devices.hpp"
#include "arch/x86/exit_context.hpp"
#include "arch/x86/lapic.hpp"
#include "arch/x86/timing.hpp"
#include "arch/x86/vcpu.hpp"
#include "arch/x86/vmx.hpp"
#include "arch/x86/vmx_caps.hpp"
#include "base/log.hpp"
#include "vdev/linux_cpu.hpp"

namespace natsume::x86 {
namespace {

// --- handlers ---------------------------------------------------------------

// A Linux partition's view (vdev/linux_cpu.hpp): the clock rates, and no machine-check, MTRR or PMU leaves.
void linux_leaf(const Partition& p, uint32_t leaf, CpuidResult& r) {
    static const uint32_t host_max = cpuid(0, 0).eax;
    linux_cpu::Leaf l{r.eax, r.ebx, r.ecx, r.edx};
    linux_cpu::adjust(leaf, l, {p.config.tsc_khz, p.config.lapic_timer_khz, host_max});
    r = {l.eax, l.ebx, l.ecx, l.edx};
}

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
        if (v.part.config.file.kind == NATSUME_KIND_LINUX) linux_leaf(v.part, leaf, r);
        // Bits that mirror control registers mirror the guest's own, not the
        // hypervisor's (CPUID runs here, in root mode): software that finds
        // OSXSAVE set executes XGETBV, which faults while CR4.OSXSAVE is clear.
        if (leaf == 7 && sub == 0) {
            r.ecx &= ~drivers::cpuid::ecx7::OSPKE;
            if (vmcs::read<Vmcs::GUEST_CR4>() & cr4::PKE) r.ecx |= drivers::cpuid::ecx7::OSPKE;
        }
        if (leaf == 1) {
            r.ecx &= ~(drivers::cpuid::ecx1::OSXSAVE | drivers::cpuid::ecx1::VMX);  // and no nested VMX
            if (vmcs::read<Vmcs::GUEST_CR4>() & cr4::OSXSAVE) r.ecx |= drivers::cpuid::ecx1::OSXSAVE;
            r.ecx |= drivers::cpuid::ecx1::HYPERVISOR;
            // Initial APIC ID in EBX[31:24] is the core's own: the vCPU is pinned to it.
        }
    }
    v.regs.rax = r.eax;
    v.regs.rbx = r.ebx;
    v.regs.rcx = r.ecx;
    v.regs.rdx = r.edx;
    skip_instruction();
    return Action::Resume;
}

Action on_hlt(Vcpu&) {
    // HLT exiting is off on partition cores; if a CPU forces it, halt in the
    // guest's own activity state so its interrupts still wake it directly.
    skip_instruction();
    vmcs::write<Vmcs::GUEST_ACTIVITY_STATE>(static_cast<uint32_t>(ActivityState::Hlt));
    return Action::Resume;
}

// Ports 0xCF8-0xCFF: configuration mechanism #1 against the partition's
// virtual config space (its own devices and a virtual host bridge only).

Action on_external_interrupt(Vcpu&) { return Action::Resume; }

// INIT is never delivered to a partition core: in VMX non-root operation it
// causes this exit instead (SDM 25.2). Another partition (lapic = passthrough
// can send one) must not be able to reset this core, so it is dropped.
Action on_init_signal(Vcpu& v) {
    partition_refuse(v.part, Refusal::Signal,
                     "INIT signal at RIP 0x%lx ignored: a core is reset only by the hypervisor",
                     vmcs::read<Vmcs::GUEST_RIP>());
    return Action::Resume;
}

Action on_sipi(Vcpu& v) {
    partition_refuse(v.part, Refusal::Signal, "start-up IPI ignored");
    return Action::Resume;
}

Action on_triple_fault(Vcpu& v) { return stop(v, "triple fault (the guest could not deliver an exception)"); }

Action on_ept_misconfig(Vcpu& v) {
    return stop(v, "EPT misconfiguration at guest-physical 0x%lx (hypervisor bug)",
                vmcs::read<Vmcs::GUEST_PHYSICAL_ADDRESS>());
}

Action on_invd(Vcpu&) {
    asm volatile("wbinvd" ::: "memory");  // INVD would discard other partitions' dirty lines
    skip_instruction();
    return Action::Resume;
}

Action on_vmx_instruction(Vcpu& v) {
    partition_refuse(v.part, Refusal::Instruction, "VMX instruction (exit reason %u) at RIP 0x%lx: #UD injected",
                     v.reason, vmcs::read<Vmcs::GUEST_RIP>());
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

[[noreturn]] void park_this_core() {
    this_cpu().shared.publish(CpuState::Parked);
    halt_forever();
}

// A partition's other cores leave the guest on an NMI (NMI exiting) and park
// when they see it stopped (vmx_exit_dispatch); a core still waiting for
// Linux's wake-up mailbox parks when the NMI wakes it. One NMI can be spent
// while the core is in root mode about to re-enter, so it is sent again until
// the core reports itself parked, within a deadline.
constexpr uint64_t SIBLING_STOP_TIMEOUT_US = 100000, SIBLING_NMI_INTERVAL_US = 1000;

void stop_siblings(const Partition& p) {
    const uint32_t self = this_cpu().shared.apic_id;
    for (uint32_t k = 0; k < p.config.core_count; k++) {
        const uint32_t id = p.config.apic_ids[k];
        PerCpu& other     = cpus[p.config.cpu_indexes[k]];
        if (id == self) continue;
        auto parked = [&other] {
            CpuState s = other.shared.observe();
            return s == CpuState::Parked || s == CpuState::Failed;
        };
        bool done = parked();
        for (uint64_t waited = 0; !done && waited < SIBLING_STOP_TIMEOUT_US; waited += SIBLING_NMI_INTERVAL_US) {
            (void)lapic::send_nmi(id);
            done = wait_until(SIBLING_NMI_INTERVAL_US, parked);
        }
        if (!done)
            log::print("natsume: partition %s: its core %u did not leave the guest within %lu ms of the stop\n",
                       p.name(), id, SIBLING_STOP_TIMEOUT_US / 1000);
    }
}

// With p.lock held: the first core to stop the partition quiesces its
// devices and reports; every core then parks.
[[noreturn]] void stop_partition_locked(Partition& p, const char* reason) {
    if (p.observe_state() != PartitionState::Stopped) {
        // Before the report: once it says "stopped", nothing of p may still run.
        if (uint32_t n = devices::quiesce(p))
            log::print("natsume: partition %s: %u device(s) quiesced (bus master off, interrupts masked)\n", p.name(),
                       n);
        partition_report_stop(p, reason);
    }
    p.lock.unlock();
    if (p.config.core_count > 1) stop_siblings(p);
    park_this_core();
}

[[noreturn]] void stop_partition(Partition& p, const char* reason) {
    p.lock.lock();
    stop_partition_locked(p, reason);
}

}  // namespace
}  // namespace natsume::x86

using namespace natsume;
using namespace natsume::x86;

// Runs with the partition's lock held: its vCPUs share its devices, virtual
// devices, console and counters. A core finding its partition stopped (by
// another of its cores) parks instead of re-entering the guest.
extern "C" void vmx_exit_dispatch(GuestRegs* regs) {
    PerCpu& c    = this_cpu();
    Partition& p = *c.partition;
    auto raw     = vmcs::read<Vmcs::EXIT_REASON>();
    Vcpu v{c, p, *regs, static_cast<uint32_t>(basic_exit_reason(raw)), {}};
    p.lock.lock();
    if (p.observe_state() == PartitionState::Stopped) {
        p.lock.unlock();
        park_this_core();
    }
    if (v.reason < EXIT_REASON_SLOTS) p.counters.exits[v.reason]++;
    if (entry_failed(raw)) {
        log::format(v.stop_reason, sizeof v.stop_reason, "VM entry failed: exit reason %u (%s), qualification 0x%lx",
                    v.reason, to_string(static_cast<ExitReason>(v.reason)), vmcs::read<Vmcs::EXIT_QUALIFICATION>());
        dump_registers(v);
        stop_partition_locked(p, v.stop_reason);
    }
    Handler h = v.reason < EXIT_REASON_SLOTS ? handlers.h[v.reason] : on_unhandled;
    if (h(v) == Action::Stop) stop_partition_locked(p, v.stop_reason);
    p.lock.unlock();
}

namespace {
[[noreturn]] void entry_instruction_failed(const char* what, uint64_t rflags) {
    PerCpu& c = this_cpu();
    char why[160];
    if (rflags & 0x40) {  // ZF: VMfailValid, the error number is in the VMCS
        auto err = vmcs::read<Vmcs::VM_INSTRUCTION_ERROR>();
        log::format(why, sizeof why, "%s failed: VM-instruction error %u (%s)", what, err,
                    vm_instruction_error_string(err));
    } else {
        log::format(why, sizeof why, "%s failed: no current VMCS (VMfailInvalid)", what);
    }
    stop_partition(*c.partition, why);
}
}  // namespace

extern "C" void vmx_launch_failed(uint64_t rflags) { entry_instruction_failed("VMLAUNCH", rflags); }
extern "C" void vmx_resume_failed(uint64_t rflags) { entry_instruction_failed("VMRESUME", rflags); }
