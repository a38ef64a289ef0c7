#include <catch2/catch.hpp>
#include <cstring>

#include "lib/net_frames.h"

using namespace natsume::guest::net;

namespace {
const Mac ME      = {{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
const Mac PEER    = {{0x52, 0x54, 0x00, 0x12, 0x34, 0x55}};
const Ip4 MY_IP   = {{192, 168, 10, 15}};
const Ip4 PEER_IP = {{192, 168, 10, 1}};
}  // namespace

TEST_CASE("internet checksum (RFC 1071 example)", "[guest][net]") {
    const uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    CHECK(internet_checksum(data, sizeof data) == static_cast<uint16_t>(~0xddf2u));
    const uint8_t odd[] = {0x01};
    CHECK(internet_checksum(odd, 1) == static_cast<uint16_t>(~0x0100u));
}

TEST_CASE("ARP request layout", "[guest][net]") {
    uint8_t f[64];
    size_t n = build_arp_request(f, sizeof f, ME, MY_IP, PEER_IP);
    REQUIRE(n == MIN_FRAME);
    for (int i = 0; i < 6; ++i) CHECK(f[i] == 0xff);
    CHECK(std::memcmp(f + 6, ME.b, 6) == 0);
    CHECK(f[12] == 0x08);
    CHECK(f[13] == 0x06);
    CHECK(f[21] == 1);                         // opcode request
    CHECK(std::memcmp(f + 22, ME.b, 6) == 0);  // sender MAC (Bochs vnet checks it)
    CHECK(std::memcmp(f + 28, MY_IP.b, 4) == 0);
    CHECK(std::memcmp(f + 38, PEER_IP.b, 4) == 0);
    CHECK(build_arp_request(f, 59, ME, MY_IP, PEER_IP) == 0);
}

TEST_CASE("ARP reply recognition", "[guest][net]") {
    uint8_t f[60] = {};
    f[12] = 0x08, f[13] = 0x06;
    f[21] = 2;
    std::memcpy(f + 22, PEER.b, 6);
    std::memcpy(f + 28, PEER_IP.b, 4);
    Mac got{};
    CHECK(is_arp_reply_from(f, sizeof f, PEER_IP, got));
    CHECK(std::memcmp(got.b, PEER.b, 6) == 0);
    CHECK_FALSE(is_arp_reply_from(f, sizeof f, MY_IP, got));
    f[21] = 1;
    CHECK_FALSE(is_arp_reply_from(f, sizeof f, PEER_IP, got));
}

TEST_CASE("ICMP echo request and a matching reply", "[guest][net]") {
    uint8_t f[128];
    size_t n = build_icmp_echo(f, sizeof f, ME, PEER, MY_IP, PEER_IP, 0x4e53, 1, 32);
    REQUIRE(n == 14 + 20 + 8 + 32);
    CHECK(internet_checksum(f + 14, 20) == 0);      // valid IP header checksum
    CHECK(internet_checksum(f + 34, 8 + 32) == 0);  // valid ICMP checksum
    CHECK(f[23] == 1);
    CHECK(f[34] == 8);
    // Turn it into the reply the peer would send.
    uint8_t r[128];
    std::memcpy(r, f, n);
    std::memcpy(r + 26, PEER_IP.b, 4);
    std::memcpy(r + 30, MY_IP.b, 4);
    r[34] = 0;
    r[36] = r[37] = 0;
    uint16_t c    = internet_checksum(r + 34, 40);
    r[36]         = static_cast<uint8_t>(c >> 8);
    r[37]         = static_cast<uint8_t>(c);
    CHECK(is_icmp_echo_reply(r, n, PEER_IP, 0x4e53, 1));
    CHECK_FALSE(is_icmp_echo_reply(r, n, PEER_IP, 0x4e53, 2));
    CHECK_FALSE(is_icmp_echo_reply(f, n, MY_IP, 0x4e53, 1));  // the request is no reply
    r[50] ^= 1;                                               // corrupt the payload
    CHECK_FALSE(is_icmp_echo_reply(r, n, PEER_IP, 0x4e53, 1));
}

TEST_CASE("dotted-quad parsing", "[guest][net]") {
    Ip4 ip{};
    CHECK(parse_ip4("10.0.2.15", ip));
    CHECK((ip.b[0] == 10 && ip.b[1] == 0 && ip.b[2] == 2 && ip.b[3] == 15));
    CHECK_FALSE(parse_ip4("10.0.2", ip));
    CHECK_FALSE(parse_ip4("10.0.2.256", ip));
    CHECK_FALSE(parse_ip4("10.0.2.1x", ip));
    CHECK_FALSE(parse_ip4("", ip));
}

TEST_CASE("UDP datagrams round-trip through build_udp and parse_udp, checksum included", "[guest][net][udp]") {
    uint8_t f[1600];
    const uint8_t data[] = "natsume";
    size_t n             = build_udp(f, sizeof f, ME, PEER, MY_IP, PEER_IP, 4000, 7, data, 7);
    REQUIRE(n == MIN_FRAME);  // 14 + 20 + 8 + 7 = 49, padded
    Udp u{};
    REQUIRE(parse_udp(f, n, u));
    CHECK(u.src_port == 4000);
    CHECK(u.dst_port == 7);
    CHECK(u.len == 7);
    CHECK(std::memcmp(u.data, data, 7) == 0);
    CHECK(std::memcmp(u.src_mac.b, ME.b, 6) == 0);
    CHECK(std::memcmp(u.src.b, MY_IP.b, 4) == 0);
    // A flipped payload bit, a wrong IP header checksum, a length past the packet: refused.
    f[14 + 20 + 8] ^= 1;
    CHECK_FALSE(parse_udp(f, n, u));
    f[14 + 20 + 8] ^= 1;
    f[14 + 10] ^= 0x80;
    CHECK_FALSE(parse_udp(f, n, u));
    f[14 + 10] ^= 0x80;
    f[14 + 20 + 4] = 0xff;
    CHECK_FALSE(parse_udp(f, n, u));
    f[14 + 20 + 4] = 0;
    f[14 + 20 + 5] = 15;
    f[14 + 20 + 6] = f[14 + 20 + 7] = 0;  // no checksum: accepted on the length alone
    REQUIRE(parse_udp(f, n, u));
    CHECK(u.len == 7);
    CHECK_FALSE(parse_udp(f, 20, u));  // truncated frame
}

TEST_CASE("the responder answers ARP, ICMP echo and UDP echo for its own address only", "[guest][net][udp]") {
    uint8_t q[1600], r[1600];
    // ARP: who has PEER_IP? tell MY_IP.
    size_t n = build_arp_request(q, sizeof q, ME, MY_IP, PEER_IP);
    size_t m = respond(PEER, PEER_IP, q, n, r, sizeof r);
    REQUIRE(m == MIN_FRAME);
    Mac found{};
    REQUIRE(is_arp_reply_from(r, m, PEER_IP, found));
    CHECK(std::memcmp(found.b, PEER.b, 6) == 0);
    CHECK(std::memcmp(r, ME.b, 6) == 0);                  // sent to the asker
    CHECK(respond(PEER, MY_IP, q, n, r, sizeof r) == 0);  // a request for another address
    // ICMP echo.
    n = build_icmp_echo(q, sizeof q, ME, PEER, MY_IP, PEER_IP, 0x1234, 9, 56);
    m = respond(PEER, PEER_IP, q, n, r, sizeof r);
    REQUIRE(m > 0);
    CHECK(is_icmp_echo_reply(r, m, PEER_IP, 0x1234, 9));
    q[14 + 20 + 8] ^= 1;  // corrupt payload: the ICMP checksum fails, no reply
    CHECK(respond(PEER, PEER_IP, q, n, r, sizeof r) == 0);
    // UDP echo: the same payload back, ports swapped.
    const uint8_t data[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    n                    = build_udp(q, sizeof q, ME, PEER, MY_IP, PEER_IP, 5001, UDP_ECHO_PORT, data, sizeof data);
    m                    = respond(PEER, PEER_IP, q, n, r, sizeof r);
    Udp u{};
    REQUIRE(parse_udp(r, m, u));
    CHECK(u.src_port == UDP_ECHO_PORT);
    CHECK(u.dst_port == 5001);
    CHECK(u.len == sizeof data);
    CHECK(std::memcmp(u.data, data, sizeof data) == 0);
    n = build_udp(q, sizeof q, ME, PEER, MY_IP, PEER_IP, 5001, 9, data, sizeof data);
    CHECK(respond(PEER, PEER_IP, q, n, r, sizeof r) == 0);  // no service on port 9
}
