// test=pci lists the functions this kernel can see; test=e1000 brings the NIC
// up and exchanges ARP and ICMP echo with the emulator's network backend
// (Bochs vnet: host 192.168.10.1; QEMU user net: ip=10.0.2.15 peer=10.0.2.2).
#include <stdio.h>

#include "arch/idt.h"
#include "devices/dma.h"
#include "devices/e1000.h"
#include "devices/pci.h"
#include "lib/cmdline.h"
#include "lib/net_frames.h"
#include "tests/device_common.h"
#include "tests/results.h"

namespace natsume::guest::device_tests {
namespace {

constexpr uint64_t REPLY_TIMEOUT_US = 2000000;
constexpr uint16_t ECHO_ID          = 0x4e53;
constexpr size_t ECHO_PAYLOAD       = 32;
constexpr net::Ip4 DEFAULT_IP       = {{192, 168, 10, 15}};
constexpr net::Ip4 DEFAULT_PEER     = {{192, 168, 10, 1}};

net::Ip4 ip_arg(const char* key, net::Ip4 fallback) {
    char buf[20];
    net::Ip4 ip;
    if (cmdline::get(boot::context().cmdline, key, buf, sizeof buf) && net::parse_ip4(buf, ip)) return ip;
    return fallback;
}

struct Frame {
    uint8_t data[e1000::BUFFER_SIZE];
    size_t len = 0;
};

// Receives until `match` accepts a frame or the deadline passes, with
// interrupts on throughout (the handler touches only ICR, never the ring):
// a short sti/cli window would sit inside sti's interrupt shadow.
template <typename Match>
bool wait_frame(Frame& f, Match match) {
    uint64_t end = cpu::rdtsc() + ticks_for_us(REPLY_TIMEOUT_US);
    bool found   = false;
    cpu::enable_interrupts();
    while (!found && cpu::rdtsc() < end) {
        f.len = e1000::receive(f.data, sizeof f.data);
        if (f.len)
            found = match(f);
        else
            cpu::pause();
    }
    cpu::disable_interrupts();
    return found;
}

void mac_str(const uint8_t* m, char* out) {
    snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

bool report_init() {
    e1000::Status s      = e1000::init();
    const e1000::Info& i = e1000::info();
    char mac[18];
    mac_str(i.mac, mac);
    bool ok = s == e1000::Status::Ok;
    results::report("e1000-init", ok,
                    "\"error\":\"%s\",\"bdf\":\"%02x:%02x.%x\",\"mmio\":\"0x%llx\",\"mmio_size\":%llu,\"gsi\":%d,"
                    "\"mac\":\"%s\",\"mac_source\":\"%s\",\"link\":%s,\"dma_base\":\"0x%llx\"",
                    e1000::status_name(s), pci::bdf_bus(i.bdf), pci::bdf_dev(i.bdf), pci::bdf_fn(i.bdf),
                    static_cast<unsigned long long>(i.mmio), static_cast<unsigned long long>(i.mmio_size),
                    static_cast<int>(i.gsi), mac, i.mac_from_eeprom ? "eeprom" : "ral",
                    ok && e1000::link_up() ? "true" : "false", static_cast<unsigned long long>(dma::window_base()));
    return ok;
}

bool arp(const net::Mac& me, net::Ip4 ip, net::Ip4 peer, net::Mac& peer_mac) {
    uint8_t out[net::MIN_FRAME];
    size_t n  = net::build_arp_request(out, sizeof out, me, ip, peer);
    bool sent = e1000::send(out, n);
    Frame f;
    bool got =
        sent && wait_frame(f, [&](const Frame& fr) { return net::is_arp_reply_from(fr.data, fr.len, peer, peer_mac); });
    char mac[18];
    mac_str(peer_mac.b, mac);
    results::report("e1000-arp", got, "\"sent\":%s,\"peer\":\"%u.%u.%u.%u\",\"peer_mac\":\"%s\"",
                    sent ? "true" : "false", peer.b[0], peer.b[1], peer.b[2], peer.b[3], got ? mac : "");
    return got;
}

void ping(const net::Mac& me, const net::Mac& peer_mac, net::Ip4 ip, net::Ip4 peer) {
    uint8_t out[128];
    size_t n    = net::build_icmp_echo(out, sizeof out, me, peer_mac, ip, peer, ECHO_ID, 1, ECHO_PAYLOAD);
    uint64_t t0 = cpu::rdtsc();
    bool sent   = e1000::send(out, n);
    Frame f;
    bool got     = sent && wait_frame(f, [&](const Frame& fr) {
                   return net::is_icmp_echo_reply(fr.data, fr.len, peer, ECHO_ID, 1);
               });
    uint64_t rtt = cpu::rdtsc() - t0;
    results::report("e1000-icmp", got, "\"sent\":%s,\"rtt_ticks\":%llu", sent ? "true" : "false",
                    static_cast<unsigned long long>(got ? rtt : 0));
}

}  // namespace

void run_pci_list() {
    unsigned n = pci::print_all();
    results::report("pci-enumerate", n > 0, "\"functions\":%u", n);
}

void run_e1000() {
    pci::print_all();
    if (!report_init()) return;
    uint32_t causes = e1000::INT_RXT0 | e1000::INT_TXDW | e1000::INT_LSC;
    e1000::Status s = e1000::enable_interrupts(idt::VECTOR_DEVICE, causes);
    if (s != e1000::Status::Ok) {
        results::report("e1000-irq", false, "\"error\":\"%s\"", e1000::status_name(s));
        return;
    }
    net::Mac me;
    for (unsigned i = 0; i < 6; ++i) me.b[i] = e1000::info().mac[i];
    net::Ip4 ip = ip_arg("ip", DEFAULT_IP), peer = ip_arg("peer", DEFAULT_PEER);
    net::Mac peer_mac{};
    if (arp(me, ip, peer, peer_mac)) ping(me, peer_mac, ip, peer);
    uint32_t seen = e1000::causes_seen();
    bool irq_ok   = e1000::irq_count() > 0 && (seen & e1000::INT_TXDW) && (seen & e1000::INT_RXT0);
    results::report("e1000-irq", irq_ok, "\"irqs\":%llu,\"causes\":\"0x%x\",\"gsi\":%u",
                    static_cast<unsigned long long>(e1000::irq_count()), seen, e1000::info().gsi);
    e1000::disable_interrupts();
}

}  // namespace natsume::guest::device_tests
