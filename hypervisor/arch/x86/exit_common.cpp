// Helpers shared by the VM-exit handlers.

#include <stdarg.h>

#include "arch/x86/exit_context.hpp"
#include "arch/x86/lapic.hpp"
#include "arch/x86/vmx.hpp"
#include "arch/x86/vmx_defs.hpp"
#include "base/log.hpp"

namespace natsume::x86 {

void skip_instruction() {
    vmcs::write<Vmcs::GUEST_RIP>(vmcs::read<Vmcs::GUEST_RIP>() + vmcs::read<Vmcs::EXIT_INSTRUCTION_LENGTH>());
}

void inject_hw_exception(uint8_t vector, bool has_error, uint32_t error) {
    vmcs::write<Vmcs::ENTRY_INTERRUPTION_INFO>(make_intr_info(vector, InterruptionType::HardwareException, has_error));
    if (has_error) vmcs::write<Vmcs::ENTRY_EXCEPTION_ERROR_CODE>(error);
}

void send_fanout(Vcpu& v, uint32_t fanout, uint8_t vector) {
    for (uint32_t i = 0; i < v.part.config.core_count; i++)
        if ((fanout >> i) & 1u && !lapic::send_fixed(v.part.config.apic_ids[i], vector))
            partition_refuse(v.part, Refusal::Ipi, "IPI 0x%x to its core %u not accepted by the local APIC in time",
                             vector, v.part.config.apic_ids[i]);
}

// Access rights (SDM Vol. 3C 24.4.1): DPL in bits 6:5, L in bit 13.
unsigned guest_cpl() { return (vmcs::read<Vmcs::GUEST_SS_ACCESS_RIGHTS>() >> 5) & 3u; }
bool guest_in_64bit_code() { return vmcs::read<Vmcs::GUEST_CS_ACCESS_RIGHTS>() & (1u << 13); }

// GuestRegs holds the registers in encoding order without RSP (number 4).
static_assert(offsetof(GuestRegs, rbx) == 3 * 8 && offsetof(GuestRegs, rbp) == 4 * 8 &&
                  offsetof(GuestRegs, r15) == 14 * 8,
              "GuestRegs follows the register encoding, RSP left out");

uint64_t& gpr(GuestRegs& r, unsigned n) {
    n &= 15;
    // RSP lives in the VMCS: reads get this core's copy (writes go through set_gpr).
    if (n == 4) {
        uint64_t& rsp = this_cpu().guest_rsp_copy;
        rsp           = vmcs::read<Vmcs::GUEST_RSP>();
        return rsp;
    }
    return (&r.rax)[n < 4 ? n : n - 1];
}

void dump_registers(const Vcpu& v) {
    const GuestRegs& r = v.regs;
    const char* n      = v.part.name();
    log::print("natsume: dump: %s: core %u: RIP=0x%016lx RSP=0x%016lx RFLAGS=0x%08lx\n", n, v.cpu.shared.apic_id,
               vmcs::read<Vmcs::GUEST_RIP>(), vmcs::read<Vmcs::GUEST_RSP>(), vmcs::read<Vmcs::GUEST_RFLAGS>());
    log::print("natsume: dump: %s: RAX=0x%016lx RBX=0x%016lx RCX=0x%016lx RDX=0x%016lx\n", n, r.rax, r.rbx, r.rcx,
               r.rdx);
    log::print("natsume: dump: %s: RSI=0x%016lx RDI=0x%016lx RBP=0x%016lx R8 =0x%016lx\n", n, r.rsi, r.rdi, r.rbp,
               r.r8);
    log::print("natsume: dump: %s: R9 =0x%016lx R10=0x%016lx R11=0x%016lx R12=0x%016lx\n", n, r.r9, r.r10, r.r11,
               r.r12);
    log::print("natsume: dump: %s: R13=0x%016lx R14=0x%016lx R15=0x%016lx\n", n, r.r13, r.r14, r.r15);
    log::print("natsume: dump: %s: CR0=0x%lx CR3=0x%lx CR4=0x%lx EFER=0x%lx CS=0x%x\n", n,
               vmcs::read<Vmcs::CR0_READ_SHADOW>(), vmcs::read<Vmcs::GUEST_CR3>(), vmcs::read<Vmcs::CR4_READ_SHADOW>(),
               vmcs::read<Vmcs::GUEST_IA32_EFER>(), vmcs::read<Vmcs::GUEST_CS_SELECTOR>());
    log::print("natsume: dump: %s: exit reason %u (%s) qualification=0x%lx IDT-vectoring=0x%x\n", n, v.reason,
               to_string(static_cast<ExitReason>(v.reason)), vmcs::read<Vmcs::EXIT_QUALIFICATION>(),
               vmcs::read<Vmcs::IDT_VECTORING_INFO>());
}

Action refuse_gp(Vcpu& v, Refusal kind, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    partition_vrefuse(v.part, kind, fmt, ap);
    va_end(ap);
    inject_hw_exception(VEC_GP, true, 0);
    return Action::Resume;
}

Action stop(Vcpu& v, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    log::vformat(v.stop_reason, sizeof v.stop_reason, fmt, ap);
    va_end(ap);
    dump_registers(v);
    return Action::Stop;
}

// With interrupt remapping the entry only names an IRTE; the IRTE carries the

bool read_guest_u64(void* ctx, uint64_t gpa, uint64_t& value) {
    const Partition& p = *static_cast<const Partition*>(ctx);
    const uint8_t* at  = gpa & 7 ? nullptr : guest_memory(p, gpa, 8);
    if (!at) return false;
    value = *reinterpret_cast<const uint64_t*>(at);
    return true;
}

void set_gpr(GuestRegs& r, unsigned n, uint64_t value) {
    if (n == 4) {
        vmcs::write<Vmcs::GUEST_RSP>(value);
        return;
    }
    gpr(r, n) = value;
}

}  // namespace natsume::x86
