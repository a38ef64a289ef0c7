// drivers/pv: the channel layout, every request check, and the backend's
// ring loop on real Xen rings in host memory, with a frontend that misbehaves.
#include <catch2/catch.hpp>
#include <cstring>
#include <memory>

#include "drivers/pv/backend.hpp"
#include "drivers/pv/channel_layout.hpp"
#include "drivers/pv/request_check.hpp"

using namespace natsume::drivers::pv;

TEST_CASE("a channel holds its control page, its rings and the data pages grant references name", "[pv]") {
    constexpr Layout net = layout(0x200000, 2);
    STATIC_REQUIRE(net.ok);
    CHECK(net.ring_offset[0] == 0x1000);
    CHECK(net.ring_offset[1] == 0x2000);
    CHECK(net.data_offset == 0x3000);
    CHECK(net.data_pages == 509);
    constexpr Layout blk = layout(0x200000, 1);
    CHECK(blk.data_offset == 0x2000);
    CHECK(blk.data_pages == 510);
    CHECK_FALSE(layout(0x2000, 1).ok);  // control and ring, no data page
    CHECK(layout(0x3000, 1).ok);
    CHECK_FALSE(layout(0x200000, 0).ok);
    CHECK_FALSE(layout(0x200000, 3).ok);
}

TEST_CASE("netif tx requests: a frame in one page of the channel, nothing else", "[pv][netif]") {
    const uint32_t pages = 509;
    netif_tx_request ok{};
    ok.gref   = 508;
    ok.offset = 4096 - 1514;
    ok.size   = 1514;
    ok.flags  = NETTXF_csum_blank | NETTXF_data_validated;
    CHECK(check_tx(ok, pages) == TxVerdict::Ok);
    CHECK(tx_status(TxVerdict::Ok) == NETIF_RSP_OKAY);
    auto with = [&](auto edit) {
        netif_tx_request r = ok;
        edit(r);
        return check_tx(r, pages);
    };
    CHECK(with([](netif_tx_request& r) { r.gref = 509; }) == TxVerdict::BadRef);
    CHECK(with([](netif_tx_request& r) { r.gref = 0xffffffffu; }) == TxVerdict::BadRef);
    CHECK(with([](netif_tx_request& r) { r.offset = 4096 - 1513; }) == TxVerdict::CrossesPage);
    CHECK(with([](netif_tx_request& r) {
              r.offset = 0xffff;
              r.size   = 60;
          }) == TxVerdict::CrossesPage);
    CHECK(with([](netif_tx_request& r) { r.size = 13; }) == TxVerdict::TooShort);
    CHECK(with([](netif_tx_request& r) { r.size = 1515; }) == TxVerdict::TooLong);
    CHECK(with([](netif_tx_request& r) {
              r.size   = 0xffff;
              r.offset = 0;
          }) == TxVerdict::TooLong);
    CHECK(with([](netif_tx_request& r) { r.flags |= NETTXF_more_data; }) == TxVerdict::MultiSlot);
    CHECK(with([](netif_tx_request& r) { r.flags |= NETTXF_extra_info; }) == TxVerdict::ExtraInfo);
    CHECK(with([](netif_tx_request& r) { r.flags = 0x80; }) == TxVerdict::UnknownFlags);
    CHECK(tx_status(TxVerdict::BadRef) == NETIF_RSP_ERROR);
    netif_rx_request rx{};
    rx.gref = 508;
    CHECK(check_rx(rx, pages) == RxVerdict::Ok);
    rx.gref = 509;
    CHECK(check_rx(rx, pages) == RxVerdict::BadRef);
}

TEST_CASE("blkif requests: reads and writes of whole sectors inside the disk and the channel", "[pv][blkif]") {
    const uint32_t pages = 510;
    const uint64_t disk  = 131072;  // 64 MiB
    blkif_request ok{};
    ok.operation     = BLKIF_OP_READ;
    ok.nr_segments   = BLKIF_MAX_SEGMENTS_PER_REQUEST;
    ok.sector_number = disk - 88;
    for (uint8_t i = 0; i < ok.nr_segments; i++) ok.seg[i] = {static_cast<grant_ref_t>(i), 0, 7};
    CHECK(request_sectors(ok) == 88);
    CHECK(check_blk(ok, pages, disk) == BlkVerdict::Ok);
    auto with = [&](auto edit) {
        blkif_request r = ok;
        edit(r);
        return check_blk(r, pages, disk);
    };
    CHECK(with([](blkif_request& r) { r.operation = BLKIF_OP_WRITE; }) == BlkVerdict::Ok);
    CHECK(with([](blkif_request& r) { r.operation = BLKIF_OP_DISCARD; }) == BlkVerdict::BadOperation);
    CHECK(with([](blkif_request& r) { r.operation = BLKIF_OP_INDIRECT; }) == BlkVerdict::BadOperation);
    CHECK(with([](blkif_request& r) { r.operation = 0xff; }) == BlkVerdict::BadOperation);
    CHECK(with([](blkif_request& r) { r.nr_segments = 0; }) == BlkVerdict::NoSegments);
    CHECK(with([](blkif_request& r) { r.nr_segments = 12; }) == BlkVerdict::TooManySegments);
    CHECK(with([](blkif_request& r) { r.nr_segments = 0xff; }) == BlkVerdict::TooManySegments);
    CHECK(with([](blkif_request& r) { r.seg[10].gref = 510; }) == BlkVerdict::BadRef);
    CHECK(with([](blkif_request& r) { r.seg[3].first_sect = 5, r.seg[3].last_sect = 4; }) == BlkVerdict::BadSectors);
    CHECK(with([](blkif_request& r) { r.seg[0].last_sect = 8; }) == BlkVerdict::BadSectors);
    CHECK(with([](blkif_request& r) { r.sector_number = disk - 87; }) == BlkVerdict::BeyondDisk);
    CHECK(with([](blkif_request& r) { r.sector_number = ~0ull - 10; }) == BlkVerdict::BeyondDisk);  // no wrap
    CHECK(blk_status(BlkVerdict::BadOperation) == BLKIF_RSP_EOPNOTSUPP);
    CHECK(blk_status(BlkVerdict::BeyondDisk) == BLKIF_RSP_ERROR);
    CHECK(blk_status(BlkVerdict::Ok) == BLKIF_RSP_OKAY);
}

namespace {

// One page holding a netif tx shared ring, a frontend and a backend on it.
struct TxRing {
    std::unique_ptr<uint8_t[]> page{new uint8_t[PAGE_SIZE]()};
    netif_tx_sring* sring = reinterpret_cast<netif_tx_sring*>(page.get());
    netif_tx_front_ring front{};
    netif_tx_back_ring back{};

    TxRing() {
        SHARED_RING_INIT(sring);
        FRONT_RING_INIT(&front, sring, PAGE_SIZE);
        BACK_RING_INIT(&back, sring, PAGE_SIZE);
    }
    bool post(uint16_t id, grant_ref_t gref, uint16_t size) {
        netif_tx_request* r = RING_GET_REQUEST(&front, front.req_prod_pvt);
        *r                  = netif_tx_request{gref, 0, 0, id, size};
        front.req_prod_pvt++;
        int notify = 0;
        RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&front, notify);
        return notify != 0;
    }
};

netif_tx_response answer(const netif_tx_request& r, uint32_t pages, uint32_t& bad) {
    TxVerdict v = check_tx(r, pages);
    if (v != TxVerdict::Ok) bad++;
    netif_tx_response rsp{};
    rsp.id     = r.id;
    rsp.status = tx_status(v);
    return rsp;
}

}  // namespace

TEST_CASE("the backend answers every posted request, malformed ones with an error, and goes on", "[pv][ring]") {
    TxRing t;
    REQUIRE(RING_SIZE(&t.back) == 256);
    CHECK(t.post(1, 3, 60));           // the backend's req_event asks for the first request's notification
    CHECK_FALSE(t.post(2, 9999, 60));  // until the backend looks again, no further notifications
    t.post(3, 4, 10);
    uint32_t bad = 0;
    Served s     = serve_requests<netif_tx_request, netif_tx_response>(
        t.back, [&](const netif_tx_request& r) { return answer(r, 509, bad); });
    CHECK(s.requests == 3);
    CHECK_FALSE(s.broken);
    CHECK(s.notify);  // the frontend's rsp_event wants the first response
    CHECK(bad == 2);
    REQUIRE(RING_HAS_UNCONSUMED_RESPONSES(&t.front) == 3);
    int16_t status[3];
    uint16_t ids[3];
    for (int i = 0; i < 3; i++) {
        const netif_tx_response* r = RING_GET_RESPONSE(&t.front, t.front.rsp_cons + i);
        status[i]                  = r->status;
        ids[i]                     = r->id;
    }
    CHECK(ids[0] == 1);
    CHECK(ids[2] == 3);
    CHECK(status[0] == NETIF_RSP_OKAY);
    CHECK(status[1] == NETIF_RSP_ERROR);
    CHECK(status[2] == NETIF_RSP_ERROR);
    // Nothing new: nothing served, nothing to notify.
    s = serve_requests<netif_tx_request, netif_tx_response>(
        t.back, [&](const netif_tx_request& r) { return answer(r, 509, bad); });
    CHECK(s.requests == 0);
}

TEST_CASE("a producer index past the ring's size is refused before any slot is read", "[pv][ring]") {
    TxRing t;
    t.post(1, 3, 60);
    t.sring->req_prod = t.back.rsp_prod_pvt + 257;  // a hostile frontend's index
    uint32_t calls    = 0;
    Served s          = serve_requests<netif_tx_request, netif_tx_response>(t.back, [&](const netif_tx_request& r) {
        calls++;
        return answer(r, 509, calls);
    });
    CHECK(s.broken);
    CHECK(s.requests == 0);
    CHECK(calls == 0);
    // A full ring of requests (256) is fine, and one call takes at most that.
    t.sring->req_prod = t.back.rsp_prod_pvt + 256;
    s                 = serve_requests<netif_tx_request, netif_tx_response>(
        t.back, [&](const netif_tx_request& r) { return answer(r, 509, calls); });
    CHECK_FALSE(s.broken);
    CHECK(s.requests == 256);
}

TEST_CASE("the request the backend decides on is its own copy", "[pv][ring]") {
    TxRing t;
    t.post(7, 3, 60);
    netif_tx_request* slot = RING_GET_REQUEST(&t.back, t.back.req_cons);
    Served s = serve_requests<netif_tx_request, netif_tx_response>(t.back, [&](const netif_tx_request& r) {
        slot->gref = 9999;  // the frontend rewrites the slot after the copy was taken
        netif_tx_response rsp{};
        rsp.id     = r.id;
        rsp.status = tx_status(check_tx(r, 509));
        return rsp;
    });
    CHECK(s.requests == 1);
    CHECK(RING_GET_RESPONSE(&t.front, t.front.rsp_cons)->status == NETIF_RSP_OKAY);
}
