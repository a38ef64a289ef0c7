// Building and recognising the few Ethernet frames the e1000 test exchanges:
// ARP request/reply (RFC 826) and ICMP echo (RFC 792) over IPv4 (RFC 791).
// Pure code on byte buffers, host-tested.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume::guest::net {

struct Mac {
    uint8_t b[6];
};
struct Ip4 {
    uint8_t b[4];
};

inline constexpr size_t ETH_HEADER       = 14;
inline constexpr size_t MIN_FRAME        = 60;  // without FCS; shorter frames are padded
inline constexpr uint16_t ETHER_TYPE_ARP = 0x0806;
inline constexpr uint16_t ETHER_TYPE_IP4 = 0x0800;

// "a.b.c.d" (the whole string) into out.
bool parse_ip4(const char* s, Ip4& out);

// RFC 1071 Internet checksum of `n` bytes (the value to store, already
// complemented; a buffer containing a correct checksum sums to 0).
uint16_t internet_checksum(const uint8_t* p, size_t n);

// Each builder returns the frame length written (>= MIN_FRAME), 0 when `cap`
// is too small.
size_t build_arp_request(uint8_t* out, size_t cap, const Mac& src, const Ip4& src_ip, const Ip4& target_ip);
size_t build_icmp_echo(uint8_t* out, size_t cap, const Mac& src, const Mac& dst, const Ip4& src_ip, const Ip4& dst_ip,
                       uint16_t id, uint16_t seq, size_t payload);

// A UDP datagram (RFC 768) over IPv4 with its checksum (pseudo-header
// included); `payload` bytes from `data`.
size_t build_udp(uint8_t* out, size_t cap, const Mac& src, const Mac& dst, const Ip4& src_ip, const Ip4& dst_ip,
                 uint16_t src_port, uint16_t dst_port, const uint8_t* data, size_t payload);

// What a received frame holds, after the checks a receiver must make: an
// IPv4 header of version 4 with a correct checksum and a total length inside
// the frame, and for UDP a length inside the packet and a correct checksum
// (0 = none sent).
struct Udp {
    Mac src_mac;
    Ip4 src, dst;
    uint16_t src_port, dst_port;
    const uint8_t* data;
    size_t len;
};
bool parse_udp(const uint8_t* f, size_t n, Udp& out);

// The replies a small host gives (the backend of the paravirtual network
// test): an ARP reply to a request for `ip`, an ICMP echo reply to an echo
// request to `ip`, and the same datagram back for UDP to port 7 (echo,
// RFC 862). Returns the reply's length, 0 when the frame calls for none.
inline constexpr uint16_t UDP_ECHO_PORT = 7;
size_t respond(const Mac& mac, const Ip4& ip, const uint8_t* f, size_t n, uint8_t* out, size_t cap);

// An ARP reply telling where `ip` is; the sender's MAC goes to `mac`.
bool is_arp_reply_from(const uint8_t* f, size_t n, const Ip4& ip, Mac& mac);
// An ICMP echo reply with this id and sequence number and a valid checksum.
bool is_icmp_echo_reply(const uint8_t* f, size_t n, const Ip4& from, uint16_t id, uint16_t seq);

}  // namespace natsume::guest::net
