// test=load-attack kind=K: the other partition attacks the hypervisor's
// availability while rt0 measures its interrupt latency (./natsume bench irq,
// loads console-flood, io-storm, ipi-attack, eoi-flood, refusal-flood). Each
// kind loops for seconds= (default: forever in practice) and counts rounds;
// every round is one VM exit that the hypervisor refuses or rate-limits.
#include <stdio.h>
#include <string.h>

#include "arch/idt.h"
#include "devices/ioapic.h"
#include "devices/lapic.h"
#include "kernel/hypercall.h"
#include "lib/cmdline.h"
#include "tests/device_common.h"
#include "tests/results.h"

namespace natsume::guest::device_tests {
namespace {

using ull = unsigned long long;

// A 200-byte console line, over and over: the console rate limit's case.
void console_round(uint64_t round) {
    char line[201];
    memset(line, 'f', sizeof line);
    int n = snprintf(line, sizeof line, "natsume-guest: flood %llu ", static_cast<ull>(round));
    if (n > 0 && static_cast<size_t>(n) < sizeof line) line[n] = 'f';
    line[199] = '\n';
    (void)hypercall::console_write(line, 200);
}

// Ports no partition owns (POST code, NMI/speaker control, PIT): each access
// exits and is refused; the log keeps the first and counts the rest.
void io_round(uint64_t round) {
    cpu::outb(0x80, static_cast<uint8_t>(round));
    (void)cpu::inb(0x61);
    (void)cpu::inb(0x40);
}

// Fixed IPIs at rt0's core (APIC ID 1): refused by the interrupt-command
// filter (x2APIC, or a trapped xAPIC page).
void ipi_round(uint64_t) {
    uint64_t icr = lapic::icr_value(1, lapic::Ipi::Fixed, idt::VECTOR_ATTACK_IPI);
    if (lapic::x2apic()) {
        cpu::wrmsr(lapic::icr_msr(), icr);
        return;
    }
    *reinterpret_cast<volatile uint32_t*>(lapic::icr_high_address()) = 1u << 24;
    *reinterpret_cast<volatile uint32_t*>(lapic::icr_low_address())  = static_cast<uint32_t>(icr);
}

// EOI register writes (offset 0x40) naming rt0's device vector: a version 0x20
// IOAPIC acknowledges only this partition's own pins; Bochs' 0x11 IOAPIC has
// no such register and every write is a refused access.
void eoi_round(uint64_t) { *reinterpret_cast<volatile uint32_t*>(ioapic::base() + 0x40) = idt::VECTOR_DEVICE; }

// A refused MSR write (IA32_TSC): #GP every time, the handler skips WRMSR.
void on_refused_msr(idt::InterruptFrame& f) { f.rip += 2; }  // WRMSR is 0F 30
void refusal_round(uint64_t round) { cpu::wrmsr(0x10, round); }

struct Kind {
    const char* name;
    void (*round)(uint64_t);
};
constexpr Kind KINDS[] = {
    {"console", console_round}, {"io", io_round}, {"ipi", ipi_round}, {"eoi", eoi_round}, {"msr", refusal_round}};

}  // namespace

void run_load_attack() {
    char name[16] = "";
    (void)cmdline::get(boot::context().cmdline, "kind", name, sizeof name);
    const Kind* kind = nullptr;
    for (const Kind& k : KINDS)
        if (strcmp(name, k.name) == 0) kind = &k;
    if (!kind || !in_partition()) {
        results::report("load-attack", false, "\"kind\":\"%s\",\"reason\":\"%s\"", name,
                        kind ? "needs a partition" : "kind must be console, io, ipi, eoi or msr");
        return;
    }
    if (strcmp(kind->name, "eoi") == 0 && ioapic::init() != ioapic::Status::Ok) {
        results::report("load-attack", false, "\"kind\":\"eoi\",\"reason\":\"no IOAPIC page\"");
        return;
    }
    idt::set_handler(13, on_refused_msr);
    idt::set_handler(idt::VECTOR_ATTACK_IPI, [](idt::InterruptFrame&) { lapic::eoi(); });
    uint64_t seconds = arg("seconds", 3600);
    uint64_t end     = cpu::rdtsc() + seconds * boot::context().tsc_khz * 1000;
    printf("natsume-guest: load-attack %s running\n", kind->name);
    fflush(stdout);
    natsume_stats a{}, b{};
    bool stats      = read_stats(a);
    uint64_t rounds = 0;
    while (cpu::rdtsc() < end) kind->round(rounds++);
    stats = stats && read_stats(b);
    idt::set_handler(13, nullptr);
    results::report("load-attack", rounds > 0, "\"kind\":\"%s\",\"rounds\":%llu,\"exits\":%lld", kind->name,
                    static_cast<ull>(rounds), stats ? static_cast<long long>(b.exits_total - a.exits_total) : -1ll);
}

}  // namespace natsume::guest::device_tests
