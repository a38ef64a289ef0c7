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
