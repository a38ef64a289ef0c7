// test=net-bench: the network half of `./natsume bench io`, over the link
// this kernel has: its own e1000 (Native, Passthrough) or, when the boot
// information gives it a frontend channel, a netif frontend whose backend
// bridges it to an e1000 (Paravirtual; the backend runs test=vif-bridge).
// The peer is Bochs' vnet host 192.168.10.1: it answers ARP and ICMP echo
// after the frames' wire time at 1 Gbit/s plus 100 us of emulated time
// (eth_vnet.cc), not from the 1000 us receive poll of Bochs' other network
// backends, so a request/response here is not capped by that poll.
//
//   rr=N reps=R  R rounds of N ICMP echo request/responses, one in flight
//                (56-byte payload, 98-byte frames), in the role netperf's
//                UDP_RR plays in the paper (vnet has no UDP echo service):
//                the round trip of every sample and the mean of every round
//   frames=M     R rounds of M UDP datagrams of 1472 bytes (1514-byte
//                frames) to a station nobody answers, as fast as the link
//                takes them (transmit, in the style of UDP_STREAM)
//
// For each phase: ticks spent outside HLT on this core per packet, device
// interrupts (e1000 or doorbell) per packet and per MiB, and the VM exits that
// were not this partition's own hypercalls (0 on the passthrough path).
#include <stdio.h>
#include <string.h>

#include <natsume/bootinfo.h>

#include "drivers/pv/netif.hpp"

#include "arch/idt.h"
#include "bench/latency_stats.h"
#include "devices/e1000.h"
#include "devices/lapic.h"
#include "kernel/hypercall.h"
#include "lib/net_frames.h"
#include "tests/channel_common.h"
#include "tests/device_common.h"
#include "tests/results.h"
#include "tests/vif_common.h"

namespace natsume::guest::device_tests {
namespace {

using ull    = unsigned long long;
using ll     = long long;
namespace pv = natsume::drivers::pv;

constexpr net::Ip4 ME = {{192, 168, 10, 15}}, VNET_HOST = {{192, 168, 10, 1}};
// The stream's destination: a locally administered address no station has.
constexpr net::Mac NOBODY      = {{0x02, 0, 0, 0, 0, 0x99}};
constexpr size_t ECHO_PAYLOAD  = 56;
constexpr size_t STREAM_BYTES  = 1472;
constexpr uint16_t ECHO_ID     = 0x4e42;
constexpr uint64_t REPLY_US    = 200000;  // vnet answers in ~100 emulated us
constexpr uint64_t WATCHDOG_US = 1000;    // the LAPIC tick that bounds every HLT
constexpr uint64_t MAX_SAMPLES = 4096;
constexpr uint64_t MAX_REPS    = 16;

int64_t g_rtt[MAX_SAMPLES];
uint8_t g_out[2048], g_in[2048];
volatile uint64_t g_ticks = 0;

void on_tick(idt::InterruptFrame&) {
    g_ticks = g_ticks + 1;
    lapic::eoi();
}

// The link under test: the e1000 or a netif frontend. Waits halt the core
// (the interrupt of the frame, or the watchdog tick, wakes it) and count the
// halted ticks, so a phase knows what it cost this core.
class Link {
public:
    bool open(const char* name);
    bool vif() const { return ch_ != nullptr; }
    const net::Mac& mac() const { return mac_; }
    bool send(const uint8_t* f, uint16_t len);
    // Frames until `match` accepts one (others dropped) or `us` pass.
    template <typename Match>
    bool wait(Match match, uint64_t us);
    // Until the backend has answered every frame sent (vif); at once (e1000).
    bool drain(uint64_t us);
    void close();

    uint64_t interrupts() const { return vif() ? doorbells_received() : e1000::irq_count(); }
    uint64_t halted = 0, doorbells = 0;

private:
    size_t receive(uint8_t* out, size_t cap);
    void halt();

    const natsume_boot_channel* ch_ = nullptr;
    pv::NetFront front_;
    net::Mac mac_{};
};

bool Link::open(const char* name) {
    idt::set_handler(idt::VECTOR_TIMER, on_tick);
    lapic::start_timer(lapic::TimerMode::Periodic, idt::VECTOR_TIMER, WATCHDOG_US);
    if (in_partition() && boot::context().channel_count > 0) {
        ch_ = open_first_channel(name, NATSUME_CHANNEL_FRONTEND);
        if (!ch_ || !open_front(name, *ch_, front_, doorbells)) return false;
        const pv::Control& c = *front_.channel().control();
        for (int i = 0; i < 6; i++) mac_.b[i] = c.mac[i];  // the bridged NIC's (vnet answers only it)
        return true;
    }
    if (e1000::init() != e1000::Status::Ok ||
        e1000::enable_interrupts(idt::VECTOR_DEVICE, e1000::INT_RXT0) != e1000::Status::Ok) {
        results::report(name, false, "\"why\":\"no e1000 and no frontend channel\"");
        return false;
    }
    for (int i = 0; i < 6; i++) mac_.b[i] = e1000::info().mac[i];
    return true;
}

bool Link::send(const uint8_t* f, uint16_t len) {
    if (!vif()) return e1000::send(f, len);
    for (int tries = 0; tries < 1000000; tries++) {
        pv::Notify n{};
        if (front_.send(f, len, n)) {
            ring_if(*ch_, n.peer, doorbells);
            return true;
        }
        front_.reap_transmitted();  // every tx page in flight: take back the answered ones
        cpu::pause();
    }
    return false;
}

size_t Link::receive(uint8_t* out, size_t cap) {
    if (!vif()) return e1000::receive(out, cap);
    pv::Notify n{};
    size_t got = front_.receive(out, cap, n);
    ring_if(*ch_, n.peer, doorbells);
    if (got == 0 && front_.arm_receive()) got = front_.receive(out, cap, n);
    return got;
}

void Link::halt() {
    uint64_t t = cpu::rdtsc();
    asm volatile("sti; hlt; cli" ::: "memory");
    halted += cpu::rdtsc() - t;
}

template <typename Match>
bool Link::wait(Match match, uint64_t us) {
    uint64_t deadline = cpu::rdtsc() + ticks_for_us(us);
    while (cpu::rdtsc() < deadline) {
        size_t got = receive(g_in, sizeof g_in);
        if (got == 0) {
            halt();
        } else if (match(g_in, got)) {
            // The answer came, so the request was sent: its tx page is free
            // again (taking back 254 at once when the pages run out would
            // cost one round trip thousands of ticks).
            if (vif()) front_.reap_transmitted();
            return true;
        }
    }
    return false;
}

bool Link::drain(uint64_t us) {
    if (!vif()) return true;
    return wait_us(
        [&] {
            front_.reap_transmitted();
            return front_.channel().tx()->rsp_prod == front_.tx_ring().req_prod_pvt;
        },
        us);
}

void Link::close() {
    lapic::stop_timer();
    if (vif()) {
        close_front(*ch_, front_);
    } else {
        e1000::disable_interrupts();
    }
}

// What one phase cost, from snapshots before and after it.
struct Phase {
    uint64_t t0 = 0, halted0 = 0, irqs0 = 0, doorbells0 = 0, ticks = 0, busy = 0, irqs = 0, doorbells = 0;
    uint64_t empty0 = 0, empty = 0;  // e1000 interrupts that found no cause
    natsume_stats a{}, b{};
    bool counted = false;

    void begin(const Link& l) {
        counted    = read_stats(a);
        halted0    = l.halted;
        irqs0      = l.interrupts();
        doorbells0 = l.doorbells;
        empty0     = e1000::irqs_without_cause();
        t0         = rdtsc_ordered();
    }
    void end(const Link& l) {
        ticks     = rdtsc_ordered() - t0;
        busy      = ticks - (l.halted - halted0);
        irqs      = l.interrupts() - irqs0;
        doorbells = l.doorbells - doorbells0;
        empty     = e1000::irqs_without_cause() - empty0;
        counted   = read_stats(b) && counted;
    }
    uint64_t foreign() const { return counted ? foreign_exits(a, b) : 0; }
};

// The fields every phase reports; `packets` are frames sent plus received.
void phase_fields(char* out, size_t cap, const Phase& p, uint64_t packets, uint64_t bytes) {
    uint64_t exits = p.foreign() + p.doorbells;
    snprintf(out, cap,
             "\"ticks\":%llu,\"busy_ticks\":%llu,\"busy_ticks_per_packet\":%llu,\"interrupts\":%llu,"
             "\"interrupts_per_mib\":%llu,\"counted\":%s,\"foreign_exits\":%llu,\"doorbells\":%llu,"
             "\"exits_per_packet_milli\":%llu,\"timer_ticks\":%llu,\"interrupts_without_cause\":%llu",
             ull{p.ticks}, ull{p.busy}, ull{packets ? p.busy / packets : 0}, ull{p.irqs},
             ull{bytes ? p.irqs * (1ull << 20) / bytes : 0}, p.counted ? "true" : "false", ull{p.foreign()},
             ull{p.doorbells}, ull{packets && p.counted ? exits * 1000 / packets : 0}, ull{g_ticks}, ull{p.empty});
}

// Mean and variance (in ticks^2) of `n` values.
void mean_var(const int64_t* v, uint64_t n, int64_t& mean, int64_t& var) {
    int64_t s = 0;
    for (uint64_t i = 0; i < n; i++) s += v[i];
    mean      = n ? s / static_cast<int64_t>(n) : 0;
    int64_t q = 0;
    for (uint64_t i = 0; i < n; i++) q += (v[i] - mean) * (v[i] - mean);
    var = n ? q / static_cast<int64_t>(n) : 0;
}

bool resolve(Link& l, net::Mac& peer) {
    uint16_t len = static_cast<uint16_t>(net::build_arp_request(g_out, sizeof g_out, l.mac(), ME, VNET_HOST));
    return l.send(g_out, len) &&
           l.wait([&](const uint8_t* r, size_t n) { return net::is_arp_reply_from(r, n, VNET_HOST, peer); }, REPLY_US);
}

void request_response(Link& l, const net::Mac& peer, uint64_t n, uint64_t reps) {
    int64_t round_mean[MAX_REPS];
    uint64_t done = 0, lost = 0, max_at = 0;  // max_at: which round trip (0 = the first) took longest
    uint16_t seq = 1;
    Phase p;
    p.begin(l);
    for (uint64_t r = 0; r < reps && lost == 0; r++) {
        uint64_t first = done;
        for (uint64_t i = 0; i < n && lost == 0; i++, seq++) {
            uint16_t len = static_cast<uint16_t>(
                net::build_icmp_echo(g_out, sizeof g_out, l.mac(), peer, ME, VNET_HOST, ECHO_ID, seq, ECHO_PAYLOAD));
            uint64_t t0 = rdtsc_ordered();
            bool back   = l.send(g_out, len) &&
                        l.wait([&](const uint8_t* f,
                                   size_t m) { return net::is_icmp_echo_reply(f, m, VNET_HOST, ECHO_ID, seq); },
                               REPLY_US);
            if (!back) {
                lost++;
                break;
            }
            g_rtt[done] = static_cast<int64_t>(rdtsc_ordered() - t0);
            if (g_rtt[done] > g_rtt[max_at]) max_at = done;
            done++;
        }
        int64_t var = 0;
        mean_var(g_rtt + first, done - first, round_mean[r], var);
    }
    p.end(l);
    int64_t mean = 0, var = 0, mean_of_rounds = 0, var_of_rounds = 0;
    mean_var(g_rtt, done, mean, var);
    uint64_t rounds = lost ? 0 : reps;
    mean_var(round_mean, rounds, mean_of_rounds, var_of_rounds);
    int64_t lo = rounds ? round_mean[0] : 0, hi = lo;
    for (uint64_t r = 1; r < rounds; r++) {
        lo = round_mean[r] < lo ? round_mean[r] : lo;
        hi = round_mean[r] > hi ? round_mean[r] : hi;
    }
    stats::sort(g_rtt, done);
    stats::Summary s = stats::summarize(g_rtt, done);
    char fields[400];
    phase_fields(fields, sizeof fields, p, 2 * done, 2 * done * (ECHO_PAYLOAD + 42));
    results::report("net-rr", lost == 0 && done == n * reps && p.foreign() == 0,
                    "\"link\":\"%s\",\"samples\":%llu,\"lost\":%llu,\"frame_bytes\":%llu,%s,"
                    "\"rtt_ticks\":{\"min\":%lld,\"p50\":%lld,\"p99\":%lld,\"max\":%lld,\"mean\":%lld,\"var\":%lld},"
                    "\"rounds\":%llu,\"round_mean_ticks\":{\"min\":%lld,\"max\":%lld,\"var\":%lld},"
                    "\"max_at\":%llu",
                    l.vif() ? "vif" : "e1000", ull{done}, ull{lost}, ull{ECHO_PAYLOAD + 42}, fields, ll{s.min},
                    ll{s.p50}, ll{s.p99}, ll{s.max}, ll{mean}, ll{var}, ull{rounds}, ll{lo}, ll{hi}, ll{var_of_rounds},
                    ull{max_at});
}

void stream(Link& l, uint64_t frames, uint64_t reps) {
    uint8_t payload[STREAM_BYTES];
    for (size_t k = 0; k < STREAM_BYTES; k++) payload[k] = static_cast<uint8_t>(k * 7);
    uint16_t len = static_cast<uint16_t>(
        net::build_udp(g_out, sizeof g_out, l.mac(), NOBODY, ME, VNET_HOST, 5001, 9, payload, STREAM_BYTES));
    int64_t rate[MAX_REPS];  // frames per emulated second of each round
    uint64_t sent = 0, khz = boot::context().tsc_khz;
    bool drained = true;
    Phase p;
    p.begin(l);
    for (uint64_t r = 0; r < reps; r++) {
        uint64_t t0 = rdtsc_ordered(), before = sent;
        for (uint64_t i = 0; i < frames && l.send(g_out, len); i++) sent++;
        drained       = l.drain(REPLY_US * 10) && drained;
        uint64_t took = rdtsc_ordered() - t0;
        rate[r]       = static_cast<int64_t>(took ? (sent - before) * khz * 1000 / took : 0);
    }
    p.end(l);
    int64_t mean = 0, var = 0;
    mean_var(rate, reps, mean, var);
    int64_t lo = rate[0], hi = rate[0];
    for (uint64_t r = 1; r < reps; r++) {
        lo = rate[r] < lo ? rate[r] : lo;
        hi = rate[r] > hi ? rate[r] : hi;
    }
    uint64_t fps = p.ticks ? sent * khz * 1000 / p.ticks : 0;
    char fields[400];
    phase_fields(fields, sizeof fields, p, sent, sent * len);
    results::report("net-stream", sent == frames * reps && drained && p.foreign() == 0,
                    "\"link\":\"%s\",\"frames\":%llu,\"frame_bytes\":%u,%s,\"frames_per_emulated_s\":%llu,"
                    "\"payload_mbit_per_emulated_s\":%llu,\"rounds\":%llu,"
                    "\"round_fps\":{\"min\":%lld,\"max\":%lld,\"mean\":%lld,\"var\":%lld}",
                    l.vif() ? "vif" : "e1000", ull{sent}, unsigned{len}, fields, ull{fps},
                    ull{fps * STREAM_BYTES * 8 / 1000000}, ull{reps}, ll{lo}, ll{hi}, ll{mean}, ll{var});
}

}  // namespace

void run_net_bench() {
    uint64_t n = arg("rr", 200), frames = arg("frames", 500), reps = arg("reps", 5);
    if (reps == 0 || reps > MAX_REPS) reps = 5;
    if (n * reps > MAX_SAMPLES) n = MAX_SAMPLES / reps;
    Link l;
    if (!l.open("net-bench")) return;
    net::Mac peer{};
    bool arp = resolve(l, peer);
    results::report("net-arp", arp, "\"link\":\"%s\"", l.vif() ? "vif" : "e1000");
    if (arp) {
        if (n) request_response(l, peer, n, reps);
        if (frames) stream(l, frames, reps);
    }
    l.close();
}

}  // namespace natsume::guest::device_tests
