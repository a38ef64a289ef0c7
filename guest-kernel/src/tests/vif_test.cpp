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
// test=vif-bridge (backend) with test=vif-ping (frontend): the backend owns
// an e1000 and bridges it to the vif (a learning bridge, drivers/net/bridge);
// it offers the frontend the NIC's own MAC address, the frontend being the
// only station behind it. The frontend resolves and pings a host on the NIC's
// network (Bochs vnet: 192.168.10.1) through the vif and the bridge.
#include <string.h>

#include <natsume/bootinfo.h>

#include "drivers/net/bridge.hpp"
#include "drivers/pv/netif.hpp"

#include "arch/idt.h"
#include "bench/latency_stats.h"
#include "devices/e1000.h"
#include "devices/lapic.h"
#include "kernel/hypercall.h"
#include "lib/cmdline.h"
#include "lib/net_frames.h"
#include "tests/channel_common.h"
#include "tests/device_common.h"
#include "tests/results.h"

namespace natsume::guest::device_tests {
namespace {

using ull    = unsigned long long;
namespace pv = natsume::drivers::pv;

constexpr uint64_t DEFAULT_ROUNDS = 300;
constexpr uint64_t MAX_ROUNDS     = 4096;
constexpr uint64_t MEET_US        = 5000000;
constexpr uint64_t ROUND_US       = 50000;
constexpr uint32_t FRONT_DONE     = 2;  // Control::front_state once the frontend has finished

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

// Lays out the channel as a netif, offers the rx buffers and waits for the
// backend to attach; on failure reports `name` failed and returns false.
bool open_front(const char* name, const natsume_boot_channel& ch, pv::NetFront& f, uint64_t& doorbells) {
    if (!f.init(reinterpret_cast<uint8_t*>(ch.gpa), ch.size)) {
        results::report(name, false, "\"why\":\"channel too small for a netif\"");
        return false;
    }
    ring_if(ch, f.post_receive_buffers().peer, doorbells);
    if (!wait_us([&] { return f.channel().control()->back_state == 1; }, MEET_US)) {
        results::report(name, false, "\"why\":\"no backend attached within %llu ms\"", ull{MEET_US / 1000});
        return false;
    }
    return true;
}

void vif_frontend(const natsume_boot_channel& ch, uint64_t rounds, bool hostile) {
    pv::NetFront f;
    uint64_t doorbells = 0, lost = 0, mismatched = 0, injected = 0;
    if (!open_front("vif-echo", ch, f, doorbells)) return;
    pv::Control& c = *f.channel().control();
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
    c.front_state = FRONT_DONE;
    (void)hypercall::doorbell(ch.id);
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

// Sends `len` bytes of g_frame and waits for a received frame `match`
// accepts (others are dropped); false on a timeout.
template <typename Match>
bool exchange(const natsume_boot_channel& ch, pv::NetFront& f, uint16_t len, Match match, uint64_t& doorbells,
              uint64_t us = ROUND_US) {
    pv::Notify n{};
    if (!f.send(g_frame, len, n)) return false;
    ring_if(ch, n.peer, doorbells);
    bool ok = wait_us(
        [&] {
            for (;;) {
                pv::Notify rn{};
                size_t got = f.receive(g_echo, sizeof g_echo, rn);
                if (rn.peer) ring_if(ch, true, doorbells);
                if (got == 0) {
                    (void)f.arm_receive();  // the next frame notifies; a frame that slipped in is read next time
                    return false;
                }
                if (match(g_echo, got)) return true;
            }
        },
        us);
    f.reap_transmitted();
    return ok;
}

void vif_udp_frontend(const natsume_boot_channel& ch, uint64_t rounds) {
    pv::NetFront f;
    uint64_t doorbells = 0;
    if (!open_front("vif-udp", ch, f, doorbells)) return;
    net::Mac peer{};
    uint16_t len = static_cast<uint16_t>(net::build_arp_request(g_frame, sizeof g_frame, FRONT_MAC, FRONT_IP, BACK_IP));
    bool arp     = exchange(
                       ch, f, len, [&](const uint8_t* r, size_t n) { return net::is_arp_reply_from(r, n, BACK_IP, peer); },
                       doorbells) &&
               memcmp(peer.b, BACK_MAC.b, 6) == 0;
    unsigned pings = 0;
    for (uint16_t seq = 1; arp && seq <= PINGS; seq++) {
        len = static_cast<uint16_t>(
            net::build_icmp_echo(g_frame, sizeof g_frame, FRONT_MAC, peer, FRONT_IP, BACK_IP, 0x4e53, seq, 56));
        pings += exchange(
            ch, f, len, [&](const uint8_t* r, size_t n) { return net::is_icmp_echo_reply(r, n, BACK_IP, 0x4e53, seq); },
            doorbells);
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
              ch, f, len,
              [&](const uint8_t* r, size_t n) {
                net::Udp u{};
                return net::parse_udp(r, n, u) && u.dst_port == port && u.len == UDP_PAYLOAD &&
                       memcmp(u.data, payload, UDP_PAYLOAD) == 0;
            },
              doorbells);
        if (!back) break;
        g_vif_rtt[done++] = static_cast<int64_t>(rdtsc_ordered() - t0);
    }
    ok                                 = read_stats(b) && ok;
    f.channel().control()->front_state = FRONT_DONE;
    (void)hypercall::doorbell(ch.id);
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
    uint64_t ticks                     = rdtsc_ordered() - t0;
    ok                                 = read_stats(b) && ok;
    f.channel().control()->front_state = FRONT_DONE;
    (void)hypercall::doorbell(ch.id);
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

// ---- bridge ---------------------------------------------------------------

constexpr uint8_t PORT_VIF = 0, PORT_NIC = 1;
constexpr net::Ip4 PING_FROM = {{192, 168, 10, 15}}, PING_TO = {{192, 168, 10, 1}};
constexpr unsigned BRIDGE_PINGS = 5;
constexpr uint64_t PING_US      = 2000000;
constexpr uint64_t POLL_US      = 100;  // vnet answers from a 1 ms emulated-time poll, Bochs is slow

void vif_ping_frontend(const natsume_boot_channel& ch) {
    pv::NetFront f;
    uint64_t doorbells = 0;
    if (!open_front("vif-ping", ch, f, doorbells)) return;
    net::Mac me{}, peer{};
    for (int i = 0; i < 6; i++) me.b[i] = f.channel().control()->mac[i];
    uint16_t len = static_cast<uint16_t>(net::build_arp_request(g_frame, sizeof g_frame, me, PING_FROM, PING_TO));
    bool arp     = exchange(
            ch, f, len, [&](const uint8_t* r, size_t m) { return net::is_arp_reply_from(r, m, PING_TO, peer); }, doorbells,
            PING_US);
    unsigned pings = 0;
    for (uint16_t seq = 1; arp && seq <= BRIDGE_PINGS; seq++) {
        len = static_cast<uint16_t>(
            net::build_icmp_echo(g_frame, sizeof g_frame, me, peer, PING_FROM, PING_TO, 0x4e53, seq, 32));
        pings += exchange(
            ch, f, len, [&](const uint8_t* r, size_t m) { return net::is_icmp_echo_reply(r, m, PING_TO, 0x4e53, seq); },
            doorbells, PING_US);
    }
    f.channel().control()->front_state = FRONT_DONE;
    (void)hypercall::doorbell(ch.id);
    results::report("vif-ping", arp && pings == BRIDGE_PINGS,
                    "\"arp\":%s,\"pings\":%u,\"peer_mac\":\"%02x:%02x:%02x:%02x:%02x:%02x\",\"doorbells\":%llu",
                    arp ? "true" : "false", pings, peer.b[0], peer.b[1], peer.b[2], peer.b[3], peer.b[4], peer.b[5],
                    ull{doorbells});
}

// seconds=S bounds the service (default: the pings' time); busy=US loads it.
// poll=US: the backend owns its core, so after its last frame it keeps
// polling the ring and the NIC this long before it arms the ring's event and
// halts; a stream then needs no doorbell per frame (0: halt at once).
// Reports the ticks this core spent outside HLT per frame it moved.
void vif_bridge_backend(const natsume_boot_channel& ch) {
    if (e1000::init() != e1000::Status::Ok ||
        e1000::enable_interrupts(idt::VECTOR_DEVICE, e1000::INT_RXT0 | e1000::INT_TXDW) != e1000::Status::Ok) {
        results::report("vif-bridge", false, "\"why\":\"no e1000 to bridge to\"");
        return;
    }
    pv::NetBack bk;
    auto* base = reinterpret_cast<uint8_t*>(ch.gpa);
    if (!wait_us([&] { return bk.attach(base, ch.size, e1000::info().mac); }, MEET_US)) {
        results::report("vif-bridge", false, "\"why\":\"no netif frontend within %llu ms\"", ull{MEET_US / 1000});
        return;
    }
    const pv::Control& c = *reinterpret_cast<const pv::Control*>(base);
    drivers::net::MacTable<16> table;
    uint64_t to_nic = 0, to_vif = 0, nic_failed = 0, doorbells = 0, halted = 0, work = 0;
    uint64_t busy_us = arg("busy", 0), seconds = arg("seconds", 0), poll = ticks_for_us(arg("poll", POLL_US));
    uint64_t t0 = cpu::rdtsc(), last_work = t0, irqs0 = e1000::irq_count(), bells0 = doorbells_received();
    uint64_t deadline = t0 + (seconds ? ticks_for_us(seconds * 1000000) : ticks_for_us(PING_US * (BRIDGE_PINGS + 2)));
    while (c.front_state != FRONT_DONE && cpu::rdtsc() < deadline) {
        uint64_t pass     = cpu::rdtsc();
        bool wake         = false;
        pv::Served s      = bk.serve_transmit([&](const uint8_t* frame, uint16_t len) {
            uint8_t addresses[12];  // what the bridge decides on, off the shared page first
            memcpy(addresses, frame, sizeof addresses);
            table.learn(addresses + 6, PORT_VIF);
            if (table.lookup(addresses) == PORT_VIF) return;  // for a station on the vif itself
            // The NIC reads the frame from the channel page itself when the file
            // lets this partition's devices reach it; otherwise the driver copies
            // it into its own buffer. Either way a frontend that changes the
            // frame meanwhile only garbles its own frame.
            bool sent =
                ch.dma_address ? e1000::send_from(ch.dma_address + (frame - base), len) : e1000::send(frame, len);
            if (sent)
                to_nic++;
            else
                nic_failed++;
        });
        size_t got        = 0;
        const uint8_t* in = nullptr;
        uint64_t received = 0;
        while ((got = e1000::peek(in)) != 0) {  // the driver's own buffer: one copy, into the frontend's page
            received++;
            table.learn(in + 6, PORT_NIC);
            if (table.lookup(in) != PORT_NIC) {
                pv::Notify n{};
                to_vif += bk.send(in, static_cast<uint16_t>(got), n);
                wake = wake || n.peer;
            }
            e1000::release();
        }
        ring_if(ch, wake || s.notify, doorbells);
        uint64_t now = cpu::rdtsc();
        if (s.requests || received) {
            last_work = now;
            work += now - pass;  // the passes that moved frames: the cost per frame, polling aside
        }
        if (busy_us) {
            busy_for(busy_us);
            continue;
        }
        if (now - last_work < poll) {
            cpu::pause();
            continue;
        }
        if (!bk.arm_transmit() && c.front_state != FRONT_DONE) {
            asm volatile("sti; hlt; cli" ::: "memory");
            halted += cpu::rdtsc() - now;
        }
    }
    uint64_t ticks = cpu::rdtsc() - t0, moved = to_nic + to_vif;
    e1000::disable_interrupts();
    results::report("vif-bridge", c.front_state == FRONT_DONE && to_nic > 0 && to_vif > 0 && nic_failed == 0,
                    "\"to_nic\":%llu,\"to_vif\":%llu,\"nic_failed\":%llu,\"refused\":%llu,\"rx_dropped\":%llu,"
                    "\"doorbells\":%llu,\"busy_us\":%llu,\"ticks\":%llu,\"busy_ticks\":%llu,"
                    "\"busy_ticks_per_frame\":%llu,\"nic_interrupts\":%llu,\"doorbells_received\":%llu,"
                    "\"work_ticks_per_frame\":%llu,\"zero_copy\":%s,\"poll_us\":%llu",
                    ull{to_nic}, ull{to_vif}, ull{nic_failed}, ull{bk.tx_refused}, ull{bk.rx_dropped}, ull{doorbells},
                    ull{busy_us}, ull{ticks}, ull{ticks - halted}, ull{moved ? (ticks - halted) / moved : 0},
                    ull{e1000::irq_count() - irqs0}, ull{doorbells_received() - bells0}, ull{moved ? work / moved : 0},
                    ch.dma_address ? "true" : "false", ull{arg("poll", POLL_US)});
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

// vif-bridge and vif-ping: the two sides of a bridged vif, each checking its role.
void run_vif_bridged(bool bridge) {
    const natsume_boot_channel* ch = bridge ? open_first_channel("vif-bridge", NATSUME_CHANNEL_BACKEND)
                                            : open_first_channel("vif-ping", NATSUME_CHANNEL_FRONTEND);
    if (!ch) return;
    if (bridge)
        vif_bridge_backend(*ch);
    else
        vif_ping_frontend(*ch);
}

void run_vif_bridge() { run_vif_bridged(true); }
void run_vif_ping() { run_vif_bridged(false); }

}  // namespace natsume::guest::device_tests
