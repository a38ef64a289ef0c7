// RDMSR/WRMSR outside the pass-through set: emulated, filtered or refused.
// No guest value reaches WRMSR unchecked, and the WRMSR itself is the
// fault-safe form: a value the checks missed is a #GP for the guest, never a
// root-mode fault.

#include "drivers/x86/cpu.hpp"

#include "arch/x86/exit_context.hpp"
#include "arch/x86/lapic.hpp"
#include "arch/x86/safe_access.hpp"
#include "arch/x86/vcpu.hpp"
#include "arch/x86/vmx.hpp"
#include "arch/x86/vmx_defs.hpp"
#include "vdev/apic_base.hpp"
#include "vdev/icr_filter.hpp"
#include "vdev/linux_cpu.hpp"
#include "vdev/lvt.hpp"

namespace natsume::x86 {

namespace {
Action refuse_msr(Vcpu& v, bool write, uint32_t m, const char* why) {
    return refuse_gp(v, Refusal::Msr, "%s MSR 0x%x at RIP 0x%lx: %s, #GP injected", write ? "WRMSR to" : "RDMSR of", m,
                     vmcs::read<Vmcs::GUEST_RIP>(), why);
}

// The checked value goes to hardware; should it still fault, the guest gets
// the #GP the instruction would have raised.
Action forward_wrmsr(Vcpu& v, uint32_t m, uint64_t value) {
    if (!wrmsr_safe(m, value)) return refuse_msr(v, true, m, "the processor faulted on the value");
    skip_instruction();
    return Action::Resume;
}

Action on_x2apic_icr(Vcpu& v, uint64_t value) {
    auto dest            = static_cast<uint32_t>(value >> 32);
    icr::Verdict verdict = icr::check_x2apic(value, own_cores(v));
    if (!verdict.allow) {
        partition_refuse(v.part, Refusal::Ipi, "interrupt command 0x%lx to APIC ID %u refused: %s", value, dest,
                         verdict.why);
        skip_instruction();  // dropped, as an IPI to a non-existent APIC would be
        return Action::Resume;
    }
    if (verdict.reason == icr::Reason::PartitionBroadcast) {
        send_fanout(v, verdict.fanout, static_cast<uint8_t>(value));
        skip_instruction();
        return Action::Resume;
    }
    return forward_wrmsr(v, msr::X2APIC_ICR, value);
}

// LVT entries with a delivery mode (lvt.hpp): a refused write is dropped, as
// the guest expects the write itself to succeed.
Action on_x2apic_lvt(Vcpu& v, uint32_t m, uint64_t value) {
    uint32_t offset = (m - msr::X2APIC_FIRST) * 16;
    if (const char* why = lvt::refuse_reason(offset, static_cast<uint32_t>(value))) {
        partition_refuse(v.part, Refusal::Lapic, "LVT register 0x%x write 0x%lx dropped: %s", offset, value, why);
        skip_instruction();
        return Action::Resume;
    }
    return forward_wrmsr(v, m, value);
}

Action on_apic_base(Vcpu& v, uint64_t value) {
    uint64_t cur              = rdmsr(msr::IA32_APIC_BASE);
    apic_msr::Verdict verdict = apic_msr::check(cur, value, {vmx_platform.maxphyaddr, vmx_platform.x2apic});
    if (verdict != apic_msr::Verdict::Ok) return refuse_msr(v, true, msr::IA32_APIC_BASE, apic_msr::to_string(verdict));
    return forward_wrmsr(v, msr::IA32_APIC_BASE, value);
}

Action on_efer(Vcpu& v, uint64_t value) {
    // The guest stays in long mode: it may change SCE and NXE only. LMA is
    // read-only (SDM Vol. 3A 2.2.1): what the guest writes there is ignored.
    uint64_t cur        = vmcs::read<Vmcs::GUEST_IA32_EFER>();
    value               = (value & ~efer::LMA) | (cur & efer::LMA);
    uint64_t changeable = efer::SCE | (vmx_platform.nx ? efer::NXE : 0);
    if ((value ^ cur) & ~changeable) return refuse_msr(v, true, msr::IA32_EFER, "only SCE and NXE may change");
    vmcs::write<Vmcs::GUEST_IA32_EFER>(value);
    skip_instruction();
    return Action::Resume;
}

bool is_x2apic_msr(uint32_t m) { return m >= msr::X2APIC_FIRST && m <= msr::X2APIC_LAST; }

}  // namespace

Action on_rdmsr(Vcpu& v) {
    auto m = static_cast<uint32_t>(v.regs.rcx);
    uint64_t value;
    if (m == msr::IA32_EFER)  // inside the paging-off window long mode is not active, as far as the guest knows
        value = vmcs::read<Vmcs::GUEST_IA32_EFER>() & ~(v.cpu.vcpu.paging_off ? efer::LMA : 0);
    else if (m == msr::IA32_APIC_BASE)
        value = rdmsr(msr::IA32_APIC_BASE);
    else if (m == msr::IA32_TSC && v.part.config.file.kind == NATSUME_KIND_LINUX)
        value = rdtsc();  // what its RDTSC reads (no TSC offset)
    else if (v.part.config.file.kind != NATSUME_KIND_LINUX || !linux_cpu::read_msr(m, value))
        return refuse_msr(v, false, m, "not allowed");
    v.regs.rax = static_cast<uint32_t>(value);
    v.regs.rdx = value >> 32;
    skip_instruction();
    return Action::Resume;
}

Action on_wrmsr(Vcpu& v) {
    auto m         = static_cast<uint32_t>(v.regs.rcx);
    uint64_t value = (v.regs.rdx << 32) | static_cast<uint32_t>(v.regs.rax);
    if (m == msr::IA32_APIC_BASE) return on_apic_base(v, value);
    if (m == msr::IA32_EFER) return on_efer(v, value);
    if (is_x2apic_msr(m)) {
        // In xAPIC mode these MSRs do not exist (SDM Vol. 3A 10.12.1.2).
        if (!lapic::x2apic_mode())
            return refuse_msr(v, true, m, "x2APIC register while the local APIC is in xAPIC mode");
        if (m == msr::X2APIC_ICR) return on_x2apic_icr(v, value);
        if (lvt::has_delivery_mode((m - msr::X2APIC_FIRST) * 16)) return on_x2apic_lvt(v, m, value);
    }
    if (v.part.config.file.kind == NATSUME_KIND_LINUX && linux_cpu::write_msr_dropped(m, value)) {
        skip_instruction();
        return Action::Resume;
    }
    return refuse_msr(v, true, m, "not allowed");
}

}  // namespace natsume::x86
