#include "arch/x86/vcpu.hpp"

#include <stdarg.h>

#include <natsume/bootinfo.h>

#include "drivers/x86/cpu.hpp"
#include "drivers/x86/cpuid.hpp"

#include "arch/x86/exit_context.hpp"
#include "arch/x86/host_layout.h"
#include "arch/x86/vmx.hpp"
#include "arch/x86/vmx_caps.hpp"
#include "arch/x86/vmx_defs.hpp"
#include "base/log.hpp"
#include "base/panic.hpp"

extern "C" {
void vmx_exit_entry();
[[noreturn]] void vmx_launch(const natsume::x86::GuestRegs*);
}

namespace natsume::x86 {

VmxPlatform vmx_platform;

namespace {
bool fail(char* why, size_t n, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
bool fail(char* why, size_t n, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    log::vformat(why, n, fmt, ap);
    va_end(ap);
    return false;
}

bool adjust(uint32_t cap_msr, uint32_t wanted, uint32_t required, uint32_t& out, const char* what, char* why,
            size_t n) {
    ControlAdjust a = adjust_controls(rdmsr(cap_msr), wanted);
    if (a.missing & required) {
        log::format(why, n, "this CPU cannot set the required %s VM-execution/exit/entry controls 0x%x", what,
                    a.missing & required);
        return false;
    }
    out = a.value;
    return true;
}

void report(const VmxPlatform& v, const EptVpidCaps& ept) {
    log::print("natsume: vmx: VMCS revision 0x%x, EPT (4-level, WB%s%s), VPID, NMI exiting\n", v.revision,
               ept.pages_2m ? ", 2 MiB pages" : ", no 2 MiB pages: 4 KiB EPT pages",
               ept.pages_1g ? ", 1 GiB pages" : "");
    log::print("natsume: vmx: optional: unrestricted guest %s, x2APIC %s, preemption timer %s (rate 2^%u), NX %s\n",
               v.unrestricted_guest ? "yes" : "no (guests start paged, as designed)", v.x2apic ? "yes" : "no",
               v.preemption_timer ? "yes" : "no", v.preemption_timer_rate, v.nx ? "yes" : "no");
    log::print("natsume: vmx: controls pin=0x%08x proc=0x%08x proc2=0x%08x exit=0x%08x entry=0x%08x\n", v.pin, v.proc,
               v.proc2, v.exit, v.entry);
}
}  // namespace

bool vmx_probe(char* why, size_t n) {
    VmxPlatform& v = vmx_platform;
    if (!(drivers::cpuid::has_ecx1(drivers::cpuid::ecx1::VMX)))
        return fail(why, n, "this CPU has no VMX (CPUID.1:ECX.VMX = 0): Natsume needs Intel VT-x");
    FeatureControlVerdict fc = feature_control_verdict(rdmsr(msr::IA32_FEATURE_CONTROL));
    if (!fc.usable) return fail(why, n, "%s", fc.why);
    log::print("natsume: vmx: IA32_FEATURE_CONTROL: %s\n", fc.why);

    VmxBasic basic = decode_vmx_basic(rdmsr(msr::IA32_VMX_BASIC));
    if (basic.region_size > 4096) return fail(why, n, "VMCS region larger than 4 KiB is not supported");
    v.revision   = basic.revision;
    namespace id = drivers::cpuid;
    v.nx         = id::has_extended(id::edx81::NX);
    v.x2apic     = id::has_ecx1(id::ecx1::X2APIC);
    v.maxphyaddr = id::maxphyaddr();
    v.xsave      = id::has_ecx1(id::ecx1::XSAVE);
    if (v.xsave) {
        CpuidResult x    = cpuid(id::leaf::XSAVE, 0);
        v.xcr0_supported = (uint64_t(x.edx) << 32) | x.eax;
    }
    bool rdtscp  = id::has_extended(id::edx81::RDTSCP);
    bool invpcid = id::has_structured(id::ebx7::INVPCID);

    if (!adjust(pin_controls_msr(basic), pin::NMI_EXITING, pin::NMI_EXITING, v.pin, "pin-based", why, n)) return false;
    uint32_t proc_req = proc::USE_IO_BITMAPS | proc::USE_MSR_BITMAPS | proc::ACTIVATE_SECONDARY_CONTROLS;
    if (!adjust(proc_controls_msr(basic), proc_req, proc_req, v.proc, "processor-based", why, n)) return false;
    uint32_t proc2_req  = proc2::ENABLE_EPT | proc2::ENABLE_VPID;
    uint32_t proc2_want = proc2_req | (rdtscp ? proc2::ENABLE_RDTSCP : 0) | (invpcid ? proc2::ENABLE_INVPCID : 0);
    if (!adjust(msr::IA32_VMX_PROCBASED_CTLS2, proc2_want, proc2_req, v.proc2, "secondary (EPT, VPID)", why, n))
        return false;
    uint32_t exit_req = exit_ctl::HOST_ADDRESS_SPACE_SIZE | exit_ctl::SAVE_EFER | exit_ctl::LOAD_EFER |
                        exit_ctl::SAVE_PAT | exit_ctl::LOAD_PAT;
    if (!adjust(exit_controls_msr(basic), exit_req, exit_req, v.exit, "VM-exit", why, n)) return false;
    uint32_t entry_req = entry_ctl::IA32E_MODE_GUEST | entry_ctl::LOAD_EFER | entry_ctl::LOAD_PAT;
    if (!adjust(entry_controls_msr(basic), entry_req, entry_req, v.entry, "VM-entry", why, n)) return false;

    uint64_t proc2_cap      = rdmsr(msr::IA32_VMX_PROCBASED_CTLS2);
    v.unrestricted_guest    = (proc2_cap >> 32) & proc2::UNRESTRICTED_GUEST;
    uint64_t pin_cap        = rdmsr(pin_controls_msr(basic));
    v.preemption_timer      = (pin_cap >> 32) & pin::PREEMPTION_TIMER;
    v.preemption_timer_rate = static_cast<uint32_t>(rdmsr(msr::IA32_VMX_MISC) & vmx_misc::PREEMPTION_TIMER_RATE_MASK);

    EptVpidCaps ept = decode_ept_vpid_caps(rdmsr(msr::IA32_VMX_EPT_VPID_CAP));
    if (const char* bad = ept_unusable_reason(ept)) return fail(why, n, "%s", bad);
    if (!ept.invvpid) return fail(why, n, "INVVPID is not supported");
    v.large_ept_pages = ept.pages_2m;
    v.cr3_flush_type =
        static_cast<uint64_t>(ept.invvpid_single_context_keep_globals ? InvvpidType::SingleContextKeepGlobals
                              : ept.invvpid_single_context            ? InvvpidType::SingleContext
                                                                      : InvvpidType::AllContext);
    v.cr0_fixed0 = rdmsr(msr::IA32_VMX_CR0_FIXED0);
    v.cr0_fixed1 = rdmsr(msr::IA32_VMX_CR0_FIXED1);
    v.cr4_fixed0 = rdmsr(msr::IA32_VMX_CR4_FIXED0);
    v.cr4_fixed1 = rdmsr(msr::IA32_VMX_CR4_FIXED1);
    report(v, ept);
    return true;
}

bool vmx_enable_this_core(PerCpu& c, char* why, size_t n) {
    if (!(drivers::cpuid::has_ecx1(drivers::cpuid::ecx1::VMX))) return fail(why, n, "no VMX on this core");
    uint64_t fcr             = rdmsr(msr::IA32_FEATURE_CONTROL);
    FeatureControlVerdict fc = feature_control_verdict(fcr);
    if (!fc.usable) return fail(why, n, "%s", fc.why);
    if (fc.must_write) wrmsr(msr::IA32_FEATURE_CONTROL, feature_control_value(fcr));
    const VmxPlatform& v = vmx_platform;
    if (decode_vmx_basic(rdmsr(msr::IA32_VMX_BASIC)).revision != v.revision)
        return fail(why, n, "VMCS revision differs from the boot CPU's");
    write_cr0(fixed_cr(read_cr0(), v.cr0_fixed0, v.cr0_fixed1));
    // OSXSAVE lets the hypervisor execute a guest's checked XSETBV (SDM Vol. 2: #UD without it).
    write_cr4(fixed_cr(read_cr4() | cr4::VMXE | (v.xsave ? cr4::OSXSAVE : 0), v.cr4_fixed0, v.cr4_fixed1));
    *reinterpret_cast<uint32_t*>(c.vmxon_region) = v.revision;
    if (!vmxon(reinterpret_cast<uint64_t>(c.vmxon_region))) return fail(why, n, "VMXON failed");
    return true;
}

namespace {
struct FieldWriter {
    bool ok = true;
    Vmcs first_bad{};
    // A value wider than the field would be cut by the CPU without a word:
    // refused here like a field the CPU refuses.
    void operator()(Vmcs f, uint64_t v) {
        bool fits = access_bytes(f) == 8 || (v >> (8 * access_bytes(f))) == 0;
        if (!(fits && try_vmwrite(f, v)) && ok) {
            ok        = false;
            first_bad = f;
        }
    }
};

void write_controls(FieldWriter& w, const Partition& p) {
    const VmxPlatform& v = vmx_platform;
    w(Vmcs::PIN_BASED_CONTROLS, v.pin);
    w(Vmcs::PRIMARY_PROC_CONTROLS, v.proc);
    w(Vmcs::SECONDARY_PROC_CONTROLS, v.proc2);
    w(Vmcs::EXIT_CONTROLS, v.exit);
    w(Vmcs::ENTRY_CONTROLS, v.entry);
    w(Vmcs::EXCEPTION_BITMAP, INTERCEPTED_EXCEPTIONS);
    w(Vmcs::PAGE_FAULT_ERROR_CODE_MASK, 0);
    w(Vmcs::PAGE_FAULT_ERROR_CODE_MATCH, 0);
    w(Vmcs::CR3_TARGET_COUNT, 0);
    w(Vmcs::EXIT_MSR_STORE_COUNT, 0);
    w(Vmcs::EXIT_MSR_LOAD_COUNT, 0);
    w(Vmcs::ENTRY_MSR_LOAD_COUNT, p.x86.entry_msr_load ? 1 : 0);
    if (p.x86.entry_msr_load) w(Vmcs::ENTRY_MSR_LOAD_ADDR, p.x86.entry_msr_load);
    w(Vmcs::ENTRY_INTERRUPTION_INFO, 0);
    w(Vmcs::TSC_OFFSET, 0);
    w(Vmcs::VPID, p.x86.vpid);
    w(Vmcs::EPT_POINTER, p.x86.eptp);
    w(Vmcs::IO_BITMAP_A, reinterpret_cast<uint64_t>(p.x86.io_bitmap));
    w(Vmcs::IO_BITMAP_B, reinterpret_cast<uint64_t>(p.x86.io_bitmap) + 4096);
    w(Vmcs::MSR_BITMAP, reinterpret_cast<uint64_t>(p.x86.msr_bitmap));
    // Bits the CPU fixes are owned by the hypervisor; the guest reads its own view.
    uint64_t cr0_owned = (v.cr0_fixed0 | ~v.cr0_fixed1) & 0xffffffffull;
    uint64_t cr4_owned = (v.cr4_fixed0 | ~v.cr4_fixed1) & 0xffffffffull;
    w(Vmcs::CR0_GUEST_HOST_MASK, cr0_owned);
    w(Vmcs::CR4_GUEST_HOST_MASK, cr4_owned);
}

void write_host_state(FieldWriter& w, PerCpu& c) {
    w(Vmcs::HOST_CR0, read_cr0());
    w(Vmcs::HOST_CR3, read_cr3());
    w(Vmcs::HOST_CR4, read_cr4());
    w(Vmcs::HOST_CS_SELECTOR, HOST_SEL_CODE64);
    w(Vmcs::HOST_SS_SELECTOR, HOST_SEL_DATA);
    w(Vmcs::HOST_DS_SELECTOR, HOST_SEL_DATA);
    w(Vmcs::HOST_ES_SELECTOR, HOST_SEL_DATA);
    w(Vmcs::HOST_FS_SELECTOR, 0);
    w(Vmcs::HOST_GS_SELECTOR, 0);
    w(Vmcs::HOST_TR_SELECTOR, HOST_SEL_TSS);
    w(Vmcs::HOST_FS_BASE, 0);
    w(Vmcs::HOST_GS_BASE, reinterpret_cast<uint64_t>(&c));
    w(Vmcs::HOST_TR_BASE, reinterpret_cast<uint64_t>(&c.tss));
    w(Vmcs::HOST_GDTR_BASE, sgdt().base);
    w(Vmcs::HOST_IDTR_BASE, sidt().base);
    w(Vmcs::HOST_IA32_SYSENTER_CS, 0);
    w(Vmcs::HOST_IA32_SYSENTER_ESP, 0);
    w(Vmcs::HOST_IA32_SYSENTER_EIP, 0);
    w(Vmcs::HOST_IA32_PAT, rdmsr(msr::IA32_PAT));
    w(Vmcs::HOST_IA32_EFER, rdmsr(msr::IA32_EFER));
    w(Vmcs::HOST_RSP, stack_top(c.exit_stack, sizeof c.exit_stack));
    w(Vmcs::HOST_RIP, reinterpret_cast<uint64_t>(&vmx_exit_entry));
}

struct Segment {
    Vmcs sel, base, limit, ar;
    uint16_t selector;
    uint32_t limit_value, access;
};

void write_segments(FieldWriter& w, const Partition& p) {
    // Access rights (SDM 24.4.1): 64-bit code 0xa09b, data 0xc093, busy TSS 0x8b.
    const Segment segs[] = {
        {Vmcs::GUEST_CS_SELECTOR, Vmcs::GUEST_CS_BASE, Vmcs::GUEST_CS_LIMIT, Vmcs::GUEST_CS_ACCESS_RIGHTS,
         p.config.sel_code, 0xffffffff, 0xa09b},
        {Vmcs::GUEST_SS_SELECTOR, Vmcs::GUEST_SS_BASE, Vmcs::GUEST_SS_LIMIT, Vmcs::GUEST_SS_ACCESS_RIGHTS,
         p.config.sel_data, 0xffffffff, 0xc093},
        {Vmcs::GUEST_DS_SELECTOR, Vmcs::GUEST_DS_BASE, Vmcs::GUEST_DS_LIMIT, Vmcs::GUEST_DS_ACCESS_RIGHTS,
         p.config.sel_data, 0xffffffff, 0xc093},
        {Vmcs::GUEST_ES_SELECTOR, Vmcs::GUEST_ES_BASE, Vmcs::GUEST_ES_LIMIT, Vmcs::GUEST_ES_ACCESS_RIGHTS,
         p.config.sel_data, 0xffffffff, 0xc093},
        {Vmcs::GUEST_FS_SELECTOR, Vmcs::GUEST_FS_BASE, Vmcs::GUEST_FS_LIMIT, Vmcs::GUEST_FS_ACCESS_RIGHTS,
         p.config.sel_data, 0xffffffff, 0xc093},
        {Vmcs::GUEST_GS_SELECTOR, Vmcs::GUEST_GS_BASE, Vmcs::GUEST_GS_LIMIT, Vmcs::GUEST_GS_ACCESS_RIGHTS,
         p.config.sel_data, 0xffffffff, 0xc093},
        {Vmcs::GUEST_TR_SELECTOR, Vmcs::GUEST_TR_BASE, Vmcs::GUEST_TR_LIMIT, Vmcs::GUEST_TR_ACCESS_RIGHTS,
         p.config.sel_tss, sizeof(drivers::x86::Tss) - 1, 0x8b},
        {Vmcs::GUEST_LDTR_SELECTOR, Vmcs::GUEST_LDTR_BASE, Vmcs::GUEST_LDTR_LIMIT, Vmcs::GUEST_LDTR_ACCESS_RIGHTS, 0, 0,
         ACCESS_RIGHTS_UNUSABLE},
    };
    for (const Segment& s : segs) {
        w(s.sel, s.selector);
        w(s.base, s.sel == Vmcs::GUEST_TR_SELECTOR ? NATSUME_GUEST_GDT_GPA + 0x80 : 0);
        w(s.limit, s.limit_value);
        w(s.ar, s.access);
    }
    w(Vmcs::GUEST_GDTR_BASE, NATSUME_GUEST_GDT_GPA);
    w(Vmcs::GUEST_GDTR_LIMIT, p.config.gdt_limit);
    w(Vmcs::GUEST_IDTR_BASE, 0);
    w(Vmcs::GUEST_IDTR_LIMIT, 0);
}

void write_guest_state(FieldWriter& w, const Partition& p) {
    const VmxPlatform& v = vmx_platform;
    uint64_t cr0         = cr0::PE | cr0::MP | cr0::NE | cr0::WP | cr0::PG;
    uint64_t cr4         = cr4::PAE | cr4::OSFXSR | cr4::OSXMMEXCPT;
    w(Vmcs::CR0_READ_SHADOW, cr0);
    w(Vmcs::CR4_READ_SHADOW, cr4);
    w(Vmcs::GUEST_CR0, fixed_cr(cr0, v.cr0_fixed0, v.cr0_fixed1));
    w(Vmcs::GUEST_CR4, fixed_cr(cr4, v.cr4_fixed0, v.cr4_fixed1));
    w(Vmcs::GUEST_CR3, NATSUME_GUEST_PML4_GPA);
    w(Vmcs::GUEST_DR7, 0x400);
    w(Vmcs::GUEST_RSP, NATSUME_GUEST_BOOT_STACK_TOP);
    w(Vmcs::GUEST_RIP, p.config.entry);  // a partition's other cores: vcpu_set_entry when woken
    w(Vmcs::GUEST_RFLAGS, 0x2);
    write_segments(w, p);
    w(Vmcs::GUEST_IA32_EFER, efer::LME | efer::LMA | (v.nx ? efer::NXE : 0));
    w(Vmcs::GUEST_IA32_PAT, 0x0007040600070406ull);  // the power-on PAT (SDM Vol. 3A 11.12.4)
    w(Vmcs::GUEST_IA32_DEBUGCTL, 0);
    w(Vmcs::GUEST_IA32_SYSENTER_CS, 0);
    w(Vmcs::GUEST_IA32_SYSENTER_ESP, 0);
    w(Vmcs::GUEST_IA32_SYSENTER_EIP, 0);
    w(Vmcs::GUEST_INTERRUPTIBILITY, 0);
    w(Vmcs::GUEST_ACTIVITY_STATE, static_cast<uint32_t>(ActivityState::Active));
    w(Vmcs::GUEST_PENDING_DEBUG_EXCEPTIONS, 0);
    w(Vmcs::VMCS_LINK_POINTER, ~0ull);
}
}  // namespace

bool vcpu_setup(PerCpu& c, Partition& p, char* why, size_t n) {
    uint64_t vmcs_pa                            = reinterpret_cast<uint64_t>(c.vmcs_region);
    *reinterpret_cast<uint32_t*>(c.vmcs_region) = vmx_platform.revision;
    if (!vmclear(vmcs_pa)) return fail(why, n, "VMCLEAR of the VMCS failed");
    if (!vmptrld(vmcs_pa)) return fail(why, n, "VMPTRLD of the VMCS failed");
    FieldWriter w;
    write_controls(w, p);
    write_host_state(w, c);
    write_guest_state(w, p);
    if (!w.ok) {
        log::format(why, n, "VMWRITE to VMCS field 0x%x was refused (or its value is wider than the field)",
                    encoding(w.first_bad));
        return false;
    }
    if (!invept_all()) return fail(why, n, "INVEPT (all contexts) failed");
    c.launch_regs = GuestRegs{};
    if (c.vcpu.index == 0) {  // the boot CPU gets the boot protocol's registers
        c.launch_regs.rdi = p.config.boot_rdi;
        c.launch_regs.rsi = p.config.boot_rsi;
    }
    return true;
}

void vcpu_set_entry(uint64_t rip) { vmcs::write<Vmcs::GUEST_RIP>(rip); }

void vmcs::write_failed(Vmcs f) {
    uint32_t err = vmcs::read<Vmcs::VM_INSTRUCTION_ERROR>();
    NATSUME_PANIC("VMWRITE to VMCS field 0x%x refused on a live VMCS: VM-instruction error %u (%s)", encoding(f), err,
                  vm_instruction_error_string(err));
}

void vcpu_launch(PerCpu& c) { vmx_launch(&c.launch_regs); }

}  // namespace natsume::x86
