#include "lib/net_frames.h"

namespace natsume::guest::net {
namespace {

constexpr size_t ARP_BODY           = 28;
constexpr size_t IP_HEADER          = 20;
constexpr size_t ICMP_HEADER        = 8;
constexpr uint8_t IP_PROTO_ICMP     = 1;
constexpr uint8_t IP_PROTO_UDP      = 17;
constexpr size_t UDP_HEADER         = 8;
constexpr uint8_t ICMP_ECHO_REPLY   = 0;
constexpr uint8_t ICMP_ECHO_REQUEST = 8;
constexpr uint16_t ARP_REQUEST      = 1;
constexpr uint16_t ARP_REPLY        = 2;

void put16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

void copy(uint8_t* d, const uint8_t* s, size_t n) {
    for (size_t i = 0; i < n; ++i) d[i] = s[i];
}
bool same(const uint8_t* a, const uint8_t* b, size_t n) {
    for (size_t i = 0; i < n; ++i)
        if (a[i] != b[i]) return false;
    return true;
}
void zero(uint8_t* d, size_t n) {
    for (size_t i = 0; i < n; ++i) d[i] = 0;
}

void eth_header(uint8_t* f, const uint8_t* dst, const Mac& src, uint16_t type) {
    copy(f, dst, 6);
    copy(f + 6, src.b, 6);
    put16(f + 12, type);
}

size_t padded(size_t n) { return n < MIN_FRAME ? MIN_FRAME : n; }

// IPv4 header without options (RFC 791), checksum filled in.
void ip_header(uint8_t* ip, size_t ip_len, uint16_t ident, uint8_t proto, const Ip4& src, const Ip4& dst) {
    ip[0] = 0x45;  // version 4, 5-dword header
    put16(ip + 2, static_cast<uint16_t>(ip_len));
    put16(ip + 4, ident);
    ip[8] = 64;  // TTL
    ip[9] = proto;
    copy(ip + 12, src.b, 4);
    copy(ip + 16, dst.b, 4);
    put16(ip + 10, internet_checksum(ip, IP_HEADER));
}

// The one's-complement sum (RFC 1071) of the UDP pseudo-header (RFC 768) and
// the datagram, folded, not complemented.
uint16_t udp_sum(const Ip4& src, const Ip4& dst, const uint8_t* udp, size_t len) {
    uint32_t sum = 0;
    for (size_t i = 0; i < 4; i += 2) sum += get16(src.b + i) + get16(dst.b + i);
    sum += IP_PROTO_UDP + static_cast<uint32_t>(len);
    for (size_t i = 0; i + 1 < len; i += 2) sum += get16(udp + i);
    if (len & 1) sum += uint32_t{udp[len - 1]} << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

// The checksum to store (the checksum field still 0): 0 is sent as 0xffff,
// 0 meaning "none".
uint16_t udp_checksum(const Ip4& src, const Ip4& dst, const uint8_t* udp, size_t len) {
    uint16_t c = static_cast<uint16_t>(~udp_sum(src, dst, udp, len));
    return c ? c : 0xffff;
}

// The IPv4 packet in a frame, checked: returns its header length and total
// length through ihl/ip_len, false when it is not a well-formed IPv4 packet.
bool ip_packet(const uint8_t* f, size_t n, size_t& ihl, size_t& ip_len) {
    if (n < ETH_HEADER + IP_HEADER || get16(f + 12) != ETHER_TYPE_IP4) return false;
    const uint8_t* ip = f + ETH_HEADER;
    ihl               = size_t{ip[0] & 0xfu} * 4;
    ip_len            = get16(ip + 2);
    return (ip[0] >> 4) == 4 && ihl >= IP_HEADER && ip_len >= ihl && ETH_HEADER + ip_len <= n &&
           internet_checksum(ip, ihl) == 0;
}

}  // namespace

bool parse_ip4(const char* s, Ip4& out) {
    for (unsigned i = 0; i < 4; ++i) {
        unsigned v = 0, digits = 0;
        for (; *s >= '0' && *s <= '9' && digits < 4; ++s, ++digits) v = v * 10 + static_cast<unsigned>(*s - '0');
        if (digits == 0 || digits > 3 || v > 255) return false;
        out.b[i] = static_cast<uint8_t>(v);
        if (i < 3 && *s++ != '.') return false;
    }
    return *s == '\0';
}

uint16_t internet_checksum(const uint8_t* p, size_t n) {
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2) sum += get16(p + i);
    if (n & 1) sum += uint32_t{p[n - 1]} << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

size_t build_arp_request(uint8_t* out, size_t cap, const Mac& src, const Ip4& src_ip, const Ip4& target_ip) {
    if (cap < MIN_FRAME) return 0;
    zero(out, MIN_FRAME);
    const uint8_t broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    eth_header(out, broadcast, src, ETHER_TYPE_ARP);
    uint8_t* a = out + ETH_HEADER;
    put16(a, 1);  // hardware: Ethernet
    put16(a + 2, ETHER_TYPE_IP4);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, ARP_REQUEST);
    copy(a + 8, src.b, 6);
    copy(a + 14, src_ip.b, 4);
    copy(a + 24, target_ip.b, 4);  // target MAC (18..23) stays zero
    return padded(ETH_HEADER + ARP_BODY);
}

size_t build_icmp_echo(uint8_t* out, size_t cap, const Mac& src, const Mac& dst, const Ip4& src_ip, const Ip4& dst_ip,
                       uint16_t id, uint16_t seq, size_t payload) {
    size_t ip_len = IP_HEADER + ICMP_HEADER + payload;
    size_t n      = ETH_HEADER + ip_len;
    if (cap < padded(n) || ip_len > 0xffff) return 0;
    zero(out, padded(n));
    eth_header(out, dst.b, src, ETHER_TYPE_IP4);
    uint8_t* ip = out + ETH_HEADER;
    ip_header(ip, ip_len, seq, IP_PROTO_ICMP, src_ip, dst_ip);
    uint8_t* icmp = ip + IP_HEADER;
    icmp[0]       = ICMP_ECHO_REQUEST;
    put16(icmp + 4, id);
    put16(icmp + 6, seq);
    for (size_t i = 0; i < payload; ++i) icmp[ICMP_HEADER + i] = static_cast<uint8_t>('a' + i % 26);
    put16(icmp + 2, internet_checksum(icmp, ICMP_HEADER + payload));
    return padded(n);
}

bool is_arp_reply_from(const uint8_t* f, size_t n, const Ip4& ip, Mac& mac) {
    if (n < ETH_HEADER + ARP_BODY || get16(f + 12) != ETHER_TYPE_ARP) return false;
    const uint8_t* a = f + ETH_HEADER;
    if (get16(a + 6) != ARP_REPLY || !same(a + 14, ip.b, 4)) return false;
    copy(mac.b, a + 8, 6);
    return true;
}

bool is_icmp_echo_reply(const uint8_t* f, size_t n, const Ip4& from, uint16_t id, uint16_t seq) {
    size_t ihl = 0, ip_len = 0;
    if (!ip_packet(f, n, ihl, ip_len)) return false;
    const uint8_t* ip = f + ETH_HEADER;
    if (ip[9] != IP_PROTO_ICMP || !same(ip + 12, from.b, 4) || ip_len < ihl + ICMP_HEADER) return false;
    const uint8_t* icmp = ip + ihl;
    return icmp[0] == ICMP_ECHO_REPLY && get16(icmp + 4) == id && get16(icmp + 6) == seq &&
           internet_checksum(icmp, ip_len - ihl) == 0;
}

size_t build_udp(uint8_t* out, size_t cap, const Mac& src, const Mac& dst, const Ip4& src_ip, const Ip4& dst_ip,
                 uint16_t src_port, uint16_t dst_port, const uint8_t* data, size_t payload) {
    size_t udp_len = UDP_HEADER + payload, ip_len = IP_HEADER + udp_len, n = ETH_HEADER + ip_len;
    if (cap < padded(n) || ip_len > 0xffff) return 0;
    zero(out, padded(n));
    eth_header(out, dst.b, src, ETHER_TYPE_IP4);
    ip_header(out + ETH_HEADER, ip_len, src_port, IP_PROTO_UDP, src_ip, dst_ip);
    uint8_t* udp = out + ETH_HEADER + IP_HEADER;
    put16(udp, src_port);
    put16(udp + 2, dst_port);
    put16(udp + 4, static_cast<uint16_t>(udp_len));
    copy(udp + UDP_HEADER, data, payload);
    put16(udp + 6, udp_checksum(src_ip, dst_ip, udp, udp_len));
    return padded(n);
}

bool parse_udp(const uint8_t* f, size_t n, Udp& out) {
    size_t ihl = 0, ip_len = 0;
    if (!ip_packet(f, n, ihl, ip_len)) return false;
    const uint8_t* ip = f + ETH_HEADER;
    if (ip[9] != IP_PROTO_UDP || ip_len < ihl + UDP_HEADER) return false;
    const uint8_t* udp = ip + ihl;
    size_t udp_len     = get16(udp + 4);
    if (udp_len < UDP_HEADER || udp_len > ip_len - ihl) return false;
    copy(out.src.b, ip + 12, 4);
    copy(out.dst.b, ip + 16, 4);
    // Summed with the checksum it carries, a correct datagram gives all ones.
    if (get16(udp + 6) != 0 && udp_sum(out.src, out.dst, udp, udp_len) != 0xffff) return false;
    copy(out.src_mac.b, f + 6, 6);
    out.src_port = get16(udp);
    out.dst_port = get16(udp + 2);
    out.data     = udp + UDP_HEADER;
    out.len      = udp_len - UDP_HEADER;
    return true;
}

size_t respond(const Mac& mac, const Ip4& ip, const uint8_t* f, size_t n, uint8_t* out, size_t cap) {
    if (n >= ETH_HEADER + ARP_BODY && get16(f + 12) == ETHER_TYPE_ARP) {
        const uint8_t* a = f + ETH_HEADER;
        if (get16(a + 6) != ARP_REQUEST || !same(a + 24, ip.b, 4) || cap < MIN_FRAME) return 0;
        zero(out, MIN_FRAME);
        eth_header(out, a + 8, mac, ETHER_TYPE_ARP);
        uint8_t* r = out + ETH_HEADER;
        copy(r, a, 6);  // hardware type, protocol type, lengths
        put16(r + 6, ARP_REPLY);
        copy(r + 8, mac.b, 6);
        copy(r + 14, ip.b, 4);
        copy(r + 18, a + 8, 10);  // the asker's MAC and IP
        return MIN_FRAME;
    }
    size_t ihl = 0, ip_len = 0;
    if (!ip_packet(f, n, ihl, ip_len) || !same(f + ETH_HEADER + 16, ip.b, 4)) return 0;
    const uint8_t* in_ip = f + ETH_HEADER;
    Mac asker;
    copy(asker.b, f + 6, 6);
    Ip4 from;
    copy(from.b, in_ip + 12, 4);
    if (in_ip[9] == IP_PROTO_ICMP && ip_len >= ihl + ICMP_HEADER && in_ip[ihl] == ICMP_ECHO_REQUEST) {
        size_t icmp_len = ip_len - ihl, reply = ETH_HEADER + IP_HEADER + icmp_len;
        if (internet_checksum(in_ip + ihl, icmp_len) != 0 || cap < padded(reply) || IP_HEADER + icmp_len > 0xffff)
            return 0;
        zero(out, padded(reply));
        eth_header(out, asker.b, mac, ETHER_TYPE_IP4);
        ip_header(out + ETH_HEADER, IP_HEADER + icmp_len, get16(in_ip + 4), IP_PROTO_ICMP, ip, from);
        uint8_t* icmp = out + ETH_HEADER + IP_HEADER;
        copy(icmp, in_ip + ihl, icmp_len);
        icmp[0] = ICMP_ECHO_REPLY;
        put16(icmp + 2, 0);
        put16(icmp + 2, internet_checksum(icmp, icmp_len));
        return padded(reply);
    }
    Udp u{};
    if (parse_udp(f, n, u) && u.dst_port == UDP_ECHO_PORT)
        return build_udp(out, cap, mac, asker, ip, from, UDP_ECHO_PORT, u.src_port, u.data, u.len);
    return 0;
}

}  // namespace natsume::guest::net
