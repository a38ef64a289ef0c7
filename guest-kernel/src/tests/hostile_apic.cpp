// Local APIC vectors. Group lapic: the trapped xAPIC page (lapic =
// "trapped"): ID/LDR/DFR writes, LVT delivery modes, every ICR delivery
// mode, destination mode and shorthand, malformed accesses. Group x2apic:
// the legal switch to x2APIC, the illegal way back, and the same LVT and
// ICR filters through the x2APIC MSRs.
#include <stdio.h>

#include "drivers/x86/cpuid.hpp"
#include "drivers/x86/lapic.hpp"
#include "drivers/x86/msr.hpp"

#include "arch/cpu.h"
#include "arch/idt.h"
#include "arch/paging.h"
#include "devices/lapic.h"
#include "tests/device_common.h"
#include "tests/hostile.h"

namespace natsume::guest::hostile {
namespace {

using ull = unsigned long long;

constexpr uint8_t VECTOR_SELF    = 0x44;                    // what the hostile self-IPIs send
constexpr uint8_t VECTOR_FOREIGN = idt::VECTOR_ATTACK_IPI;  // rt0 counts it as a stray IPI
constexpr uint32_t RT0_APIC      = 1;
constexpr uint32_t BOOT_APIC     = 0;
constexpr uint32_t PARKED_APIC   = 3;  // a core no partition owns (4-CPU scenarios)

// ICR / LVT fields, register offsets and MSR numbers: drivers/x86.
namespace hw = natsume::drivers::lapic;
using hw::Reg;
constexpr uint32_t mode(hw::DeliveryMode m) { return uint32_t(m) << hw::icr::DELIVERY_SHIFT; }
constexpr uint32_t MODE_FIXED = mode(hw::DeliveryMode::Fixed), MODE_LOWEST = mode(hw::DeliveryMode::LowestPriority),
                   MODE_SMI = mode(hw::DeliveryMode::Smi), MODE_NMI = mode(hw::DeliveryMode::Nmi),
                   MODE_INIT = mode(hw::DeliveryMode::Init), MODE_SIPI = mode(hw::DeliveryMode::Startup),
                   MODE_EXTINT = hw::lvt::delivery(hw::lvt::Delivery::ExtInt);  // reserved in the ICR
constexpr auto LOGICAL         = static_cast<uint32_t>(hw::icr::DEST_LOGICAL);
constexpr auto ASSERT          = static_cast<uint32_t>(hw::icr::LEVEL_ASSERT);
constexpr auto LEVEL_TRIGGER   = static_cast<uint32_t>(hw::icr::TRIGGER_LEVEL);
constexpr uint32_t MASKED      = hw::lvt::MASKED;
constexpr uint32_t shorthand(hw::Shorthand s) { return uint32_t(s) << hw::icr::SHORTHAND_SHIFT; }
constexpr uint32_t SELF = shorthand(hw::Shorthand::Self), ALL_INCLUDING = shorthand(hw::Shorthand::AllIncludingSelf),
                   ALL_EXCLUDING = shorthand(hw::Shorthand::AllExcludingSelf);

constexpr uint32_t MSR_APIC_BASE = natsume::drivers::msr::IA32_APIC_BASE;
constexpr uint64_t APIC_BASE_X2  = natsume::drivers::msr::apic_base::X2APIC_ENABLE;
constexpr uint32_t X2APIC_ICR    = hw::x2apic_msr(Reg::IcrLow);
constexpr uint32_t ICR_LOW = hw::offset(Reg::IcrLow), ICR_HIGH = hw::offset(Reg::IcrHigh);

volatile uint64_t g_self_hits = 0;

void on_self(idt::InterruptFrame&) {
    g_self_hits = g_self_hits + 1;
    lapic::eoi();
}

// Lets pending interrupts in for ~2 ms; returns how many self hits arrived.
uint64_t settle(uint64_t seen) {
    uint64_t deadline = cpu::rdtsc() + device_tests::ticks_for_us(2000);
    device_tests::wait_count_change(&g_self_hits, seen, deadline);
    return g_self_hits - seen;
}

uintptr_t xapic_base() { return cpu::rdmsr(MSR_APIC_BASE) & 0xffffff000ull; }

uint32_t mmio_read(uint32_t off) {
    uint64_t v = 0;
    (void)probe::load(xapic_base() + off, 4, v);
    return static_cast<uint32_t>(v);
}

// What a write must do: be refused (dropped, counted), arrive at this core
// (fixed to self; a broadcast shorthand is scoped to the partition's cores,
// and this partition has one), or reach nobody without a refusal (all
// excluding self, in a one-core partition).
enum class Expect : uint8_t { Refused, Delivered, Nothing };
struct Icr {
    const char* name;
    uint32_t low;
    uint32_t dest;  // physical: APIC ID; BROADCAST: all ones of the mode
    Expect expect;
};
constexpr uint32_t BROADCAST = 0xffffffffu;
constexpr uint32_t OWN       = 0xfffffffeu;  // this core's APIC ID

constexpr Icr ICRS[] = {
    {"icr-fixed-foreign", MODE_FIXED | VECTOR_FOREIGN, RT0_APIC, Expect::Refused},
    {"icr-lowest-priority", MODE_LOWEST | VECTOR_FOREIGN, RT0_APIC, Expect::Refused},
    {"icr-smi", MODE_SMI, RT0_APIC, Expect::Refused},
    {"icr-nmi", MODE_NMI, RT0_APIC, Expect::Refused},
    {"icr-init", MODE_INIT | ASSERT, RT0_APIC, Expect::Refused},
    {"icr-init-deassert", MODE_INIT | LEVEL_TRIGGER, RT0_APIC, Expect::Refused},
    {"icr-sipi", MODE_SIPI | 0x10, RT0_APIC, Expect::Refused},
    {"icr-extint", MODE_EXTINT, RT0_APIC, Expect::Refused},
    {"icr-logical", MODE_FIXED | LOGICAL | VECTOR_FOREIGN, 0xff, Expect::Refused},
    {"icr-broadcast", MODE_FIXED | VECTOR_FOREIGN, BROADCAST, Expect::Refused},
    {"icr-all-including", MODE_FIXED | ALL_INCLUDING | VECTOR_FOREIGN, 0, Expect::Delivered},
    {"icr-all-excluding", MODE_FIXED | ALL_EXCLUDING | VECTOR_FOREIGN, 0, Expect::Nothing},
    {"icr-all-excluding-init", MODE_INIT | ASSERT | ALL_EXCLUDING, 0, Expect::Refused},
    {"icr-own-nmi", MODE_NMI, OWN, Expect::Refused},
    {"icr-boot-low-vector", MODE_FIXED | 0x20, BOOT_APIC, Expect::Refused},
    {"icr-boot-e0", MODE_FIXED | 0xe0, BOOT_APIC, Expect::Refused},
    {"icr-boot-nmi", MODE_NMI, BOOT_APIC, Expect::Refused},
    {"icr-boot-init", MODE_INIT | ASSERT, BOOT_APIC, Expect::Refused},
    {"icr-boot-sipi", MODE_SIPI | 0x10, BOOT_APIC, Expect::Refused},
    {"icr-parked-init", MODE_INIT | ASSERT, PARKED_APIC, Expect::Refused},
    {"icr-parked-sipi", MODE_SIPI | 0x10, PARKED_APIC, Expect::Refused},
    {"icr-parked-nmi", MODE_NMI, PARKED_APIC, Expect::Refused},
    {"icr-parked-fixed", MODE_FIXED | VECTOR_FOREIGN, PARKED_APIC, Expect::Refused},
    {"icr-self-shorthand", MODE_FIXED | SELF | VECTOR_SELF, 0, Expect::Delivered},
    {"icr-self-id", MODE_FIXED | VECTOR_SELF, OWN, Expect::Delivered},
};

probe::Fault write_icr(bool x2, uint32_t low, uint32_t dest) {
    if (dest == OWN) dest = lapic::id();
    if (x2) {
        uint32_t d = dest == BROADCAST ? 0xffffffffu : dest;
        return probe::wrmsr(X2APIC_ICR, (uint64_t{d} << 32) | low);
    }
    uint32_t d     = dest == BROADCAST ? 0xffu : dest;
    probe::Fault f = probe::store(xapic_base() + ICR_HIGH, 4, hw::Icr::xapic_high(d));
    if (!f.none()) return f;
    return probe::store(xapic_base() + ICR_LOW, 4, low);
}

void icr_vectors(bool x2) {
    const char* group = x2 ? "x2apic" : "lapic";
    idt::set_handler(VECTOR_SELF, on_self);
    idt::set_handler(VECTOR_FOREIGN, on_self);  // a broadcast that includes this core
    char name[64];
    for (const Icr& i : ICRS) {
        snprintf(name, sizeof name, "%s%s", x2 ? "x2apic-" : "lapic-", i.name);
        Attempt a(name, group,
                  i.expect == Expect::Delivered ? "delivered to this core, no refusal"
                  : i.expect == Expect::Nothing
                      ? "reaches no core (the partition has no other), no refusal, no fault"
                      : "refused: write dropped, refused_other +1, no fault, nothing arrives here");
        uint64_t seen            = g_self_hits;
        probe::Fault f           = write_icr(x2, i.low, i.dest);
        uint64_t hits            = settle(seen);
        Delta d                  = a.delta();
        const uint64_t want_hits = i.expect == Expect::Delivered ? 1 : 0;
        const uint64_t refusals  = i.expect == Expect::Refused ? 1 : 0;
        bool pass                = f.none() && hits == want_hits && counts(d, 0, 0, refusals);
        a.report(pass, f, "\"icr_low\":\"0x%x\",\"dest\":\"0x%x\",\"self_hits\":%llu", i.low,
                 i.dest == OWN ? lapic::id() : i.dest, ull{hits});
    }
}

// --- LVT entries --------------------------------------------------------------------

struct Lvt {
    const char* name;
    uint32_t offset;  // xAPIC page offset; the x2APIC MSR is 0x800 + offset / 16
    bool x2_only;
};
constexpr Lvt LVTS[] = {
    {"lint0", hw::offset(Reg::LvtLint0), false},     {"lint1", hw::offset(Reg::LvtLint1), false},
    {"thermal", hw::offset(Reg::LvtThermal), false}, {"perf", hw::offset(Reg::LvtPerf), false},
    {"cmci", hw::offset(Reg::LvtCmci), true},
};
struct Mode {
    const char* name;
    uint32_t bits;
};
constexpr Mode MODES[] = {{"nmi", MODE_NMI}, {"smi", MODE_SMI}, {"init", MODE_INIT}, {"extint", MODE_EXTINT}};

probe::Fault lvt_read(bool x2, uint32_t off, uint64_t& v) {
    if (x2) return probe::rdmsr(hw::x2apic_msr_of_offset(off), v);
    v = 0;
    return probe::load(xapic_base() + off, 4, v);
}

probe::Fault lvt_write(bool x2, uint32_t off, uint32_t v) {
    return x2 ? probe::wrmsr(hw::x2apic_msr_of_offset(off), v) : probe::store(xapic_base() + off, 4, v);
}

void lvt_vectors(bool x2) {
    const char* group  = x2 ? "x2apic" : "lapic";
    const char* prefix = x2 ? "x2apic-lvt" : "lapic-lvt";
    char name[64];
    for (const Lvt& l : LVTS) {
        if (l.x2_only && !x2) continue;
        for (const Mode& m : MODES) {
            snprintf(name, sizeof name, "%s-%s-%s", prefix, l.name, m.name);
            // Both modes drop the write (a guest expects an LVT write to work:
            // Linux programs LINT1 as NMI) and count it as a LAPIC refusal.
            Attempt a(name, group, "write dropped, refused_other +1, no fault, register unchanged");
            uint64_t before = 0, after = 0;
            probe::Fault rf = lvt_read(x2, l.offset, before);
            uint32_t v      = m.bits | 0x45;
            probe::Fault f  = lvt_write(x2, l.offset, v);
            Delta d         = a.delta();
            (void)lvt_read(x2, l.offset, after);
            bool refused = f.none() && counts(d, 0, 0, 1);
            if (after != before) (void)lvt_write(x2, l.offset, static_cast<uint32_t>(before));
            a.report(rf.none() && refused && after == before, f,
                     "\"reg\":\"0x%x\",\"wrote\":\"0x%x\",\"before\":\"0x%llx\",\"after\":\"0x%llx\"", l.offset, v,
                     ull{before}, ull{after});
        }
        snprintf(name, sizeof name, "%s-%s-fixed", prefix, l.name);
        Attempt a(name, group, "accepted (fixed delivery, masked): reads back as written");
        uint64_t before = 0, after = 0;
        probe::Fault rf  = lvt_read(x2, l.offset, before);
        uint32_t v       = MASKED | MODE_FIXED | 0x45;
        probe::Fault f   = lvt_write(x2, l.offset, v);
        Delta d          = a.delta();
        probe::Fault rf2 = lvt_read(x2, l.offset, after);
        (void)lvt_write(x2, l.offset, static_cast<uint32_t>(before));
        a.report(rf.none() && rf2.none() && f.none() && counts(d, 0, 0, 0) && (after & 0x1ffffu) == v, f,
                 "\"reg\":\"0x%x\",\"wrote\":\"0x%x\",\"before\":\"0x%llx\",\"after\":\"0x%llx\"", l.offset, v,
                 ull{before}, ull{after});
    }
}

// --- xAPIC identity registers and malformed accesses ------------------------------

void identity_xapic() {
    struct Reg {
        const char* name;
        uint32_t offset;
        uint32_t value;
    };
    const Reg regs[] = {
        {"lapic-id-write", 0x20, (lapic::id() + 5) << 24},
        {"lapic-ldr-write", 0xd0, 0xff000000u},
        {"lapic-dfr-write", 0xe0, 0x0fffffffu},  // cluster model
    };
    for (const Reg& r : regs) {
        Attempt a(r.name, "lapic", "ignored: reads back unchanged, refused_other +1");
        uint32_t before = mmio_read(r.offset);
        probe::Fault f  = probe::store(xapic_base() + r.offset, 4, r.value);
        Delta d         = a.delta();
        uint32_t after  = mmio_read(r.offset);
        a.report(f.none() && after == before && counts(d, 0, 0, 1), f,
                 "\"reg\":\"0x%x\",\"wrote\":\"0x%x\",\"before\":\"0x%x\",\"after\":\"0x%x\"", r.offset, r.value,
                 before, after);
    }
}

void malformed_xapic() {
    const uintptr_t base = xapic_base();
    struct Access {
        const char* name;
        uintptr_t addr;
        unsigned size;
        bool store;
    };
    const Access accesses[] = {
        {"lapic-byte-store", base + 0x80, 1, true},  // TPR, 1 byte
        {"lapic-word-load", base + 0x30, 2, false},  // version, 2 bytes
        {"lapic-qword-store", base + 0x80, 8, true},          {"lapic-qword-load", base + 0x30, 8, false},
        {"lapic-unaligned-store", base + 0x82, 4, true},      {"lapic-unaligned-load", base + 0x31, 4, false},
        {"lapic-page-crossing-store", base + 0xffe, 4, true},
    };
    for (const Access& x : accesses) {
        Attempt a(x.name, "lapic", "#GP injected, refused_other +1 (not a partition stop)");
        uint64_t v     = 0;
        probe::Fault f = x.store ? probe::store(x.addr, x.size, 0) : probe::load(x.addr, x.size, v);
        Delta d        = a.delta();
        a.report(faulted_with(f, probe::GP) && counts(d, 0, 0, 1), f, "\"addr\":\"0x%llx\",\"size\":%u,\"store\":%s",
                 ull{x.addr}, x.size, x.store ? "true" : "false");
    }
    {
        Attempt a("lapic-rep-movsl", "lapic", "#GP injected, refused_other +1 (string store into the page)");
        static const uint32_t src[2] = {0, 0};
        probe::Fault f               = probe::rep_movsl(base + 0x80, src, 2);
        Delta d                      = a.delta();
        a.report(faulted_with(f, probe::GP) && counts(d, 0, 0, 1), f);
    }
}

// The instruction decoder in compatibility mode: a 32-bit store to the
// TPR must be emulated like the 64-bit one (or refused with #GP, never
// misdecoded), an ICR write from there refused like any other.
void compat_mode_xapic() {
    const uint32_t base = static_cast<uint32_t>(xapic_base());
    {
        Attempt a("lapic-compat-tpr-store", "lapic", "emulated (TPR reads back 0x20) or #GP; never a stop");
        probe::Fault f = probe::store32_compat(base + 0x80, 0x20);
        Delta d        = a.delta();
        uint32_t tpr   = mmio_read(0x80);
        (void)probe::store(base + 0x80, 4, 0);
        bool pass = (f.none() && tpr == 0x20 && counts(d, 0, 0, 0)) || (faulted_with(f, probe::GP) && d.other >= 1);
        a.report(pass, f, "\"tpr\":\"0x%x\"", tpr);
    }
    {
        Attempt a("lapic-compat-icr-init", "lapic", "refused_other +1 (INIT to rt0 from compatibility mode), or #GP");
        probe::Fault f = probe::store(base + ICR_HIGH, 4, hw::Icr::xapic_high(RT0_APIC));
        if (f.none()) f = probe::store32_compat(base + ICR_LOW, MODE_INIT | ASSERT);
        Delta d = a.delta();
        a.report((f.none() || faulted_with(f, probe::GP)) && counts(d, 0, 0, 1), f);
    }
}

// A paging structure inside the trapped page: the page directory of the
// 5th GiB is the xAPIC page itself, so a load or store there makes the
// processor read a PDE from the APIC page (an EPT violation on a
// paging-structure access, SDM Vol. 3C 28.2.1 qualification bit 8 = 0).
// That is not the instruction's own access: it must not be emulated as an
// APIC register access (the load would return an APIC register, the store
// would write one); #GP injected, the partition goes on.
void page_table_in_page() {
    constexpr unsigned GIB = 4;
    const uint64_t base    = xapic_base();
    if (!paging::set_directory(GIB, base)) {
        Attempt a("lapic-page-table-load", "lapic", "setup");
        a.report(false, probe::Fault{}, "\"reason\":\"paging::set_directory failed\"");
        return;
    }
    // PDE index k is read from APIC offset 8 * k: 0x20 (APIC ID) and 0x300 (ICR low).
    const uintptr_t load_at  = (uint64_t{GIB} << 30) + (0x20 / 8) * (2ull << 20);
    const uintptr_t store_at = (uint64_t{GIB} << 30) + (0x300 / 8) * (2ull << 20);
    {
        Attempt a("lapic-page-table-load", "lapic",
                  "#GP injected: a PDE read from the trapped page is not emulated as the load");
        uint64_t v     = 0;
        probe::Fault f = probe::load(load_at, 4, v);
        Delta d        = a.delta();
        a.report(faulted_with(f, probe::GP) && d.known && d.other >= 1, f, "\"linear\":\"0x%llx\",\"value\":\"0x%llx\"",
                 ull{load_at}, ull{v});
    }
    {
        Attempt a("lapic-page-table-store", "lapic",
                  "#GP injected: a PDE read from the trapped page is not emulated as an ICR write");
        probe::Fault f = probe::store(store_at, 4, MODE_INIT | ASSERT | ALL_EXCLUDING);
        Delta d        = a.delta();
        a.report(faulted_with(f, probe::GP) && d.known && d.other >= 1, f, "\"linear\":\"0x%llx\"", ull{store_at});
    }
    (void)paging::set_directory(GIB, 0);
}

void x2apic_switch() {
    uint64_t base = cpu::rdmsr(MSR_APIC_BASE);
    {
        Attempt a("x2apic-enable", "x2apic", "legal xAPIC -> x2APIC switch: accepted");
        probe::Fault f = probe::wrmsr(MSR_APIC_BASE, base | APIC_BASE_X2);
        Delta d        = a.delta();
        uint64_t after = cpu::rdmsr(MSR_APIC_BASE);
        bool ok        = f.none() && (after & APIC_BASE_X2) && counts(d, 0, 0, 0);
        if (ok) ok = lapic::init(idt::VECTOR_SPURIOUS, true) == lapic::Status::Ok && lapic::x2apic();
        a.report(ok, f, "\"before\":\"0x%llx\",\"after\":\"0x%llx\",\"x2apic_id\":%u", ull{base}, ull{after},
                 lapic::id());
    }
    base = cpu::rdmsr(MSR_APIC_BASE);
    {
        Attempt a("x2apic-to-xapic", "x2apic", "#GP, refused_msr +1 (x2APIC -> xAPIC directly is illegal)");
        probe::Fault f = probe::wrmsr(MSR_APIC_BASE, base & ~APIC_BASE_X2);
        Delta d        = a.delta();
        uint64_t after = cpu::rdmsr(MSR_APIC_BASE);
        a.report(faulted_with(f, probe::GP) && counts(d, 0, 1, 0) && after == base, f,
                 "\"before\":\"0x%llx\",\"after\":\"0x%llx\"", ull{base}, ull{after});
    }
    struct Ro {
        const char* name;
        uint32_t msr;
    };
    const Ro ro[] = {{"x2apic-id-write", hw::x2apic_msr(Reg::Id)}, {"x2apic-ldr-write", hw::x2apic_msr(Reg::Ldr)}};
    for (const Ro& r : ro) {
        Attempt a(r.name, "x2apic", "#GP (read-only in x2APIC mode)");
        uint64_t before = cpu::rdmsr(r.msr);
        probe::Fault f  = probe::wrmsr(r.msr, before + 0x10);
        a.delta();
        uint64_t after = cpu::rdmsr(r.msr);
        a.report(faulted_with(f, probe::GP) && after == before, f, "\"before\":\"0x%llx\",\"after\":\"0x%llx\"",
                 ull{before}, ull{after});
    }
}

}  // namespace

void run_lapic() {
    if (lapic::x2apic()) {
        skipped("lapic", "lapic", "trapped xAPIC page", "the local APIC is in x2APIC mode");
        return;
    }
    identity_xapic();
    lvt_vectors(false);
    icr_vectors(false);
    malformed_xapic();
    compat_mode_xapic();
}

void run_page_table() {
    if (lapic::x2apic()) {
        skipped("lapic-page-table", "lapic", "trapped xAPIC page", "the local APIC is in x2APIC mode");
        return;
    }
    page_table_in_page();
}

// The x2APIC SELF IPI register (SDM Vol. 3A, "Self IPI Register"): a fixed
// interrupt to this core only, passed through; it must arrive once.
void x2apic_self_ipi() {
    idt::set_handler(VECTOR_SELF, on_self);
    Attempt a("x2apic-self-ipi-msr", "x2apic", "delivered to this core once, no refusal");
    uint64_t seen  = g_self_hits;
    probe::Fault f = probe::wrmsr(hw::x2apic_msr(Reg::SelfIpi), VECTOR_SELF);
    uint64_t hits  = settle(seen);
    Delta d        = a.delta();
    a.report(f.none() && hits == 1 && counts(d, 0, 0, 0), f, "\"self_hits\":%llu", ull{hits});
}

void run_x2apic() {
    if (!drivers::cpuid::has_ecx1(drivers::cpuid::ecx1::X2APIC)) {
        skipped("x2apic", "x2apic", "x2APIC vectors", "CPUID.1:ECX.x2APIC[21] = 0 on this model");
        return;
    }
    if (!lapic::x2apic()) x2apic_switch();
    if (!lapic::x2apic()) return;
    lvt_vectors(true);
    icr_vectors(true);
    x2apic_self_ipi();
}

}  // namespace natsume::guest::hostile
