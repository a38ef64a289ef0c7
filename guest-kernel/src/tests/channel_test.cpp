// Channels between two partitions ([[channel]], include/natsume/bootinfo.h).
//
// test=channel-ping rounds=N: a request/response over the first channel this
// partition is a side of, one doorbell each way per round. The frontend
// writes the round number, rings, and waits for the backend's answer; the
// backend sleeps in HLT until the doorbell, answers and rings back. Both sides
// report the doorbells they received and the VM exits that were not their
// own hypercalls: receiving a doorbell must cost none.
//
// test=channel-attack: what a side must not be able to do with the doorbell
// hypercalls: bind or ring a channel it is not a side of or that does not
// exist, bind an illegal vector, ring a peer that bound nothing, and flood
// its peer past the rate limit (test=channel-flood count=N against a peer
// running test=channel-sink: most doorbells are refused with EAGAIN, the sink
// receives exactly the ones that were sent, and takes no exit for them).
#include <natsume/bootinfo.h>

#include "arch/idt.h"
#include "bench/latency_stats.h"
#include "devices/lapic.h"
#include "kernel/hypercall.h"
#include "tests/channel_common.h"
#include "tests/device_common.h"
#include "tests/results.h"

namespace natsume::guest::device_tests {
namespace {

using ull = unsigned long long;

constexpr uint64_t DEFAULT_ROUNDS = 200;
constexpr uint64_t MAX_ROUNDS     = 4096;
constexpr uint64_t MEET_US        = 5000000;  // both sides bound: boot skew between the two cores is far less
constexpr uint64_t ROUND_US       = 50000;    // one round trip: far above any doorbell path

// The channel's first page; each side writes only its own fields.
struct Mailbox {
    volatile uint32_t ready[2];  // a side's vector is bound
    volatile uint64_t request;   // frontend: the round it asks for
    volatile uint64_t reply;     // backend: the round it answered
    volatile uint32_t done;      // frontend: no more rounds
};

int64_t g_rtt[MAX_ROUNDS];

Mailbox& mailbox(const natsume_boot_channel& ch) { return *reinterpret_cast<Mailbox*>(ch.gpa); }

// Both sides have bound their vectors (open_first_channel) when both ready flags are up.
bool meet(const natsume_boot_channel& ch) {
    Mailbox& m       = mailbox(ch);
    m.ready[ch.role] = 1;
    uint32_t peer    = 1 - ch.role;
    return wait_us([&] { return m.ready[peer] != 0; }, MEET_US);
}

void frontend(const natsume_boot_channel& ch, uint64_t rounds) {
    Mailbox& m = mailbox(ch);
    natsume_stats a{}, b{};
    bool ok       = read_stats(a);
    uint64_t lost = 0, refused = 0;
    for (uint64_t i = 1; i <= rounds && lost == 0; i++) {
        uint64_t t0 = rdtsc_ordered();
        m.request   = i;
        if (hypercall::doorbell(ch.id) != NATSUME_OK) refused++;
        if (!wait_us([&] { return m.reply == i; }, ROUND_US)) lost++;
        g_rtt[i - 1] = static_cast<int64_t>(rdtsc_ordered() - t0);
    }
    ok     = read_stats(b) && ok;
    m.done = 1;
    (void)hypercall::doorbell(ch.id);  // wakes the backend to see `done`
    stats::sort(g_rtt, rounds);
    stats::Summary s = stats::summarize(g_rtt, rounds);
    uint64_t exits = b.exits_total - a.exits_total, calls = b.hypercalls - a.hypercalls;
    uint64_t got = b.doorbells_received - a.doorbells_received;
    results::report("channel-ping", ok && lost == 0 && refused == 0 && got == rounds && foreign_exits(a, b) == 0,
                    "\"role\":\"frontend\",\"channel\":\"%s\",\"rounds\":%llu,\"lost\":%llu,\"refused\":%llu,"
                    "\"doorbells_received\":%llu,\"exits\":%llu,\"hypercalls\":%llu,\"foreign_exits\":%llu,"
                    "\"rtt_ticks\":{\"min\":%lld,\"p50\":%lld,\"p99\":%lld,\"max\":%lld}",
                    ch.name, ull{rounds}, ull{lost}, ull{refused}, ull{got}, ull{exits}, ull{calls},
                    ull{foreign_exits(a, b)}, static_cast<long long>(s.min), static_cast<long long>(s.p50),
                    static_cast<long long>(s.p99), static_cast<long long>(s.max));
}

void backend(const natsume_boot_channel& ch, uint64_t rounds) {
    Mailbox& m = mailbox(ch);
    natsume_stats a{}, b{};
    bool ok           = read_stats(a);
    uint64_t answered = 0, refused = 0;
    uint64_t deadline = cpu::rdtsc() + ticks_for_us(ROUND_US * (rounds + 2));
    while (!m.done && cpu::rdtsc() < deadline) {
        uint64_t seen = doorbells_received();
        if (m.request != m.reply) {
            m.reply = m.request;
            answered++;
            if (hypercall::doorbell(ch.id) != NATSUME_OK) refused++;
        }
        // Sleep until the next doorbell (HLT does not exit: the interrupt
        // wakes this core directly); `sti; hlt` so none is missed in between.
        if (doorbells_received() == seen && m.request == m.reply && !m.done) asm volatile("sti; hlt; cli" ::: "memory");
    }
    ok           = read_stats(b) && ok;
    uint64_t got = b.doorbells_received - a.doorbells_received;
    // Every round's doorbell plus the one that says done.
    results::report("channel-ping",
                    ok && m.done && answered == rounds && refused == 0 && got == rounds + 1 && foreign_exits(a, b) == 0,
                    "\"role\":\"backend\",\"channel\":\"%s\",\"answered\":%llu,\"refused\":%llu,"
                    "\"doorbells_received\":%llu,\"exits\":%llu,\"hypercalls\":%llu,\"foreign_exits\":%llu",
                    ch.name, ull{answered}, ull{refused}, ull{got}, ull{b.exits_total - a.exits_total},
                    ull{b.hypercalls - a.hypercalls}, ull{foreign_exits(a, b)});
}

// Rings `count` doorbells as fast as it can, then says done (retrying the
// last doorbell past the rate limit).
void flood(const natsume_boot_channel& ch, uint64_t count) {
    Mailbox& m    = mailbox(ch);
    uint64_t sent = 0, limited = 0, other = 0;
    uint64_t t0 = cpu::rdtsc();
    for (uint64_t i = 0; i < count; i++) {
        int64_t r = hypercall::doorbell(ch.id);
        if (r == NATSUME_OK)
            sent++;
        else if (r == NATSUME_EAGAIN)
            limited++;
        else
            other++;
    }
    uint64_t elapsed = cpu::rdtsc() - t0;
    // rate=R (the file's doorbell_rate): at most what the limit lets through in that time.
    uint64_t rate     = arg("rate", 0);
    uint64_t bound    = NATSUME_CHANNEL_DOORBELL_BURST + elapsed * rate / (boot::context().tsc_khz * 1000) + 1;
    m.request         = sent;
    m.done            = 1;
    uint64_t deadline = cpu::rdtsc() + ticks_for_us(ROUND_US);
    while (hypercall::doorbell(ch.id) != NATSUME_OK && cpu::rdtsc() < deadline) cpu::pause();
    results::report("channel-flood", limited > 0 && other == 0 && sent + limited == count && (!rate || sent <= bound),
                    "\"count\":%llu,\"sent\":%llu,\"rate_limited\":%llu,\"other\":%llu,\"elapsed_ticks\":%llu,"
                    "\"bound\":%llu",
                    ull{count}, ull{sent}, ull{limited}, ull{other}, ull{elapsed}, rate ? ull{bound} : 0ull);
}

// Sleeps until the flood says done, then compares what arrived with what the
// flooder says it sent (its doorbells plus the one that says done).
void sink(const natsume_boot_channel& ch, uint64_t seconds) {
    Mailbox& m = mailbox(ch);
    natsume_stats a{}, b{};
    bool ok           = read_stats(a);
    uint64_t deadline = cpu::rdtsc() + ticks_for_us(seconds * 1000000);
    while (!m.done && cpu::rdtsc() < deadline) asm volatile("sti; hlt; cli" ::: "memory");
    // The done doorbell may still be on its way.
    wait_us([&] { return doorbells_received() >= m.request + 1; }, ROUND_US);
    ok = read_stats(b) && ok;
    // Absolute: the flood may start before this side's first snapshot.
    uint64_t got = b.doorbells_received;
    results::report("channel-sink",
                    ok && m.done && got == m.request + 1 && doorbells_received() == got && foreign_exits(a, b) == 0,
                    "\"doorbells_received\":%llu,\"interrupts\":%llu,\"flood_sent\":%llu,\"foreign_exits\":%llu",
                    ull{got}, ull{doorbells_received()}, ull{m.request}, ull{foreign_exits(a, b)});
}

void expect(const char* name, int64_t got, int64_t want) {
    results::report(name, got == want, "\"returned\":%lld,\"expected\":%lld", static_cast<long long>(got),
                    static_cast<long long>(want));
}

}  // namespace

void run_channel_ping() {
    const natsume_boot_channel* ch = open_first_channel("channel-ping");
    if (!ch) return;
    uint64_t rounds = arg("rounds", DEFAULT_ROUNDS);
    if (rounds == 0 || rounds > MAX_ROUNDS) rounds = DEFAULT_ROUNDS;
    if (!meet(*ch)) {
        results::report("channel-ping", false, "\"why\":\"the peer did not bind its vector within %llu ms\"",
                        ull{MEET_US / 1000});
        return;
    }
    if (ch->role == NATSUME_CHANNEL_FRONTEND)
        frontend(*ch, rounds);
    else
        backend(*ch, rounds);
}

void run_channel_flood_or_sink(bool flooder) {
    const char* name               = flooder ? "channel-flood" : "channel-sink";
    const natsume_boot_channel* ch = open_first_channel(name);
    if (!ch) return;
    if (!meet(*ch)) {
        results::report(name, false, "\"why\":\"the peer did not bind its vector within %llu ms\"",
                        ull{MEET_US / 1000});
        return;
    }
    if (flooder)
        flood(*ch, arg("count", 5000));
    else
        sink(*ch, arg("seconds", 30));
}

void run_channel_flood() { run_channel_flood_or_sink(true); }
void run_channel_sink() { run_channel_flood_or_sink(false); }

// Runs in the frontend of a channel whose backend never binds; the channel
// id past the last one the file can hold is never a channel.
void run_channel_attack() {
    const boot::Context& ctx = boot::context();
    if (!in_partition() || ctx.channel_count == 0) {
        results::report("channel-attack", false, "\"why\":\"no channel: run in a partition the file gives one\"");
        return;
    }
    const natsume_boot_channel* ch = &ctx.channels[0];
    install_doorbell_handler();  // bound only by the last vector below
    constexpr uint32_t NO_SUCH = NATSUME_CHANNEL_MAX;
    uint32_t foreign = static_cast<uint32_t>(arg("foreign", NO_SUCH));  // foreign=ID: a channel of two other partitions
    expect("channel-bind-no-such", hypercall::channel_bind(NO_SUCH, idt::VECTOR_DOORBELL), NATSUME_ENOENT);
    if (foreign != NO_SUCH)
        expect("channel-bind-not-a-side", hypercall::channel_bind(foreign, idt::VECTOR_DOORBELL), NATSUME_ENOENT);
    expect("channel-bind-vector-low", hypercall::channel_bind(ch->id, 0x1f), NATSUME_EINVAL);
    expect("channel-bind-vector-spurious", hypercall::channel_bind(ch->id, 0xff), NATSUME_EINVAL);
    expect("channel-bind-wide-vector", hypercall::call(NATSUME_HC_CHANNEL_BIND, ch->id, 0x144), NATSUME_EINVAL);
    expect("channel-doorbell-no-such", hypercall::doorbell(NO_SUCH), NATSUME_ENOENT);
    expect("channel-doorbell-huge-id", hypercall::call(NATSUME_HC_DOORBELL, ~0ull), NATSUME_ENOENT);
    if (foreign != NO_SUCH) expect("channel-doorbell-not-a-side", hypercall::doorbell(foreign), NATSUME_ENOENT);
    expect("channel-doorbell-unbound", hypercall::doorbell(ch->id), NATSUME_ENOTCONN);
    expect("channel-bind-own", hypercall::channel_bind(ch->id, idt::VECTOR_DOORBELL), NATSUME_OK);
    natsume_stats a{}, b{};
    bool ok = read_stats(a);
    for (int i = 0; i < 16; i++) (void)hypercall::doorbell(ch->id);
    ok = read_stats(b) && ok;
    results::report("channel-refusals-counted",
                    ok && b.doorbells_refused - a.doorbells_refused == 16 && b.doorbells_sent == a.doorbells_sent,
                    "\"refused\":%llu,\"sent\":%llu", ull{b.doorbells_refused - a.doorbells_refused},
                    ull{b.doorbells_sent - a.doorbells_sent});
}

}  // namespace natsume::guest::device_tests
