// drivers/pv/netif: a frontend and a backend on one channel in host memory
// move frames both ways; a frontend that posts malformed requests gets errors
// for those and service for the rest; a broken producer index stops only the
// reading of that ring.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "drivers/pv/netif.hpp"

using namespace natsume::drivers::pv;

namespace {

constexpr uint64_t CHANNEL = 0x200000;

struct Pair {
    uint8_t* mem = static_cast<uint8_t*>(std::aligned_alloc(4096, CHANNEL));
    NetFront front;
    NetBack back;
    Pair() {
        std::memset(mem, 0, CHANNEL);
        REQUIRE(front.init(mem, CHANNEL));
        REQUIRE(back.attach(mem, CHANNEL));
        Notify n = front.post_receive_buffers();
        (void)n;
    }
    ~Pair() { std::free(mem); }
    // The backend echoes every good frame to the frontend.
    Served echo() {
        return back.serve_transmit([&](const uint8_t* f, uint16_t len) {
            std::vector<uint8_t> copy(f, f + len);  // off the shared page first
            Notify n{};
            back.send(copy.data(), len, n);
        });
    }
};

std::vector<uint8_t> frame(uint16_t len, uint8_t tag) {
    std::vector<uint8_t> f(len);
    for (uint16_t i = 0; i < len; i++) f[i] = static_cast<uint8_t>(tag + i);
    return f;
}

}  // namespace

TEST_CASE("the backend attaches only to a channel the frontend initialised as a netif", "[pv][netif]") {
    std::vector<uint8_t> buf(CHANNEL + 4096);
    uint8_t* mem = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(buf.data()) + 4095) & ~uintptr_t{4095});
    NetBack back;
    CHECK_FALSE(back.attach(mem, CHANNEL));  // zeroed: no magic yet
    NetFront front;
    REQUIRE(front.init(mem, CHANNEL));
    reinterpret_cast<Control*>(mem)->kind = Kind::Block;
    CHECK_FALSE(back.attach(mem, CHANNEL));
    reinterpret_cast<Control*>(mem)->kind = Kind::Net;
    CHECK(back.attach(mem, CHANNEL));
    CHECK_FALSE(front.init(mem, 0x3000));  // no room for two data pages
}

TEST_CASE("frames go out through tx and come back through rx, byte for byte", "[pv][netif]") {
    Pair p;
    Notify n{};
    for (uint8_t k = 0; k < 3; k++) REQUIRE(p.front.send(frame(60 + k * 500, k).data(), 60 + k * 500, n));
    Served s = p.echo();
    CHECK(s.requests == 3);
    CHECK(p.back.delivered == 3);
    CHECK(p.back.rx_sent == 3);
    std::vector<uint8_t> got(2048);
    for (uint8_t k = 0; k < 3; k++) {
        size_t len = p.front.receive(got.data(), got.size(), n);
        REQUIRE(len == 60u + k * 500u);
        CHECK(std::vector<uint8_t>(got.begin(), got.begin() + len) == frame(60 + k * 500, k));
    }
    CHECK(p.front.receive(got.data(), got.size(), n) == 0);
    p.front.reap_transmitted();
    CHECK(p.front.send_refused == 0);
    CHECK(p.front.receive_errors == 0);
    // Pages come back: many more frames than there are tx or rx pages.
    for (int round = 0; round < 2000; round++) {
        REQUIRE(p.front.send(frame(100, static_cast<uint8_t>(round)).data(), 100, n));
        p.echo();
        REQUIRE(p.front.receive(got.data(), got.size(), n) == 100);
        p.front.reap_transmitted();
    }
    CHECK(p.front.received == 2003);
    CHECK(p.front.send(frame(13, 0).data(), 13, n) == false);      // not a frame
    CHECK(p.front.send(frame(1515, 0).data(), 1515, n) == false);  // does not fit one slot
}

TEST_CASE("malformed tx requests are answered with errors between good ones, and counted", "[pv][netif]") {
    Pair p;
    Notify n{};
    REQUIRE(p.front.send(frame(60, 1).data(), 60, n));
    netif_tx_front_ring& tx = p.front.tx_ring();
    auto inject             = [&](netif_tx_request r) {
        *RING_GET_REQUEST(&tx, tx.req_prod_pvt) = r;
        tx.req_prod_pvt++;
        int notify = 0;
        RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&tx, notify);
        (void)notify;
    };
    inject({600, 0, 0, 1000, 60});               // no such data page
    inject({0, 4000, 0, 1001, 200});             // crosses its page
    inject({0, 0, NETTXF_more_data, 1002, 60});  // several slots
    inject({0, 0, 0, 1003, 9000});               // too long
    REQUIRE(p.front.send(frame(70, 2).data(), 70, n));
    Served s = p.echo();
    CHECK(s.requests == 6);
    CHECK(p.back.delivered == 2);
    CHECK(p.back.tx_refused == 4);
    std::vector<uint8_t> got(2048);
    CHECK(p.front.receive(got.data(), got.size(), n) == 60);
    CHECK(p.front.receive(got.data(), got.size(), n) == 70);
    // The injected ids are no pages in flight: the frontend ignores their answers.
    p.front.reap_transmitted();
    CHECK(p.front.receive_errors == 4);
}

TEST_CASE("a broken tx producer index stops only the reading of the tx ring", "[pv][netif]") {
    Pair p;
    Notify n{};
    REQUIRE(p.front.send(frame(60, 1).data(), 60, n));
    p.front.channel().tx()->req_prod += 1000;
    Served s = p.echo();
    CHECK(s.broken);
    CHECK(p.back.broken == 1);
    CHECK(p.back.delivered == 0);
    // The backend still sends on rx: what it has for the frontend arrives.
    REQUIRE(p.back.send(frame(80, 9).data(), 80, n));
    std::vector<uint8_t> got(2048);
    CHECK(p.front.receive(got.data(), got.size(), n) == 80);
}

TEST_CASE("a malformed rx offer is refused and the frame not written anywhere", "[pv][netif]") {
    uint8_t* mem = static_cast<uint8_t*>(std::aligned_alloc(4096, CHANNEL));
    std::memset(mem, 0, CHANNEL);
    NetFront front;
    NetBack back;
    REQUIRE(front.init(mem, CHANNEL));
    REQUIRE(back.attach(mem, CHANNEL));
    netif_rx_sring* rx   = front.channel().rx();
    rx->ring[0].req.id   = 7;
    rx->ring[0].req.gref = 0xfffff;  // the frontend offers a page that is no data page
    rx->req_prod         = 1;
    Notify n{};
    CHECK_FALSE(back.send(frame(60, 1).data(), 60, n));
    CHECK(back.rx_refused == 1);
    CHECK(rx->ring[0].rsp.status == NETIF_RSP_ERROR);
    CHECK_FALSE(back.send(frame(60, 1).data(), 60, n));  // nothing more offered
    CHECK(back.rx_dropped == 1);
    std::free(mem);
}

#include "drivers/net/bridge.hpp"

TEST_CASE("the bridge learns where a source is and floods what it does not know", "[net][bridge]") {
    using natsume::drivers::net::FLOOD;
    using natsume::drivers::net::MacTable;
    MacTable<2> t;
    const uint8_t a[6] = {0x02, 0, 0, 0, 0, 1}, b[6] = {0x02, 0, 0, 0, 0, 2}, c[6] = {0x02, 0, 0, 0, 0, 3};
    const uint8_t broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, multicast[6] = {0x01, 0, 0x5e, 0, 0, 1};
    CHECK(t.lookup(a) == FLOOD);
    t.learn(a, 0);
    t.learn(b, 1);
    CHECK(t.lookup(a) == 0);
    CHECK(t.lookup(b) == 1);
    CHECK(t.lookup(broadcast) == FLOOD);
    CHECK(t.lookup(multicast) == FLOOD);
    t.learn(broadcast, 1);  // never a source
    CHECK(t.lookup(broadcast) == FLOOD);
    t.learn(a, 1);  // a moved
    CHECK(t.lookup(a) == 1);
    t.learn(c, 0);  // the table is full: the oldest entry (a) goes
    CHECK(t.lookup(c) == 0);
    CHECK(t.lookup(a) == FLOOD);
    CHECK(t.lookup(b) == 1);
}
