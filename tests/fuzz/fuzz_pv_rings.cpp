// The backends of the paravirtual rings (drivers/pv/netif, blkif): whatever a
// hostile frontend writes into the shared ring pages. The input is laid over
// a netif tx ring page, its rx ring page and a blkif ring page (4096 bytes
// each; a short input leaves the rest as the frontend initialised it).
// Asserts: every frame the netback delivers is 14-1514 bytes inside the data
// pages; every disk read the blkback makes lies inside the disk and its
// destination inside the data pages; one pass serves at most a ring's worth;
// the backends answer rather than crash (ASan/UBSan watch the rest).
#include <cstdlib>
#include <cstring>

#include "drivers/pv/blkif.hpp"
#include "drivers/pv/netif.hpp"

#include "fuzz_util.hpp"

using namespace natsume::drivers::pv;

namespace {

constexpr size_t PAGE           = 4096;
constexpr uint64_t DISK_SECTORS = 64;

struct Region {
    uint8_t* base;
    size_t size;
    explicit Region(size_t pages)
        : base(static_cast<uint8_t*>(std::aligned_alloc(PAGE, pages * PAGE))), size(pages * PAGE) {
        std::memset(base, 0, size);
    }
    ~Region() { std::free(base); }
    bool holds(const uint8_t* p, size_t n) const { return p >= base && n <= size && p + n <= base + size; }
};

void overlay(uint8_t* page, const uint8_t*& data, size_t& size) {
    size_t n = size < PAGE ? size : PAGE;
    std::memcpy(page, data, n);
    data += n;
    size -= n;
}

void net(const uint8_t*& data, size_t& size) {
    Region r(5);  // control, tx ring, rx ring, two data pages
    NetFront front;
    FUZZ_CHECK(front.init(r.base, r.size));
    (void)front.post_receive_buffers();
    const Layout& l = front.channel().layout;
    overlay(r.base + l.ring_offset[0], data, size);
    overlay(r.base + l.ring_offset[1], data, size);
    NetBack back;
    FUZZ_CHECK(back.attach(r.base, r.size));
    const uint8_t* first_data = r.base + l.data_offset;
    for (int pass = 0; pass < 2; pass++) {
        Served s = back.serve_transmit([&](const uint8_t* f, uint16_t len) {
            FUZZ_CHECK(len >= ETH_MIN && len <= ETH_MAX);
            FUZZ_CHECK(f >= first_data && r.holds(f, len));
        });
        FUZZ_CHECK(s.requests <= 256);
        uint8_t frame[64] = {};
        Notify n{};
        (void)back.send(frame, sizeof frame, n);
    }
}

void blk(const uint8_t*& data, size_t& size) {
    Region r(4);  // control, ring, two data pages
    BlkFront front;
    FUZZ_CHECK(front.init(r.base, r.size));
    const Layout& l = front.channel().layout;
    overlay(r.base + l.ring_offset[0], data, size);
    BlkBack back;
    FUZZ_CHECK(back.attach(r.base, r.size, DISK_SECTORS));
    const uint8_t* first_data = r.base + l.data_offset;
    Served s                  = back.serve([&](uint64_t sector, uint32_t count, uint8_t* dst) {
        FUZZ_CHECK(count >= 1 && count <= SECTORS_PER_PAGE && sector + count <= DISK_SECTORS);
        FUZZ_CHECK(dst >= first_data && r.holds(dst, count * SECTOR_SIZE));
        std::memset(dst, 0xa5, count * SECTOR_SIZE);
        return true;
    });
    FUZZ_CHECK(s.requests <= 32);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    net(data, size);
    blk(data, size);
    return 0;
}
