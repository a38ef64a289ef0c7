// drivers/pv/blkif: a frontend reads a fake disk through a backend on one
// channel in host memory; malformed requests get error statuses; writes are
// refused by the read-only backend.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>

#include "drivers/pv/blkif.hpp"

using namespace natsume::drivers::pv;

namespace {

constexpr uint64_t CHANNEL = 0x200000, DISK = 4096;  // sectors

void fake_sector(uint8_t* dst, uint64_t lba) {
    for (uint32_t i = 0; i < 512; i++) dst[i] = static_cast<uint8_t>(lba * 3 + i);
}

struct Pair {
    uint8_t* mem = static_cast<uint8_t*>(std::aligned_alloc(4096, CHANNEL));
    BlkFront front;
    BlkBack back;
    uint64_t reads = 0;
    Pair() {
        std::memset(mem, 0, CHANNEL);
        REQUIRE(front.init(mem, CHANNEL));
        REQUIRE(front.disk_sectors() == 0);
        REQUIRE(back.attach(mem, CHANNEL, DISK));
    }
    ~Pair() { std::free(mem); }
    Served serve() {
        return back.serve([&](uint64_t sector, uint32_t count, uint8_t* dst) {
            reads++;
            for (uint32_t k = 0; k < count; k++) fake_sector(dst + k * 512, sector + k);
            return true;
        });
    }
};

}  // namespace

TEST_CASE("blkif: reads land in the pages the request names, sector for sector", "[pv][blkif]") {
    Pair p;
    CHECK(p.front.disk_sectors() == DISK);
    Notify n{};
    REQUIRE(p.front.read(7, 100, 0, 11, n));
    REQUIRE(p.front.read(8, DISK - 8, 20, 1, n));
    Served s = p.serve();
    CHECK(s.requests == 2);
    CHECK(p.back.served == 2);
    blkif_response r{};
    REQUIRE(p.front.response(r));
    CHECK(r.id == 7);
    CHECK(r.status == BLKIF_RSP_OKAY);
    uint8_t want[512];
    for (uint32_t k = 0; k < 88; k++) {
        fake_sector(want, 100 + k);
        REQUIRE(std::memcmp(p.front.channel().page(k / 8) + (k % 8) * 512, want, 512) == 0);
    }
    REQUIRE(p.front.response(r));
    CHECK(r.id == 8);
    fake_sector(want, DISK - 1);
    CHECK(std::memcmp(p.front.channel().page(20) + 7 * 512, want, 512) == 0);
    CHECK_FALSE(p.front.response(r));
}

TEST_CASE("blkif: malformed requests and writes are answered with errors, the disk untouched", "[pv][blkif]") {
    Pair p;
    blkif_front_ring& ring = p.front.ring();
    auto inject            = [&](auto edit) {
        blkif_request* q = RING_GET_REQUEST(&ring, ring.req_prod_pvt);
        std::memset(q, 0, sizeof *q);
        q->operation   = BLKIF_OP_READ;
        q->nr_segments = 1;
        q->id          = ring.req_prod_pvt;
        q->seg[0]      = {0, 0, 7};
        edit(*q);
        ring.req_prod_pvt++;
        int notify = 0;
        RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&ring, notify);
        (void)notify;
    };
    inject([](blkif_request& q) { q.operation = BLKIF_OP_WRITE; });    // read-only disk
    inject([](blkif_request& q) { q.operation = BLKIF_OP_DISCARD; });  // not supported
    inject([](blkif_request& q) { q.nr_segments = 200; });             // too many
    inject([](blkif_request& q) { q.seg[0].gref = 100000; });          // no such page
    inject([](blkif_request& q) { q.sector_number = DISK; });          // past the disk
    inject([](blkif_request& q) { q.seg[0].first_sect = 6, q.seg[0].last_sect = 2; });
    inject([](blkif_request&) {});  // a good one
    Served s = p.serve();
    CHECK(s.requests == 7);
    CHECK(p.back.refused == 6);
    CHECK(p.back.served == 1);
    CHECK(p.reads == 1);
    int16_t want[7] = {BLKIF_RSP_EOPNOTSUPP, BLKIF_RSP_EOPNOTSUPP, BLKIF_RSP_ERROR, BLKIF_RSP_ERROR,
                       BLKIF_RSP_ERROR,      BLKIF_RSP_ERROR,      BLKIF_RSP_OKAY};
    for (int i = 0; i < 7; i++) {
        blkif_response r{};
        REQUIRE(p.front.response(r));
        CHECK(r.status == want[i]);
    }
    // A broken producer index: nothing read, counted once.
    p.front.channel().ring()->req_prod += 500;
    CHECK(p.serve().broken);
    CHECK(p.back.broken == 1);
}
