// VM-exit handling: one small handler per basic exit reason, chosen from a
// table. A handler either resumes the guest or stops its partition; it never
// stops the hypervisor or another partition.
#include <natsume/hypercall.h>
#include <initializer_list>
#include <stdarg.h>

#include "arch/x86/cpu.hpp"
#include "arch/x86/lapic.hpp"
#include "arch/x86/percpu.hpp"
#include "arch/x86/vcpu.hpp"
#include "arch/x86/vmx.hpp"
#include "arch/x86/vmx_caps.hpp"
#include "arch/x86/vmx_defs.hpp"
#include "core/boot.hpp"
#include "core/log.hpp"
#include "core/partition.hpp"
#include "arch/x86/devices.hpp"
#include "arch/x86/ioapic_hw.hpp"
#include "arch/x86/pci_hw.hpp"
#include "arch/x86/shared_intx.hpp"
#include "arch/x86/vtd/platform.hpp"
#include "lib/guest_paging.hpp"
#include "lib/icr_filter.hpp"
#include "lib/insn_decode.hpp"
#include "lib/pci.hpp"
#include "lib/vioapic.hpp"
#include "lib/vpci.hpp"

namespace natsume::x86 {
namespace {

enum class Action { Resume, Stop };

// The context every handler gets: this core's vCPU.
struct Vcpu {
    PerCpu& cpu;
    Partition& part;
    GuestRegs& regs;
    uint32_t reason;          // basic exit reason
    char stop_reason[160];
};

using Handler = Action (*)(Vcpu&);

void skip_instruction() {
    vmwrite(Vmcs::GUEST_RIP, vmread(Vmcs::GUEST_RIP) + vmread(Vmcs::EXIT_INSTRUCTION_LENGTH)) || true;
}

void inject_hw_exception(uint8_t vector, bool has_error, uint32_t error = 0) {
    (void)vmwrite(Vmcs::ENTRY_INTERRUPTION_INFO, make_intr_info(vector, InterruptionType::HardwareException, has_error));
    if (has_error) (void)vmwrite(Vmcs::ENTRY_EXCEPTION_ERROR_CODE, error);
}

constexpr uint8_t VEC_UD = 6, VEC_GP = 13;

uint64_t& gpr(GuestRegs& r, unsigned n) {
    uint64_t* order[16] = {&r.rax, &r.rcx, &r.rdx, &r.rbx, nullptr, &r.rbp, &r.rsi, &r.rdi,
                           &r.r8,  &r.r9,  &r.r10, &r.r11, &r.r12, &r.r13, &r.r14, &r.r15};
    static uint64_t rsp_shadow;
    if (n == 4) { rsp_shadow = vmread(Vmcs::GUEST_RSP); return rsp_shadow; }
    return *order[n & 15];
}

void dump_registers(const Vcpu& v) {
    const GuestRegs& r = v.regs;
    const char* n = v.part.cfg.name;
    log::print("natsume: dump: %s: RIP=0x%016lx RSP=0x%016lx RFLAGS=0x%08lx\n", n, vmread(Vmcs::GUEST_RIP),
               vmread(Vmcs::GUEST_RSP), vmread(Vmcs::GUEST_RFLAGS));
    log::print("natsume: dump: %s: RAX=0x%016lx RBX=0x%016lx RCX=0x%016lx RDX=0x%016lx\n", n, r.rax, r.rbx, r.rcx, r.rdx);
    log::print("natsume: dump: %s: RSI=0x%016lx RDI=0x%016lx RBP=0x%016lx R8 =0x%016lx\n", n, r.rsi, r.rdi, r.rbp, r.r8);
    log::print("natsume: dump: %s: R9 =0x%016lx R10=0x%016lx R11=0x%016lx R12=0x%016lx\n", n, r.r9, r.r10, r.r11, r.r12);
    log::print("natsume: dump: %s: R13=0x%016lx R14=0x%016lx R15=0x%016lx\n", n, r.r13, r.r14, r.r15);
    log::print("natsume: dump: %s: CR0=0x%lx CR3=0x%lx CR4=0x%lx EFER=0x%lx CS=0x%lx\n", n,
               vmread(Vmcs::CR0_READ_SHADOW), vmread(Vmcs::GUEST_CR3), vmread(Vmcs::CR4_READ_SHADOW),
               vmread(Vmcs::GUEST_IA32_EFER), vmread(Vmcs::GUEST_CS_SELECTOR));
    log::print("natsume: dump: %s: exit reason %u (%s) qualification=0x%lx IDT-vectoring=0x%lx\n", n, v.reason,
               to_string(static_cast<ExitReason>(v.reason)), vmread(Vmcs::EXIT_QUALIFICATION),
               vmread(Vmcs::IDT_VECTORING_INFO));
}

Action stop(Vcpu& v, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
Action stop(Vcpu& v, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    log::vformat(v.stop_reason, sizeof v.stop_reason, fmt, ap);
    va_end(ap);
    dump_registers(v);
    return Action::Stop;
}

// With interrupt remapping the entry only names an IRTE; the IRTE carries the
// vector and the owner core, validated by the IOAPIC's source-id.
void program_pin(Vcpu& v, uint32_t gsi, const vioapic::Action& a) {
    if (v.part.vioapic->config().remapped) {
        char why[160];
        if (!vtd::program_irte(v.part, a.irte_index, a.vector, a.level, why, sizeof why)) {
            v.part.counters.refused_other++;
            partition_log_refusal(v.part, "IOAPIC pin %u: interrupt-remapping entry refused: %s", a.pin, why);
            return;
        }
    }
    ioapic_hw::write_entry(gsi, a.low, a.high);
}

void apply_ioapic_action(Vcpu& v, const vioapic::Action& a) {
    const ioapic_hw::Unit& unit = ioapic_hw::unit(0);
    switch (a.kind) {
    case vioapic::Kind::ProgramPin:
    case vioapic::Kind::ShadowOnly:
        // A shared line stays the hypervisor's; the guest's entry only says
        // which vector it wants and whether it is masked.
        if (shared_intx::is_shared(unit.gsi_base + a.pin)) shared_intx::guest_pin_changed(v.part, unit.gsi_base + a.pin);
        else if (a.kind == vioapic::Kind::ProgramPin) program_pin(v, unit.gsi_base + a.pin, a);
        break;
    case vioapic::Kind::Eoi:
        // The guest suppressed the local APIC's EOI broadcast (directed EOI).
        ioapic_hw::eoi(unit.gsi_base + a.pin, a.vector);
        break;
    case vioapic::Kind::Refused:
        v.part.counters.refused_other++;
        partition_log_refusal(v.part, "IOAPIC pin %u write refused: %s", a.pin, vioapic::to_string(a.why));
        break;
    default:
        break;
    }
}

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

int64_t hc_console_write(Vcpu& v) {
    uint64_t gpa = v.regs.rdi, len = v.regs.rsi;
    if (len > NATSUME_CONSOLE_WRITE_MAX) return NATSUME_EINVAL;
    if (!gpa_range_ok(v.part, gpa, len)) return NATSUME_EFAULT;
    partition_console_write(v.part, reinterpret_cast<const char*>(gpa_to_host(v.part, gpa)), len);
    return static_cast<int64_t>(len);
}

int64_t hc_partition_info(Vcpu& v) {
    uint64_t gpa = v.regs.rdi;
    if (!gpa_range_ok(v.part, gpa, sizeof(natsume_partition_info))) return NATSUME_EFAULT;
    auto* info = reinterpret_cast<natsume_partition_info*>(gpa_to_host(v.part, gpa));
    for (size_t i = 0; i < sizeof info->name; i++) info->name[i] = v.part.cfg.name[i];
    info->name[sizeof info->name - 1] = 0;
    info->partition_id = v.part.id;
    info->apic_id = v.part.apic_id;
    info->ram_size = v.part.ram_size;
    info->tsc_khz = boot::tsc_khz();
    return NATSUME_OK;
}

int64_t hc_stats_read(Vcpu& v) {
    uint64_t gpa = v.regs.rdi;
    if (!gpa_range_ok(v.part, gpa, sizeof(natsume_stats))) return NATSUME_EFAULT;
    auto* st = reinterpret_cast<natsume_stats*>(gpa_to_host(v.part, gpa));
    const PartitionCounters& c = v.part.counters;
    uint64_t total = 0;
    for (size_t r = 0; r < NATSUME_STATS_EXIT_REASONS; r++) {
        uint64_t n = r < EXIT_REASON_SLOTS ? c.exits[r] : 0;
        st->exits[r] = n;
        total += n;
    }
    st->exits_total = total;
    st->hypercalls = c.hypercalls;
    st->refused_io = c.refused_io;
    st->refused_msr = c.refused_msr;
    st->refused_other = c.refused_other;
    st->nmis = c.nmis;
    return NATSUME_OK;
}

int64_t hc_stats_print(Vcpu& v) {
    partition_print_counters(v.part);
    return NATSUME_OK;
}

Action on_vmcall(Vcpu& v) {
    v.part.counters.hypercalls++;
    uint64_t nr = v.regs.rax;
    skip_instruction();
    if (nr == NATSUME_HC_STOP_SELF) {
        log::format(v.stop_reason, sizeof v.stop_reason, "stopped itself (exit code %lu)", v.regs.rdi);
        return Action::Stop;
    }
    using Hypercall = int64_t (*)(Vcpu&);
    static constexpr Hypercall table[NATSUME_HC_COUNT] = {hc_console_write, hc_partition_info, nullptr, hc_stats_print,
                                                                  hc_stats_read};
    int64_t ret = NATSUME_ENOSYS;
    if (nr < NATSUME_HC_COUNT && table[nr]) ret = table[nr](v);
    else partition_log_refusal(v.part, "unknown hypercall %lu at RIP 0x%lx: returned ENOSYS", nr, vmread(Vmcs::GUEST_RIP));
    v.regs.rax = static_cast<uint64_t>(ret);
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
bool pci_port_access(Vcpu& v, const IoAccess& io) {
    Partition& p = v.part;
    if (io.string) return false;
    uint32_t mask = io.size == 1 ? 0xffu : io.size == 2 ? 0xffffu : 0xffffffffu;
    if (io.port == pci::kConfigAddressPort && io.size == 4) {
        if (io.in) v.regs.rax = p.cf8;
        else p.cf8 = static_cast<uint32_t>(v.regs.rax);
        return true;
    }
    if (io.port < pci::kConfigDataPort || io.port + io.size > pci::kConfigDataPort + 4) return false;
    pci::PortAccess a = pci::decode_cf8(p.cf8, io.port);
    if (!a.enabled) {
        if (io.in) v.regs.rax = (v.regs.rax & ~uint64_t(mask)) | mask;
        return true;
    }
    if (io.in) {
        uint32_t value = p.vpci.read(a.bdf, a.offset, io.size, pci_hw::access());
        v.regs.rax = (v.regs.rax & ~uint64_t(mask)) | (value & mask);
        return true;
    }
    vpci::WriteResult r = p.vpci.write(a.bdf, a.offset, io.size, static_cast<uint32_t>(v.regs.rax) & mask,
                                       pci_hw::access());
    if (r.kind == vpci::WriteResult::Kind::Refused) {
        char bdf[8];
        pci::format_bdf(bdf, a.bdf);
        p.counters.refused_other++;
        partition_log_refusal(p, "config write to %s offset 0x%x refused: %s", bdf, a.offset, r.why);
    }
    return true;
}

Action on_io(Vcpu& v) {
    IoAccess io = decode_io_access(vmread(Vmcs::EXIT_QUALIFICATION));
    if (pci_port_access(v, io)) {
        skip_instruction();
        return Action::Resume;
    }
    v.part.counters.refused_io++;
    partition_log_refusal(v.part, "%s port 0x%x (%u bytes%s) at RIP 0x%lx: the port belongs to no partition",
                          io.in ? "read from" : "write to", io.port, io.size, io.string ? ", string" : "",
                          vmread(Vmcs::GUEST_RIP));
    if (io.in && !io.string) {
        // Reads of an absent port float high, as on real hardware.
        uint64_t mask = io.size == 1 ? 0xff : io.size == 2 ? 0xffff : 0xffffffffull;
        v.regs.rax = io.size == 4 ? mask : (v.regs.rax & ~mask) | mask;
    }
    skip_instruction();
    return Action::Resume;
}

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
bool apic_base_write_ok(uint64_t cur, uint64_t value) {
    uint64_t fixed = apic_base::ADDRESS_MASK | apic_base::BSP | apic_base::GLOBAL_ENABLE;
    if ((value ^ cur) & fixed) return false;
    if (!vmx_platform.x2apic && (value & apic_base::X2APIC_ENABLE)) return false;
    // Leaving x2APIC mode needs the architectural detour through "disabled".
    return !((cur & apic_base::X2APIC_ENABLE) && !(value & apic_base::X2APIC_ENABLE));
}

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
        gpr(v.regs, a.gpr) = vmread(Vmcs::GUEST_CR3);
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
    partition_log_refusal(v.part, "start-up IPI ignored%s", "");
    return Action::Resume;
}

Action on_triple_fault(Vcpu& v) { return stop(v, "triple fault (the guest could not deliver an exception)"); }

bool read_guest_u64(void* ctx, uint64_t gpa, uint64_t& value) {
    const Partition& p = *static_cast<const Partition*>(ctx);
    if (gpa & 7 || !gpa_range_ok(p, gpa, 8)) return false;
    value = *reinterpret_cast<const uint64_t*>(gpa_to_host(p, gpa));
    return true;
}

void set_gpr(GuestRegs& r, unsigned n, uint64_t value) {
    if (n == 4) { (void)vmwrite(Vmcs::GUEST_RSP, value); return; }
    gpr(r, n) = value;
}

constexpr uint64_t XAPIC_PAGE = 0xfee00000;
constexpr uint32_t XAPIC_ICR_LOW = 0x300, XAPIC_ICR_HIGH = 0x310;

// lapic = "trapped": every access to the xAPIC page reaches the hardware
// except the interrupt command, which may target only the partition's cores.
Action lapic_access(Vcpu& v, uint32_t offset, bool write, uint8_t size, uint32_t& value) {
    auto* reg = reinterpret_cast<volatile uint32_t*>(XAPIC_PAGE + (offset & ~3u));
    if (size != 4 || (offset & 3)) return stop(v, "local APIC register 0x%x accessed with %u bytes", offset, size);
    if (!write) { value = *reg; return Action::Resume; }
    if (offset == XAPIC_ICR_HIGH) { v.part.xapic_icr_high = value; return Action::Resume; }
    if (offset == XAPIC_ICR_LOW) {
        icr::Verdict verdict = icr::check_xapic(value, v.part.xapic_icr_high, icr::Partition{&v.part.apic_id, 1, v.part.apic_id});
        if (!verdict.allow) {
            v.part.counters.refused_other++;
            partition_log_refusal(v.part, "interrupt command 0x%x to APIC ID %u refused: %s", value,
                                  v.part.xapic_icr_high >> 24, verdict.why);
            return Action::Resume;
        }
        *reinterpret_cast<volatile uint32_t*>(XAPIC_PAGE + XAPIC_ICR_HIGH) = v.part.xapic_icr_high;
    }
    *reg = value;
    return Action::Resume;
}

// Fetches and decodes the instruction that touched an emulated MMIO page,
// lets `access` perform it, and advances RIP.
template <typename Access>
Action emulate_mmio(Vcpu& v, const char* what, Access access) {
    Partition& p = v.part;
    uint8_t bytes[insn::kMaxLength];
    size_t fetched = 0;
    gpt::PhysRead mem{read_guest_u64, &p};
    uint64_t rip = vmread(Vmcs::GUEST_RIP);
    gpt::Error ge = gpt::fetch(vmread(Vmcs::GUEST_CR3), rip, bytes, sizeof bytes, mem, fetched);
    if (ge != gpt::Error::Ok && fetched == 0)
        return stop(v, "%s access at RIP 0x%lx: cannot fetch the instruction: %s", what, rip, gpt::to_string(ge));
    insn::Decoded d{};
    insn::Error de = insn::decode(bytes, fetched, d);
    if (de != insn::Error::Ok)
        return stop(v, "%s access at RIP 0x%lx: instruction not emulated (%s, opcode 0x%x)", what, rip,
                    insn::to_string(de), d.opcode);
    uint64_t value = 0;
    if (d.write) {
        uint64_t src = d.src_kind == insn::Operand::Register ? gpr(v.regs, d.reg) : 0;
        value = insn::store_value(d, src);
    }
    if (access(d.write, d.size, value) == Action::Stop) return Action::Stop;
    if (!d.write) set_gpr(v.regs, d.reg, insn::load_result(d, gpr(v.regs, d.reg), value));
    (void)vmwrite(Vmcs::GUEST_RIP, rip + d.length);
    return Action::Resume;
}

Action on_ept_violation(Vcpu& v) {
    uint64_t gpa = vmread(Vmcs::GUEST_PHYSICAL_ADDRESS);
    if (v.part.cfg.lapic_mode == NATSUME_LAPIC_TRAPPED && gpa - XAPIC_PAGE < 0x1000) {
        auto offset = static_cast<uint32_t>(gpa - XAPIC_PAGE);
        return emulate_mmio(v, "local APIC", [&](bool write, uint8_t size, uint64_t& value) {
            uint32_t v32 = static_cast<uint32_t>(value);
            Action a = lapic_access(v, offset, write, size, v32);
            value = v32;
            return a;
        });
    }
    for (uint32_t i = 0; i < v.part.device_count; i++) {
        if (!v.part.devices[i].trapped_page || (gpa & ~0xfffull) != v.part.devices[i].trapped_page) continue;
        return emulate_mmio(v, "device register", [&](bool write, uint8_t size, uint64_t& value) {
            uint32_t v32 = static_cast<uint32_t>(value);
            if (!shared_intx::register_access(v.part, gpa, write, size, v32))
                return stop(v, "device register 0x%lx accessed with %u bytes: not emulated", gpa, size);
            value = v32;
            return Action::Resume;
        });
    }
    for (uint32_t i = 0; i < v.part.device_count; i++) {
        const PartitionDevice& d = v.part.devices[i];
        if (!d.msix || !msix::in_table_pages(d.msix_loc, gpa)) continue;
        return emulate_mmio(v, "MSI-X table", [&](bool write, uint8_t size, uint64_t& value) {
            bool refused = false;
            const char* why = "";
            if (!devices::msix_access(v.part, gpa, write, size, value, refused, why))
                return stop(v, "MSI-X table access at 0x%lx not emulated", gpa);
            if (refused) {
                v.part.counters.refused_other++;
                partition_log_refusal(v.part, "MSI-X entry write at 0x%lx refused: %s", gpa, why);
            }
            return Action::Resume;
        });
    }
    if (const pci_hw::EcamWindow& w = pci_hw::ecam(); w.present) {
        uint16_t bdf = 0, offset = 0;
        if (pci::decode_ecam(gpa, w.base, w.start_bus, w.end_bus, bdf, offset))
            return emulate_mmio(v, "PCI ECAM", [&](bool write, uint8_t size, uint64_t& value) {
                // The partition's ECAM accesses see the same filtered space as its port accesses.
                if (size > 4) return stop(v, "ECAM access of %u bytes at 0x%lx", size, gpa);
                if (!write) { value = v.part.vpci.read(bdf, offset, size, pci_hw::access()); return Action::Resume; }
                vpci::WriteResult r = v.part.vpci.write(bdf, offset, size, static_cast<uint32_t>(value), pci_hw::access());
                if (r.kind == vpci::WriteResult::Kind::Refused) {
                    v.part.counters.refused_other++;
                    partition_log_refusal(v.part, "ECAM config write at 0x%lx refused: %s", gpa, r.why);
                }
                return Action::Resume;
            });
    }
    if (v.part.ioapic_gpa && gpa - v.part.ioapic_gpa < 0x1000) {
        auto offset = static_cast<uint32_t>(gpa - v.part.ioapic_gpa);
        return emulate_mmio(v, "IOAPIC", [&](bool write, uint8_t size, uint64_t& value) {
            uint32_t v32 = static_cast<uint32_t>(value);
            vioapic::Action a = write ? v.part.vioapic->write(offset, size, v32) : v.part.vioapic->read(offset, size, v32);
            value = v32;
            apply_ioapic_action(v, a);
            return Action::Resume;
        });
    }
    EptViolation e = decode_ept_violation(vmread(Vmcs::EXIT_QUALIFICATION));
    return stop(v, "EPT violation: %s guest-physical address 0x%lx outside the partition's memory",
                e.fetch ? "instruction fetch at" : e.write ? "write to" : "read of", gpa);
}

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
