// RDMSR/WRMSR outside the pass-through set: emulated, filtered or refused.

#include "arch/x86/cpu.hpp"
#include "arch/x86/exit_context.hpp"
#include "arch/x86/vcpu.hpp"
#include "arch/x86/vmx.hpp"
#include "arch/x86/vmx_defs.hpp"
#include "lib/icr_filter.hpp"

namespace natsume::x86 {

namespace {
Action refuse_msr(Vcpu& v, bool write, uint32_t m) {
    v.part.counters.refused_msr++;
    partition_log_refusal(v.part, "%s MSR 0x%x at RIP 0x%lx: not allowed, #GP injected", write ? "WRMSR to" : "RDMSR of",
                          m, vmread(Vmcs::GUEST_RIP));
    inject_hw_exception(VEC_GP, true, 0);
    return Action::Resume;
}

Action on_x2apic_icr(Vcpu& v, uint64_t value) {
    auto dest = static_cast<uint32_t>(value >> 32);
    icr::Verdict verdict = icr::check_x2apic(value, icr::Partition{&v.part.apic_id, 1, v.part.apic_id});
    if (!verdict.allow) {
        v.part.counters.refused_other++;
        partition_log_refusal(v.part, "interrupt command 0x%lx to APIC ID %u refused: %s", value, dest, verdict.why);
        skip_instruction();   // dropped, as an IPI to a non-existent APIC would be
        return Action::Resume;
    }
    wrmsr(msr::X2APIC_ICR, value);
    skip_instruction();
    return Action::Resume;
}

bool apic_base_write_ok(uint64_t cur, uint64_t value) {
    uint64_t fixed = apic_base::ADDRESS_MASK | apic_base::BSP | apic_base::GLOBAL_ENABLE;
    if ((value ^ cur) & fixed) return false;
    if (!vmx_platform.x2apic && (value & apic_base::X2APIC_ENABLE)) return false;
    // Leaving x2APIC mode needs the architectural detour through "disabled".
    return !((cur & apic_base::X2APIC_ENABLE) && !(value & apic_base::X2APIC_ENABLE));
}

}  // namespace

Action on_rdmsr(Vcpu& v) {
    auto m = static_cast<uint32_t>(v.regs.rcx);
    uint64_t value;
    if (m == msr::IA32_EFER) value = vmread(Vmcs::GUEST_IA32_EFER);
    else if (m == msr::IA32_APIC_BASE) value = rdmsr(msr::IA32_APIC_BASE);
    else return refuse_msr(v, false, m);
    v.regs.rax = static_cast<uint32_t>(value);
    v.regs.rdx = value >> 32;
    skip_instruction();
    return Action::Resume;
}

// The guest owns its core's local APIC: it may switch it between xAPIC and
// x2APIC mode (SDM Vol. 3A 10.12.5), but not move or disable it, nor claim BSP.

Action on_wrmsr(Vcpu& v) {
    auto m = static_cast<uint32_t>(v.regs.rcx);
    uint64_t value = (v.regs.rdx << 32) | static_cast<uint32_t>(v.regs.rax);
    if (m == msr::IA32_APIC_BASE) {
        uint64_t cur = rdmsr(msr::IA32_APIC_BASE);
        if (!apic_base_write_ok(cur, value)) return refuse_msr(v, true, m);
        wrmsr(msr::IA32_APIC_BASE, value);
        skip_instruction();
        return Action::Resume;
    }
    if (m == msr::X2APIC_ICR) return on_x2apic_icr(v, value);
    if (m == msr::IA32_EFER) {
        // The guest stays in long mode: it may change SCE and NXE only.
        uint64_t cur = vmread(Vmcs::GUEST_IA32_EFER);
        uint64_t changeable = efer::SCE | (vmx_platform.nx ? efer::NXE : 0);
        if ((value ^ cur) & ~changeable) return refuse_msr(v, true, m);
        (void)vmwrite(Vmcs::GUEST_IA32_EFER, value);
        skip_instruction();
        return Action::Resume;
    }
    return refuse_msr(v, true, m);
}


}  // namespace natsume::x86
