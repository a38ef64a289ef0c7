// VMCALL: the hypercalls of include/natsume/hypercall.h.
#include <natsume/hypercall.h>

#include "arch/x86/exit_context.hpp"
#include "arch/x86/vmx.hpp"
#include "base/clock.hpp"
#include "base/log.hpp"

namespace natsume::x86 {

namespace {
int64_t hc_console_write(Vcpu& v) {
    uint64_t gpa = v.regs.rdi, len = v.regs.rsi;
    if (int64_t bad = console_write_args(v.part.config.ram_size, gpa, len); bad != NATSUME_OK) return bad;
    partition_console_write(v.part, reinterpret_cast<const char*>(gpa_to_host(v.part, gpa)), len);
    return static_cast<int64_t>(len);
}

int64_t hc_partition_info(Vcpu& v) {
    uint64_t gpa = v.regs.rdi;
    if (!gpa_range_ok(v.part, gpa, sizeof(natsume_partition_info))) return NATSUME_EFAULT;
    auto* info = reinterpret_cast<natsume_partition_info*>(gpa_to_host(v.part, gpa));
    for (size_t i = 0; i < sizeof info->name; i++) info->name[i] = v.part.config.file.name[i];
    info->name[sizeof info->name - 1] = 0;
    info->partition_id                = v.part.config.id;
    info->apic_id                     = v.part.config.apic_id;
    info->ram_size                    = v.part.config.ram_size;
    info->tsc_khz                     = clock::tsc_khz();
    return NATSUME_OK;
}

int64_t hc_stats_read(Vcpu& v) {
    uint64_t gpa = v.regs.rdi;
    if (!gpa_range_ok(v.part, gpa, sizeof(natsume_stats))) return NATSUME_EFAULT;
    auto* st                   = reinterpret_cast<natsume_stats*>(gpa_to_host(v.part, gpa));
    const PartitionCounters& c = v.part.counters;
    uint64_t total             = 0;
    for (size_t r = 0; r < NATSUME_STATS_EXIT_REASONS; r++) {
        uint64_t n   = r < EXIT_REASON_SLOTS ? c.exits[r] : 0;
        st->exits[r] = n;
        total += n;
    }
    st->exits_total       = total;
    st->hypercalls        = c.hypercalls;
    st->refused_io        = c.refused_io;
    st->refused_msr       = c.refused_msr;
    st->refused_other     = c.refused_other;
    st->nmis              = c.nmis;
    st->console_dropped   = v.part.console.dropped_total;
    st->refusals_unlogged = v.part.refusals.unlogged_total;
    return NATSUME_OK;
}

int64_t hc_stats_print(Vcpu& v) {
    partition_print_counters(v.part);
    return NATSUME_OK;
}

}  // namespace

Action on_vmcall(Vcpu& v) {
    v.part.counters.hypercalls++;
    uint64_t nr = v.regs.rax;
    skip_instruction();
    // Guest user code must not reach the hypervisor behind its kernel's back.
    if (unsigned cpl = guest_cpl(); cpl != 0) {
        partition_refuse(v.part, Refusal::Hypercall, "hypercall %lu at CPL %u (RIP 0x%lx): returned EPERM", nr, cpl,
                         vmcs::read<Vmcs::GUEST_RIP>());
        v.regs.rax = static_cast<uint64_t>(int64_t{NATSUME_EPERM});
        return Action::Resume;
    }
    if (nr == NATSUME_HC_STOP_SELF) {
        log::format(v.stop_reason, sizeof v.stop_reason, "stopped itself (exit code %lu)", v.regs.rdi);
        return Action::Stop;
    }
    using Hypercall                                    = int64_t (*)(Vcpu&);
    static constexpr Hypercall table[NATSUME_HC_COUNT] = {hc_console_write, hc_partition_info, nullptr, hc_stats_print,
                                                          hc_stats_read};
    int64_t ret                                        = NATSUME_ENOSYS;
    if (nr < NATSUME_HC_COUNT && table[nr])
        ret = table[nr](v);
    else
        partition_refuse(v.part, Refusal::Hypercall, "unknown hypercall %lu at RIP 0x%lx: returned ENOSYS", nr,
                         vmcs::read<Vmcs::GUEST_RIP>());
    v.regs.rax = static_cast<uint64_t>(ret);
    return Action::Resume;
}

}  // namespace natsume::x86
