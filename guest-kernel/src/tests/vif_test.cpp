// test=vif-echo rounds=N [hostile=1]: a paravirtual network interface
// (drivers/pv/netif, Xen netif rings) between two partitions over their first
// channel. The frontend sends N Ethernet frames of growing size, one at a
// time; the backend echoes each good frame back through the rx ring; the
// frontend checks every byte. Doorbells only when the peer's event index asks
// for one (the rings' notification suppression).
//
// hostile=1: the frontend also posts malformed requests between the good ones
// (a page that is no data page, a frame crossing its page, a multi-slot frame,
// an oversize one) and finally a producer index past the ring's size. The
// backend must answer the malformed ones with errors, echo every good one, and
// stop reading the broken ring without stopping itself.
//
// test=vif-udp rounds=N: the same interface carrying IPv4 (lib/net_frames):
// the frontend (10.0.0.1) resolves the backend (10.0.0.2) by ARP, pings it,
// then runs N UDP request/response rounds (64-byte payload, the echo service
// on port 7), in the style of netperf's UDP_RR; the backend answers as a small
// host (net::respond).
//
// test=vif-stream frames=N: N UDP datagrams (1472-byte payload, full
// frames) from the frontend as fast as the rings take them, in the style of
// netperf's UDP_STREAM; the backend counts and discards them (port 9,
// discard). Doorbells only when the peer's event index asks: with the backend
// busy, far fewer than one per frame.
//
// test=vif-bridge, vif-ping and vif-host: tests/vif_bridge.cpp.
#include <string.h>

#include <natsume/bootinfo.h>

#include "drivers/pv/netif.hpp"

#include "arch/idt.h"
#include "bench/latency_stats.h"
#include "devices/lapic.h"
#include "kernel/hypercall.h"
#include "lib/cmdline.h"
#include "lib/net_frames.h"
#include "tests/channel_common.h"
#include "tests/device_common.h"
#include "tests/results.h"
#include "tests/vif_common.h"

namespace natsume::guest::device_tests {
namespace {

using ull    = unsigned long long;
namespace pv = natsume::drivers::pv;

constexpr uint64_t DEFAULT_ROUNDS = 300;
constexpr uint64_t MAX_ROUNDS     = 4096;
constexpr uint64_t MEET_US        = VIF_MEET_US;
constexpr uint64_t ROUND_US       = VIF_ROUND_US;
constexpr uint32_t FRONT_DONE     = VIF_FRONT_DONE;

int64_t g_vif_rtt[MAX_ROUNDS];
uint8_t g_frame[pv::ETH_MAX];
uint8_t g_echo[pv::ETH_MAX];

uint16_t frame_len(uint64_t round) { return static_cast<uint16_t>(60 + (round * 37) % (pv::ETH_MAX - 60 + 1)); }

void fill(uint8_t* f, uint16_t len, uint64_t round) {
    for (uint16_t i = 0; i < len; i++) f[i] = static_cast<uint8_t>(round * 7 + i);
}

// Posts the malformed tx requests of hostile=1 straight into the ring.
bool inject_malformed(pv::NetFront& f, uint64_t& injected) {
    netif_tx_front_ring& tx             = f.tx_ring();
    const netif_tx_request malformed[4] = {
        {0xfffff, 0, 0, 900, 60},           // no such data page
        {0, 4000, 0, 901, 200},             // crosses its page
        {0, 0, NETTXF_more_data, 902, 60},  // several slots
        {0, 0, 0, 903, 9000},               // longer than a frame
    };
    for (const netif_tx_request& r : malformed) {
        if (RING_FULL(&tx)) break;
        *RING_GET_REQUEST(&tx, tx.req_prod_pvt) = r;
        tx.req_prod_pvt++;
        injected++;
    }
    int notify = 0;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&tx, notify);
    return notify != 0;  // the backend's req_event may fall inside this batch
}

void vif_frontend(const natsume_boot_channel& ch, uint64_t rounds, bool hostile) {
    pv::NetFront f;
    uint64_t doorbells = 0, lost = 0, mismatched = 0, injected = 0;
    if (!open_front("vif-echo", ch, f, doorbells)) return;
    natsume_stats a{}, b{};
    bool ok = read_stats(a);
    for (uint64_t i = 1; i <= rounds && lost == 0; i++) {
        uint16_t len = frame_len(i);
        fill(g_frame, len, i);
        if (hostile && i % 8 == 0) ring_if(ch, inject_malformed(f, injected), doorbells);
        uint64_t t0 = rdtsc_ordered();
        pv::Notify n{};
        if (!f.send(g_frame, len, n)) {
            lost++;
            break;
        }
        ring_if(ch, n.peer, doorbells);
        size_t got   = 0;
        auto arrived = [&] {
            pv::Notify rn{};
            got = f.receive(g_echo, sizeof g_echo, rn);
            if (rn.peer) ring_if(ch, true, doorbells);
            return got != 0 || (f.arm_receive() && (got = f.receive(g_echo, sizeof g_echo, rn)) != 0);
        };
        if (!wait_us(arrived, ROUND_US)) {
            lost++;
            break;
        }
        g_vif_rtt[i - 1] = static_cast<int64_t>(rdtsc_ordered() - t0);
        if (got != len || memcmp(g_echo, g_frame, len) != 0) mismatched++;
        f.reap_transmitted();
    }
    ok = read_stats(b) && ok;
    f.reap_transmitted();
    uint64_t refused = f.send_refused;
    if (hostile) {
        // Last: an index claiming 1000 more requests than were posted.
        f.channel().tx()->req_prod += 1000;
    }
    close_front(ch, f);
    uint64_t n = lost ? 0 : rounds;
    stats::sort(g_vif_rtt, n);
    stats::Summary s = stats::summarize(g_vif_rtt, n);
    results::report(
        "vif-echo",
        ok && lost == 0 && mismatched == 0 && f.received == rounds && refused == 0 && foreign_exits(a, b) == 0,
        "\"role\":\"frontend\",\"rounds\":%llu,\"lost\":%llu,\"mismatched\":%llu,\"received\":%llu,"
        "\"injected\":%llu,\"errors_ignored\":%llu,\"doorbells\":%llu,\"foreign_exits\":%llu,"
        "\"rtt_ticks\":{\"min\":%lld,\"p50\":%lld,\"p99\":%lld,\"max\":%lld}",
        ull{rounds}, ull{lost}, ull{mismatched}, ull{f.received}, ull{injected}, ull{f.receive_errors}, ull{doorbells},
        ull{foreign_exits(a, b)}, static_cast<long long>(s.min), static_cast<long long>(s.p50),
        static_cast<long long>(s.p99), static_cast<long long>(s.max));
}

// The two hosts of vif-udp: locally administered MAC addresses.
const net::Mac FRONT_MAC = {{0x02, 0, 0, 0, 0, 0x01}}, BACK_MAC = {{0x02, 0, 0, 0, 0, 0x02}};
const net::Ip4 FRONT_IP = {{10, 0, 0, 1}}, BACK_IP = {{10, 0, 0, 2}};
constexpr size_t UDP_PAYLOAD = 64;
constexpr unsigned PINGS     = 10;

void vif_udp_frontend(const natsume_boot_channel& ch, uint64_t rounds) {
    pv::NetFront f;
    uint64_t doorbells = 0;
    if (!open_front("vif-udp", ch, f, doorbells)) return;
    net::Mac peer{};
    uint16_t len = static_cast<uint16_t>(net::build_arp_request(g_frame, sizeof g_frame, FRONT_MAC, FRONT_IP, BACK_IP));
    bool arp =
        exchange(
            ch, f, g_frame, len, g_echo, sizeof g_echo,
            [&](const uint8_t* r, size_t n) { return net::is_arp_reply_from(r, n, BACK_IP, peer); }, doorbells) &&
        memcmp(peer.b, BACK_MAC.b, 6) == 0;
    unsigned pings = 0;
    for (uint16_t seq = 1; arp && seq <= PINGS; seq++) {
        len = static_cast<uint16_t>(
            net::build_icmp_echo(g_frame, sizeof g_frame, FRONT_MAC, peer, FRONT_IP, BACK_IP, 0x4e53, seq, 56));
        pings += exchange(
            ch, f, g_frame, len, g_echo, sizeof g_echo,
            [&](const uint8_t* r, size_t n) { return net::is_icmp_echo_reply(r, n, BACK_IP, 0x4e53, seq); }, doorbells);
    }
    natsume_stats a{}, b{};
    bool ok       = read_stats(a);
    uint64_t done = 0;
    uint8_t payload[UDP_PAYLOAD];
    for (uint64_t i = 1; arp && i <= rounds; i++) {
        for (size_t k = 0; k < UDP_PAYLOAD; k++) payload[k] = static_cast<uint8_t>(i + k);
        uint16_t port = static_cast<uint16_t>(5000 + i % 1000);
        len = static_cast<uint16_t>(net::build_udp(g_frame, sizeof g_frame, FRONT_MAC, peer, FRONT_IP, BACK_IP, port,
                                                   net::UDP_ECHO_PORT, payload, UDP_PAYLOAD));
        uint64_t t0 = rdtsc_ordered();
        bool back   = exchange(
              ch, f, g_frame, len, g_echo, sizeof g_echo,
              [&](const uint8_t* r, size_t n) {
                net::Udp u{};
                return net::parse_udp(r, n, u) && u.dst_port == port && u.len == UDP_PAYLOAD &&
                       memcmp(u.data, payload, UDP_PAYLOAD) == 0;
            },
              doorbells);
        if (!back) break;
        g_vif_rtt[done++] = static_cast<int64_t>(rdtsc_ordered() - t0);
    }
    ok = read_stats(b) && ok;
    close_front(ch, f);
    stats::sort(g_vif_rtt, done);
    stats::Summary s = stats::summarize(g_vif_rtt, done);
    results::report("vif-udp", ok && arp && pings == PINGS && done == rounds && foreign_exits(a, b) == 0,
                    "\"role\":\"frontend\",\"arp\":%s,\"pings\":%u,\"udp_rounds\":%llu,\"udp_payload\":%u,"
                    "\"doorbells\":%llu,\"foreign_exits\":%llu,"
                    "\"rr_ticks\":{\"min\":%lld,\"p50\":%lld,\"p99\":%lld,\"max\":%lld}",
                    arp ? "true" : "false", pings, ull{done}, static_cast<unsigned>(UDP_PAYLOAD), ull{doorbells},
                    ull{foreign_exits(a, b)}, static_cast<long long>(s.min), static_cast<long long>(s.p50),
                    static_cast<long long>(s.p99), static_cast<long long>(s.max));
}

constexpr size_t STREAM_PAYLOAD   = 1472;  // 1514-byte frames
constexpr uint16_t DISCARD_PORT   = 9;
constexpr uint64_t STREAM_WAIT_US = 200000;

void vif_stream_frontend(const natsume_boot_channel& ch, uint64_t frames) {
    pv::NetFront f;
    uint64_t doorbells = 0;
    if (!open_front("vif-stream", ch, f, doorbells)) return;
    uint8_t payload[STREAM_PAYLOAD];
    for (size_t k = 0; k < STREAM_PAYLOAD; k++) payload[k] = static_cast<uint8_t>(k);
    uint16_t len = static_cast<uint16_t>(net::build_udp(g_frame, sizeof g_frame, FRONT_MAC, BACK_MAC, FRONT_IP, BACK_IP,
                                                        5000, DISCARD_PORT, payload, STREAM_PAYLOAD));
    natsume_stats a{}, b{};
    bool ok       = read_stats(a);
    uint64_t sent = 0, stalls = 0;
    uint64_t t0    = rdtsc_ordered();
    uint64_t limit = t0 + ticks_for_us(STREAM_WAIT_US * (frames / 64 + 1));
    while (sent < frames && cpu::rdtsc() < limit) {
        pv::Notify n{};
        if (f.send(g_frame, len, n)) {
            sent++;
            ring_if(ch, n.peer, doorbells);
            continue;
        }
        // Every tx page in flight: take back what the backend has answered.
        stalls++;
        f.reap_transmitted();
        cpu::pause();
    }
    // Until the backend has answered every frame.
    wait_us(
        [&] {
            f.reap_transmitted();
            return f.channel().tx()->rsp_prod == f.tx_ring().req_prod_pvt;
        },
        STREAM_WAIT_US);
    uint64_t ticks = rdtsc_ordered() - t0;
    ok             = read_stats(b) && ok;
    close_front(ch, f);
    uint64_t khz = boot::context().tsc_khz;
    uint64_t fps = ticks ? sent * khz * 1000 / ticks : 0;
    results::report("vif-stream", ok && sent == frames && f.send_refused == 0 && foreign_exits(a, b) == 0,
                    "\"role\":\"frontend\",\"frames\":%llu,\"frame_bytes\":%u,\"ticks\":%llu,"
                    "\"frames_per_emulated_s\":%llu,\"payload_mbit_per_emulated_s\":%llu,\"doorbells\":%llu,"
                    "\"stalls\":%llu,\"exits\":%llu,\"foreign_exits\":%llu",
                    ull{sent}, unsigned{len}, ull{ticks}, ull{fps}, ull{fps * STREAM_PAYLOAD * 8 / 1000000},
                    ull{doorbells}, ull{stalls}, ull{b.exits_total - a.exits_total}, ull{foreign_exits(a, b)});
}

// The backend of vif-echo (echo every frame), vif-udp (answer as a host) or
// vif-stream (count UDP to the discard port, answer nothing).
enum class Serve : uint8_t { Echo, Host, Discard };

void vif_backend(const natsume_boot_channel& ch, uint64_t rounds, Serve mode) {
    pv::NetBack bk;
    auto* base = reinterpret_cast<uint8_t*>(ch.gpa);
    if (!wait_us([&] { return bk.attach(base, ch.size); }, MEET_US)) {
        results::report("vif-echo", false, "\"why\":\"no netif frontend within %llu ms\"", ull{MEET_US / 1000});
        return;
    }
    const pv::Control& c = *reinterpret_cast<const pv::Control*>(base);
    natsume_stats a{}, b{};
    bool ok            = read_stats(a);
    uint64_t doorbells = 0, discarded = 0;
    uint64_t deadline = cpu::rdtsc() + ticks_for_us(ROUND_US * (rounds + 2));
    while (c.front_state != FRONT_DONE && cpu::rdtsc() < deadline) {
        bool wake    = false;
        pv::Served s = bk.serve_transmit([&](const uint8_t* frame, uint16_t len) {
            memcpy(g_echo, frame, len);  // off the shared page before it is used
            uint16_t out         = len;
            const uint8_t* reply = g_echo;
            if (mode == Serve::Discard) {
                net::Udp u{};
                discarded += net::parse_udp(g_echo, len, u) && u.dst_port == DISCARD_PORT;
                return;
            }
            if (mode == Serve::Host) {
                out   = static_cast<uint16_t>(net::respond(BACK_MAC, BACK_IP, g_echo, len, g_frame, sizeof g_frame));
                reply = g_frame;
            }
            pv::Notify n{};
            if (out) bk.send(reply, out, n);
            wake = wake || n.peer;
        });
        ring_if(ch, wake || s.notify, doorbells);
        if (s.broken) break;
        if (!bk.arm_transmit() && c.front_state != FRONT_DONE) asm volatile("sti; hlt; cli" ::: "memory");
    }
    // What the frontend left last (hostile: a broken index) is looked at once more.
    bk.serve_transmit([](const uint8_t*, uint16_t) {});
    ok               = read_stats(b) && ok;
    const char* name = mode == Serve::Echo ? "vif-echo" : mode == Serve::Host ? "vif-udp" : "vif-stream";
    bool served      = mode == Serve::Discard ? discarded == rounds : bk.delivered >= rounds;
    results::report(name, ok && c.front_state == FRONT_DONE && served && foreign_exits(a, b) == 0,
                    "\"role\":\"backend\",\"delivered\":%llu,\"refused\":%llu,\"broken\":%llu,\"echoed\":%llu,"
                    "\"discarded\":%llu,\"rx_dropped\":%llu,\"doorbells\":%llu,\"foreign_exits\":%llu",
                    ull{bk.delivered}, ull{bk.tx_refused}, ull{bk.broken}, ull{bk.rx_sent}, ull{discarded},
                    ull{bk.rx_dropped}, ull{doorbells}, ull{foreign_exits(a, b)});
}

void run_vif(Serve mode) {
    const char* name = mode == Serve::Echo ? "vif-echo" : mode == Serve::Host ? "vif-udp" : "vif-stream";
    const natsume_boot_channel* open = open_first_channel(name);
    if (!open) return;
    const natsume_boot_channel& ch = *open;
    uint64_t rounds                = mode == Serve::Discard ? arg("frames", 2000) : arg("rounds", DEFAULT_ROUNDS);
    if (rounds == 0 || (mode != Serve::Discard && rounds > MAX_ROUNDS)) rounds = DEFAULT_ROUNDS;
    if (ch.role != NATSUME_CHANNEL_FRONTEND)
        vif_backend(ch, rounds, mode);
    else if (mode == Serve::Host)
        vif_udp_frontend(ch, rounds);
    else if (mode == Serve::Discard)
        vif_stream_frontend(ch, rounds);
    else
        vif_frontend(ch, rounds, arg("hostile", 0) != 0);
}

}  // namespace

void run_vif_echo() { run_vif(Serve::Echo); }
void run_vif_udp() { run_vif(Serve::Host); }
void run_vif_stream() { run_vif(Serve::Discard); }

}  // namespace natsume::guest::device_tests
