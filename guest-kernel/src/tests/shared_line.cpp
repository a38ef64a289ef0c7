// Shared INTx line tests: the e1000 (slot1, 00:02.0) and the pcipnic (slot3,
// 00:04.0) both sit on ISA line 9 in Bochs. In partitions each test drives
// the one device its partition owns, and the hypervisor has to decide per
// device who gets each interrupt; natively one kernel drives both devices on
// one vector, which validates the drivers and the line itself.
//
// An interrupt is "received" when the handler finds its device's reason
// (e1000: an enabled cause in ICR; pcipnic: a FORCE_IRQ this kernel issued
// and has not yet seen), "spurious" when it finds none.
#include "arch/idt.h"
#include "devices/e1000.h"
#include "devices/ioapic.h"
#include "devices/lapic.h"
#include "devices/pcipnic.h"
#include "tests/device_common.h"
#include "tests/results.h"

namespace natsume::guest::device_tests {
namespace {

using ull = unsigned long long;

constexpr uint32_t E1000_CAUSE         = e1000::INT_TXDW;  // the one cause enabled, raised through ICS
constexpr uint64_t WAIT_US             = 20000;  // per interrupt: far above any delivery path, bounds a lost one
constexpr uint64_t SETTLE_US           = 20000;  // after the last one: lets a late or duplicate delivery show
constexpr unsigned MAX_MISSES_IN_A_ROW = 3;      // a dead line fails fast instead of waiting N deadlines

bool g_use_e1000                  = false;
bool g_use_pnic                   = false;
volatile bool g_pnic_forced       = false;
volatile uint64_t g_e1000_irqs    = 0;
volatile uint64_t g_pnic_irqs     = 0;
volatile uint64_t g_spurious      = 0;
volatile uint64_t g_handler_calls = 0;

bool service_e1000() {
    uint32_t icr = *e1000::register_address(e1000::Reg::Icr);  // read-to-clear lowers INTx
    if (!(icr & E1000_CAUSE)) return false;
    g_e1000_irqs = g_e1000_irqs + 1;
    return true;
}

// The pcipnic has no interrupt-status register: the only reason it can have
// is the FORCE_IRQ this kernel issued. MASK_IRQ(1) lowers the line in any case.
bool service_pnic() {
    bool mine     = g_pnic_forced;
    g_pnic_forced = false;
    (void)pcipnic::set_irq_enabled(true);
    if (mine) g_pnic_irqs = g_pnic_irqs + 1;
    return mine;
}

void on_line(idt::InterruptFrame&) {
    g_handler_calls = g_handler_calls + 1;
    bool any        = false;
    if (g_use_e1000) any = service_e1000() || any;
    if (g_use_pnic) any = service_pnic() || any;
    if (!any) g_spurious = g_spurious + 1;
    lapic::eoi();
}

enum class Source : uint8_t { E1000, Pnic, Both };

struct Tally {
    uint64_t triggered = 0;
    uint64_t received  = 0;
};

// Raises one interrupt with interrupts off, then waits for the handler.
// Returns whether every device raised was serviced before the deadline.
bool trigger_and_wait(Source s) {
    uint64_t e_seen = g_e1000_irqs, p_seen = g_pnic_irqs;
    bool e = s != Source::Pnic, p = s != Source::E1000;
    if (p) {
        g_pnic_forced = true;
        if (!pcipnic::force_irq()) {
            g_pnic_forced = false;
            return false;
        }
    }
    if (e) e1000::write_ics(E1000_CAUSE);
    uint64_t deadline = cpu::rdtsc() + ticks_for_us(WAIT_US);
    cpu::enable_interrupts();
    while ((e && g_e1000_irqs == e_seen) || (p && g_pnic_irqs == p_seen)) {
        if (cpu::rdtsc() > deadline) break;
        cpu::pause();
    }
    cpu::disable_interrupts();
    return (!e || g_e1000_irqs != e_seen) && (!p || g_pnic_irqs != p_seen);
}

// Runs `n` rounds of `s`; stops early after MAX_MISSES_IN_A_ROW lost ones.
uint64_t run_rounds(Source s, uint64_t n) {
    uint64_t done   = 0;
    unsigned misses = 0;
    for (; done < n && misses < MAX_MISSES_IN_A_ROW; ++done) misses = trigger_and_wait(s) ? 0 : misses + 1;
    return done;
}

void settle() {
    uint64_t end = cpu::rdtsc() + ticks_for_us(SETTLE_US);
    cpu::enable_interrupts();
    while (cpu::rdtsc() < end) cpu::pause();
    cpu::disable_interrupts();
}

const char* mode_name() { return in_partition() ? "partition" : "native"; }

// --- device setup -------------------------------------------------------------------

bool setup_e1000(const char* test) {
    e1000::Status s = e1000::init();
    if (s == e1000::Status::Ok) s = e1000::enable_interrupts(idt::VECTOR_DEVICE, E1000_CAUSE);
    if (s != e1000::Status::Ok) {
        results::report(test, false, "\"reason\":\"e1000 %s\"", e1000::status_name(s));
        return false;
    }
    g_use_e1000 = true;
    idt::set_handler(idt::VECTOR_DEVICE, on_line);  // replaces the driver's own handler
    return true;
}

bool setup_pnic(const char* test) {
    pcipnic::Status s      = pcipnic::init();
    const pcipnic::Info& i = pcipnic::info();
    const char* why        = s != pcipnic::Status::Ok               ? pcipnic::status_name(s)
                             : i.gsi == 0xffffffffu                 ? "no interrupt line"
                             : ioapic::init() != ioapic::Status::Ok ? "no IOAPIC"
                                                                    : nullptr;
    if (!why && ioapic::route_pci_intx(i.gsi, idt::VECTOR_DEVICE) != ioapic::Status::Ok) why = "IOAPIC pin refused";
    if (!why && !pcipnic::set_irq_enabled(true)) why = "MASK_IRQ failed";
    if (why) {
        results::report(test, false, "\"reason\":\"pcipnic %s\"", why);
        return false;
    }
    g_use_pnic = true;
    idt::set_handler(idt::VECTOR_DEVICE, on_line);
    ioapic::unmask(i.gsi);
    return true;
}

void teardown() {
    if (g_use_e1000) e1000::disable_interrupts();
    if (g_use_pnic) {
        (void)pcipnic::set_irq_enabled(false);
        ioapic::mask(pcipnic::info().gsi);
    }
}

}  // namespace

void run_shared_line_rt() {
    const char* test = "shared-line-rt";
    uint64_t n       = arg("count", 200);
    if (!setup_e1000(test)) return;
    uint64_t triggered = run_rounds(Source::E1000, n);
    settle();
    teardown();
    uint64_t r = g_e1000_irqs, sp = g_spurious;
    results::report(test, triggered == n && r == n && sp == 0,
                    "\"mode\":\"%s\",\"bdf\":\"%02x:%02x.%x\",\"gsi\":%u,\"triggered\":%llu,\"received\":%llu,"
                    "\"spurious\":%llu,\"handler_calls\":%llu",
                    mode_name(), e1000::info().bdf >> 8, (e1000::info().bdf >> 3) & 0x1f, e1000::info().bdf & 7,
                    e1000::info().gsi, ull{triggered}, ull{r}, ull{sp}, ull{g_handler_calls});
}

void run_shared_line_gp() {
    const char* test = "shared-line-gp";
    uint64_t n       = arg("count", 200);
    if (!setup_pnic(test)) return;
    uint64_t triggered = run_rounds(Source::Pnic, n);
    settle();
    teardown();
    uint64_t r = g_pnic_irqs, sp = g_spurious;
    const pcipnic::Info& i = pcipnic::info();
    results::report(test, triggered == n && r == n,
                    "\"mode\":\"%s\",\"bdf\":\"%02x:%02x.%x\",\"gsi\":%u,\"triggered\":%llu,\"received\":%llu,"
                    "\"spurious\":%llu,\"handler_calls\":%llu",
                    mode_name(), i.bdf >> 8, (i.bdf >> 3) & 0x1f, i.bdf & 7, i.gsi, ull{triggered}, ull{r}, ull{sp},
                    ull{g_handler_calls});
}

// Natively: both devices on one line and one vector. Each device alone, then
// both at once (one delivery, the handler must find both reasons).
void run_shared_line_native() {
    const char* test = "shared-line-native";
    uint64_t n       = arg("count", 50);
    if (!setup_e1000(test) || !setup_pnic(test)) return;
    bool same_line = e1000::info().gsi == pcipnic::info().gsi;
    Tally e, p;
    e.triggered   = run_rounds(Source::E1000, n);
    p.triggered   = run_rounds(Source::Pnic, n);
    uint64_t both = run_rounds(Source::Both, n);
    settle();
    teardown();
    e.received  = g_e1000_irqs;
    p.received  = g_pnic_irqs;
    uint64_t sp = g_spurious;
    bool pass   = same_line && e.triggered == n && p.triggered == n && both == n && e.received == 2 * n &&
                p.received == 2 * n && sp == 0;
    results::report(test, pass,
                    "\"mode\":\"%s\",\"gsi\":[%u,%u],\"rounds\":%llu,\"e1000\":{\"triggered\":%llu,"
                    "\"received\":%llu},\"pcipnic\":{\"triggered\":%llu,\"received\":%llu},\"both\":%llu,"
                    "\"spurious\":%llu,\"handler_calls\":%llu",
                    mode_name(), e1000::info().gsi, pcipnic::info().gsi, ull{n}, ull{e.triggered + both},
                    ull{e.received}, ull{p.triggered + both}, ull{p.received}, ull{both}, ull{sp},
                    ull{g_handler_calls});
}

}  // namespace natsume::guest::device_tests
