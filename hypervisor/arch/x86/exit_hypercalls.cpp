// VMCALL: the hypercalls of include/natsume/hypercall.h.
#include <natsume/hypercall.h>

#include "drivers/x86/cpu.hpp"

#include "arch/x86/exit_context.hpp"
#include "arch/x86/lapic.hpp"
#include "arch/x86/vmx.hpp"
#include "base/clock.hpp"
#include "base/log.hpp"
#include "partition/channels.hpp"

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
    st->exits_total        = total;
    st->hypercalls         = c.hypercalls;
    st->refused_io         = c.refused_io;
    st->refused_msr        = c.refused_msr;
    st->refused_other      = c.refused_other;
    st->nmis               = c.nmis;
    st->console_dropped    = v.part.console.dropped_total;
    st->refusals_unlogged  = v.part.refusals.unlogged_total;
    st->doorbells_sent     = c.doorbells_sent;
    st->doorbells_received = c.doorbells_received.load(std::memory_order_relaxed);
    st->doorbells_refused  = c.doorbells_refused;
    return NATSUME_OK;
}

// A refused bind or doorbell: counted, logged within the partition's rate
// limit, and the guest gets the error code; the partition goes on.
int64_t refused(Vcpu& v, const char* what, uint64_t id, channels::Refused r) {
    partition_refuse(v.part, Refusal::Hypercall, "%s on channel %lu refused: %s", what, id, channels::to_string(r));
    return channels::error_code(r);
}

int64_t hc_channel_bind(Vcpu& v) {
    channels::Refused r = channels::bind(v.part, v.regs.rdi, v.regs.rsi);
    return r == channels::Refused::None ? NATSUME_OK : refused(v, "bind", v.regs.rdi, r);
}

// The peer's vector goes to the peer's core as a fixed IPI from this core: one
// exit here, none there (the interrupt lands in its IDT).
int64_t hc_doorbell(Vcpu& v) {
    channels::Ring ring = channels::doorbell(v.part, v.regs.rdi, rdtsc(), clock::tsc_khz());
    if (ring.refused != channels::Refused::None) return refused(v, "doorbell", v.regs.rdi, ring.refused);
    // The sender's stores to the channel are globally visible before the
    // interrupt: an x2APIC ICR write (WRMSR) is not ordered after earlier
    // stores by itself (SDM Vol. 3A, "MSR Access in x2APIC Mode").
    asm volatile("mfence" ::: "memory");
    if (!lapic::send_fixed(ring.apic_id, ring.vector)) {
        log::print("natsume: channel: doorbell IPI to core %u not accepted by the local APIC\n", ring.apic_id);
        return NATSUME_ENOTCONN;
    }
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
    static constexpr Hypercall table[NATSUME_HC_COUNT] = {
        hc_console_write, hc_partition_info, nullptr, hc_stats_print, hc_stats_read, hc_channel_bind, hc_doorbell};
    int64_t ret = NATSUME_ENOSYS;
    if (nr < NATSUME_HC_COUNT && table[nr])
        ret = table[nr](v);
    else
        partition_refuse(v.part, Refusal::Hypercall, "unknown hypercall %lu at RIP 0x%lx: returned ENOSYS", nr,
                         vmcs::read<Vmcs::GUEST_RIP>());
    v.regs.rax = static_cast<uint64_t>(ret);
    return Action::Resume;
}

}  // namespace natsume::x86
