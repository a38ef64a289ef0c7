// test=vif-bridge (backend) with test=vif-ping and test=vif-host (frontends):
// a netif backend in the partition that owns an e1000 bridges the NIC and
// every vif it serves (each backend channel of its boot information, up to
// MAX_VIFS), in the role of Xen's netback with a bridge in dom0.
//
// Each vif has one address, offered in its channel's control block: the first
// vif the NIC's own (the station the NIC's network knows; Bochs vnet answers
// only it), the others locally administered 02:00:00:00:01:0N. A frame whose
// source is not its vif's address is dropped and counted: no vif can pose as
// the NIC, another vif or a station outside. Frames then go by a learning
// table (drivers/net/bridge.hpp): to the vif or the NIC their destination was
// last seen behind; group and unknown addresses to every other port.
//
// vif-ping [peer=A.B.C.D]: the frontend resolves and pings the vnet host
// 192.168.10.1 five times through the bridge and the NIC; with peer= it then
// resolves and pings that address (another vif's host) five times, through
// the bridge alone.
// vif-host ip=A.B.C.D [pings=N] [spoof=1]: the frontend answers ARP and ICMP
// echo at that address (net::respond) until it has answered N echo requests
// (5); with spoof=1 it first sends a broadcast ARP request from an address
// that is not its own, which the bridge must drop.
//
// The backend: seconds=S bounds the service, busy=US loads it (computes US
// microseconds after every pass and never halts), poll=US (default 100) keeps
// it polling its rings and the NIC that long after its last frame before it
// arms the rings' events and halts. It reports the ticks of the passes that
// moved frames per frame moved.
#include <string.h>

#include <natsume/bootinfo.h>

#include "drivers/net/bridge.hpp"
#include "drivers/pv/netif.hpp"

#include "arch/idt.h"
#include "devices/e1000.h"
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

constexpr uint32_t MAX_VIFS  = 4;
constexpr uint8_t PORT_NIC   = MAX_VIFS;  // ports 0 .. MAX_VIFS - 1 are the vifs
constexpr net::Ip4 PING_FROM = {{192, 168, 10, 15}}, VNET_HOST = {{192, 168, 10, 1}};
constexpr unsigned BRIDGE_PINGS = 5;
constexpr uint64_t PING_US      = 2000000;  // vnet answers after ~100 emulated us; Bochs boots slowly
constexpr uint64_t POLL_US      = 100;
constexpr uint16_t ECHO_ID      = 0x4e53;

uint8_t g_frame[pv::ETH_MAX], g_reply[pv::ETH_MAX];

// ---- frontends --------------------------------------------------------------

net::Ip4 ip_arg(const char* key, bool& given) {
    char buf[20];
    net::Ip4 ip{};
    given = cmdline::get(boot::context().cmdline, key, buf, sizeof buf) && net::parse_ip4(buf, ip);
    return ip;
}

// Resolves `to` by ARP and pings it BRIDGE_PINGS times; the echoes answered.
unsigned ping(const natsume_boot_channel& ch, pv::NetFront& f, const net::Mac& me, net::Ip4 to, bool& arp,
              uint64_t& doorbells) {
    net::Mac peer{};
    uint16_t len = static_cast<uint16_t>(net::build_arp_request(g_frame, sizeof g_frame, me, PING_FROM, to));
    arp          = exchange(
                 ch, f, g_frame, len, g_reply, sizeof g_reply,
                 [&](const uint8_t* r, size_t m) { return net::is_arp_reply_from(r, m, to, peer); }, doorbells, PING_US);
    unsigned pings = 0;
    for (uint16_t seq = 1; arp && seq <= BRIDGE_PINGS; seq++) {
        len = static_cast<uint16_t>(
            net::build_icmp_echo(g_frame, sizeof g_frame, me, peer, PING_FROM, to, ECHO_ID, seq, 32));
        pings += exchange(
            ch, f, g_frame, len, g_reply, sizeof g_reply,
            [&](const uint8_t* r, size_t m) { return net::is_icmp_echo_reply(r, m, to, ECHO_ID, seq); }, doorbells,
            PING_US);
    }
    return pings;
}

void vif_ping_frontend(const natsume_boot_channel& ch) {
    pv::NetFront f;
    uint64_t doorbells = 0;
    if (!open_front("vif-ping", ch, f, doorbells)) return;
    net::Mac me{};
    for (int i = 0; i < 6; i++) me.b[i] = f.channel().control()->mac[i];
    bool arp = false, arp2 = true, with_peer = false;
    unsigned pings  = ping(ch, f, me, VNET_HOST, arp, doorbells);
    net::Ip4 peer   = ip_arg("peer", with_peer);
    unsigned pings2 = with_peer ? ping(ch, f, me, peer, arp2, doorbells) : 0;
    close_front(ch, f);
    results::report("vif-ping", arp && pings == BRIDGE_PINGS && arp2 && (!with_peer || pings2 == BRIDGE_PINGS),
                    "\"arp\":%s,\"pings\":%u,\"peer_pings\":%u,\"doorbells\":%llu", arp ? "true" : "false", pings,
                    pings2, ull{doorbells});
}

void vif_host_frontend(const natsume_boot_channel& ch) {
    pv::NetFront f;
    uint64_t doorbells = 0;
    if (!open_front("vif-host", ch, f, doorbells)) return;
    bool given  = false;
    net::Ip4 ip = ip_arg("ip", given);
    net::Mac me{};
    for (int i = 0; i < 6; i++) me.b[i] = f.channel().control()->mac[i];
    uint64_t want = arg("pings", BRIDGE_PINGS), answered = 0, replies = 0;
    if (arg("spoof", 0)) {
        net::Mac other = me;
        other.b[5] ^= 0x80;
        uint16_t len = static_cast<uint16_t>(net::build_arp_request(g_frame, sizeof g_frame, other, ip, PING_FROM));
        pv::Notify n{};
        if (f.send(g_frame, len, n)) ring_if(ch, n.peer, doorbells);
    }
    bool done = wait_us(
        [&] {
            pv::Notify n{};
            size_t got = f.receive(g_frame, sizeof g_frame, n);
            ring_if(ch, n.peer, doorbells);
            if (got == 0) {
                (void)f.arm_receive();
                return false;
            }
            size_t out = net::respond(me, ip, g_frame, got, g_reply, sizeof g_reply);
            pv::Notify s{};
            if (out && f.send(g_reply, static_cast<uint16_t>(out), s)) {
                replies++;
                answered += g_frame[12] == 0x08 && g_frame[13] == 0x00;  // IPv4: an echo request
            }
            ring_if(ch, s.peer, doorbells);
            f.reap_transmitted();
            return answered >= want;
        },
        PING_US * (2 * BRIDGE_PINGS + 4));
    close_front(ch, f);
    results::report("vif-host", given && done, "\"answered\":%llu,\"replies\":%llu,\"doorbells\":%llu", ull{answered},
                    ull{replies}, ull{doorbells});
}

// ---- the bridge -------------------------------------------------------------

struct Vif {
    const natsume_boot_channel* ch = nullptr;
    uint8_t* base                  = nullptr;
    pv::NetBack back;
    uint8_t mac[6] = {};
    bool wake      = false;  // the frontend asked for a notification
};

struct Counts {
    uint64_t to_nic = 0, to_vif = 0, vif_to_vif = 0, nic_failed = 0, spoofed = 0, doorbells = 0;
};

class Bridge {
public:
    bool open();
    void run(uint64_t deadline, uint64_t busy_us, uint64_t poll);
    void report(uint64_t ticks);

private:
    bool from_vif(uint8_t port, const uint8_t* frame, uint16_t len);
    void from_nic(const uint8_t* frame, uint16_t len);
    void to_vif(uint8_t port, const uint8_t* frame, uint16_t len);
    void to_nic(uint8_t port, const uint8_t* frame, uint16_t len);
    bool all_done() const;

    Vif vifs_[MAX_VIFS];
    uint32_t count_ = 0;
    drivers::net::MacTable<16> table_;  // scanned twice per frame: small
    Counts n_;
    uint64_t halted_ = 0, work_ = 0;
};

// Every backend channel of the boot information, its doorbell bound, its
// frontend attached with the address it is offered.
bool Bridge::open() {
    const boot::Context& ctx = boot::context();
    install_doorbell_handler();
    for (uint32_t i = 0; i < ctx.channel_count && count_ < MAX_VIFS; i++) {
        const natsume_boot_channel& ch = ctx.channels[i];
        if (ch.role != NATSUME_CHANNEL_BACKEND) continue;
        if (hypercall::channel_bind(ch.id, idt::VECTOR_DOORBELL) != NATSUME_OK) {
            results::report("vif-bridge", false, "\"why\":\"could not bind the doorbell of channel %s\"", ch.name);
            return false;
        }
        Vif& v = vifs_[count_];
        v.ch   = &ch;
        v.base = reinterpret_cast<uint8_t*>(ch.gpa);
        if (count_ == 0) {
            memcpy(v.mac, e1000::info().mac, 6);
        } else {
            const uint8_t local[6] = {0x02, 0, 0, 0, 0x01, static_cast<uint8_t>(count_)};
            memcpy(v.mac, local, 6);
        }
        if (!wait_us([&] { return v.back.attach(v.base, ch.size, v.mac); }, VIF_MEET_US)) {
            results::report("vif-bridge", false, "\"why\":\"no netif frontend on channel %s within %llu ms\"", ch.name,
                            ull{VIF_MEET_US / 1000});
            return false;
        }
        count_++;
    }
    if (count_ == 0) results::report("vif-bridge", false, "\"why\":\"no backend channel in the boot information\"");
    return count_ > 0;
}

void Bridge::to_nic(uint8_t port, const uint8_t* frame, uint16_t len) {
    // The NIC reads the frame from the channel page itself when the file lets
    // this partition's devices reach it; otherwise the driver copies it into
    // its own buffer. Either way a frontend that changes the frame meanwhile
    // only garbles its own frame.
    const Vif& v = vifs_[port];
    bool sent =
        v.ch->dma_address ? e1000::send_from(v.ch->dma_address + (frame - v.base), len) : e1000::send(frame, len);
    sent ? n_.to_nic++ : n_.nic_failed++;
}

void Bridge::to_vif(uint8_t port, const uint8_t* frame, uint16_t len) {
    pv::Notify n{};
    n_.to_vif += vifs_[port].back.send(frame, len, n);  // copied into a page that vif offered
    vifs_[port].wake = vifs_[port].wake || n.peer;
}

// A frame a vif sent, still on its shared page; false when it was dropped.
bool Bridge::from_vif(uint8_t port, const uint8_t* frame, uint16_t len) {
    uint8_t addresses[12];  // what the bridge decides on, off the shared page first
    memcpy(addresses, frame, sizeof addresses);
    if (memcmp(addresses + 6, vifs_[port].mac, 6) != 0) {
        n_.spoofed++;
        return false;
    }
    table_.learn(addresses + 6, port);
    uint8_t out = table_.lookup(addresses);
    if (out == port) return false;  // for a station on the vif itself
    for (uint8_t j = 0; j < count_; j++) {
        if (j == port || (out != drivers::net::FLOOD && out != j)) continue;
        to_vif(j, frame, len);
        n_.vif_to_vif++;
    }
    if (out == drivers::net::FLOOD || out == PORT_NIC) to_nic(port, frame, len);
    return true;
}

void Bridge::from_nic(const uint8_t* frame, uint16_t len) {
    bool a_vif = false;  // a source claiming a vif's address is not learned behind the NIC
    for (uint8_t j = 0; j < count_; j++) a_vif = a_vif || memcmp(frame + 6, vifs_[j].mac, 6) == 0;
    if (!a_vif) table_.learn(frame + 6, PORT_NIC);
    uint8_t out = table_.lookup(frame);
    for (uint8_t j = 0; j < count_; j++)
        if (out == drivers::net::FLOOD || out == j) to_vif(j, frame, len);
}

bool Bridge::all_done() const {
    for (uint32_t i = 0; i < count_; i++)
        if (reinterpret_cast<const pv::Control*>(vifs_[i].base)->front_state != VIF_FRONT_DONE) return false;
    return true;
}

void Bridge::run(uint64_t deadline, uint64_t busy_us, uint64_t poll) {
    uint64_t last_work = cpu::rdtsc();
    while (!all_done() && cpu::rdtsc() < deadline) {
        uint64_t pass = cpu::rdtsc(), moved = 0;
        for (uint8_t i = 0; i < count_; i++) {
            pv::Served s = vifs_[i].back.serve_transmit(
                [&](const uint8_t* frame, uint16_t len) { (void)from_vif(i, frame, len); });
            moved += s.requests;
            vifs_[i].wake = vifs_[i].wake || s.notify;
        }
        const uint8_t* in = nullptr;
        for (size_t got; (got = e1000::peek(in)) != 0; moved++) {  // the driver's buffer: one copy, into a vif's page
            from_nic(in, static_cast<uint16_t>(got));
            e1000::release();
        }
        for (uint8_t i = 0; i < count_; i++) {
            ring_if(*vifs_[i].ch, vifs_[i].wake, n_.doorbells);
            vifs_[i].wake = false;
        }
        uint64_t now = cpu::rdtsc();
        if (moved) {
            last_work = now;
            work_ += now - pass;  // the passes that moved frames: the cost per frame, polling aside
        }
        if (busy_us) {
            busy_for(busy_us);
            continue;
        }
        if (now - last_work < poll) {
            cpu::pause();
            continue;
        }
        bool arrived = false;
        for (uint8_t i = 0; i < count_; i++) arrived = vifs_[i].back.arm_transmit() || arrived;
        if (!arrived && !all_done()) {
            asm volatile("sti; hlt; cli" ::: "memory");
            halted_ += cpu::rdtsc() - now;
        }
    }
}

void Bridge::report(uint64_t ticks) {
    uint64_t refused = 0, dropped = 0, moved = n_.to_nic + n_.to_vif;
    for (uint32_t i = 0; i < count_; i++) {
        refused += vifs_[i].back.tx_refused;
        dropped += vifs_[i].back.rx_dropped;
    }
    results::report("vif-bridge", all_done() && n_.to_nic > 0 && n_.to_vif > 0 && n_.nic_failed == 0,
                    "\"vifs\":%u,\"to_nic\":%llu,\"to_vif\":%llu,\"vif_to_vif\":%llu,\"nic_failed\":%llu,"
                    "\"spoofed\":%llu,\"refused\":%llu,\"rx_dropped\":%llu,\"doorbells\":%llu,\"ticks\":%llu,"
                    "\"busy_ticks\":%llu,\"busy_ticks_per_frame\":%llu,\"work_ticks_per_frame\":%llu,"
                    "\"zero_copy\":%s,\"poll_us\":%llu,\"busy_us\":%llu,\"nic_interrupts\":%llu",
                    count_, ull{n_.to_nic}, ull{n_.to_vif}, ull{n_.vif_to_vif}, ull{n_.nic_failed}, ull{n_.spoofed},
                    ull{refused}, ull{dropped}, ull{n_.doorbells}, ull{ticks}, ull{ticks - halted_},
                    ull{moved ? (ticks - halted_) / moved : 0}, ull{moved ? work_ / moved : 0},
                    vifs_[0].ch->dma_address ? "true" : "false", ull{arg("poll", POLL_US)}, ull{arg("busy", 0)},
                    ull{e1000::irq_count()});
}

constinit Bridge g_bridge;  // rings and tables: off the small boot stack

void vif_bridge_backend() {
    if (e1000::init() != e1000::Status::Ok ||
        e1000::enable_interrupts(idt::VECTOR_DEVICE, e1000::INT_RXT0 | e1000::INT_TXDW) != e1000::Status::Ok) {
        results::report("vif-bridge", false, "\"why\":\"no e1000 to bridge to\"");
        return;
    }
    Bridge& bridge = g_bridge;
    if (!bridge.open()) return;
    uint64_t seconds = arg("seconds", 0), t0 = cpu::rdtsc();
    uint64_t limit = seconds ? ticks_for_us(seconds * 1000000) : ticks_for_us(PING_US * (4 * BRIDGE_PINGS + 4));
    bridge.run(t0 + limit, arg("busy", 0), ticks_for_us(arg("poll", POLL_US)));
    uint64_t ticks = cpu::rdtsc() - t0;
    e1000::disable_interrupts();
    bridge.report(ticks);
}

const natsume_boot_channel* first_front(const char* name) { return open_first_channel(name, NATSUME_CHANNEL_FRONTEND); }

}  // namespace

void run_vif_bridge() { vif_bridge_backend(); }

void run_vif_ping() {
    if (const natsume_boot_channel* ch = first_front("vif-ping")) vif_ping_frontend(*ch);
}

void run_vif_host() {
    if (const natsume_boot_channel* ch = first_front("vif-host")) vif_host_frontend(*ch);
}

}  // namespace natsume::guest::device_tests
