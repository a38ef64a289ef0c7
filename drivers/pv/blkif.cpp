#include "drivers/pv/blkif.hpp"

namespace natsume::drivers::pv {
namespace {
constexpr uint32_t BLK_RINGS = 1;
}  // namespace

bool BlkFront::init(uint8_t* base, uint64_t size) {
    ch_ = BlkChannel{base, layout(size, BLK_RINGS)};
    if (!ch_.layout.ok) return false;
    SHARED_RING_INIT(ch_.ring());
    FRONT_RING_INIT(&ring_, ch_.ring(), PAGE_SIZE);
    Control* c     = ch_.control();
    c->version     = CONTROL_VERSION;
    c->kind        = Kind::Block;
    c->rings       = BLK_RINGS;
    c->front_state = 1;
    __atomic_store_n(&c->magic, CONTROL_MAGIC, __ATOMIC_RELEASE);
    return true;
}

uint64_t BlkFront::disk_sectors() const {
    const Control* c = ch_.control();
    return __atomic_load_n(&c->back_state, __ATOMIC_ACQUIRE) == 1 ? c->disk_sectors : 0;
}

bool BlkFront::read(uint64_t id, uint64_t sector, grant_ref_t first_page, uint8_t pages, Notify& n) {
    n = Notify{false};
    if (pages == 0 || pages > BLKIF_MAX_SEGMENTS_PER_REQUEST || RING_FULL(&ring_) ||
        first_page + pages > ch_.layout.data_pages)
        return false;
    blkif_request* r = RING_GET_REQUEST(&ring_, ring_.req_prod_pvt);
    r->operation     = BLKIF_OP_READ;
    r->nr_segments   = pages;
    r->handle        = 0;
    r->id            = id;
    r->sector_number = sector;
    for (uint8_t i = 0; i < pages; i++) r->seg[i] = blkif_request_segment{first_page + i, 0, SECTORS_PER_PAGE - 1};
    ring_.req_prod_pvt++;
    int notify = 0;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&ring_, notify);
    n.peer = notify != 0;
    return true;
}

bool BlkFront::response(blkif_response& out) {
    RING_IDX prod = ch_.ring()->rsp_prod;
    xen_rmb();
    if (RING_RESPONSE_PROD_OVERFLOW(&ring_, prod)) {
        errors++;
        return false;
    }
    if (ring_.rsp_cons == prod) return false;
    RING_COPY_RESPONSE(&ring_, ring_.rsp_cons, &out);
    ring_.rsp_cons++;
    return true;
}

bool BlkFront::arm_response() {
    int more = 0;
    RING_FINAL_CHECK_FOR_RESPONSES(&ring_, more);
    return more != 0;
}

bool BlkBack::attach(uint8_t* base, uint64_t size, uint64_t disk_sectors) {
    const Control* c = reinterpret_cast<const Control*>(base);
    if (__atomic_load_n(&c->magic, __ATOMIC_ACQUIRE) != CONTROL_MAGIC) return false;
    if (c->version != CONTROL_VERSION || c->kind != Kind::Block || c->rings != BLK_RINGS) return false;
    ch_ = BlkChannel{base, layout(size, BLK_RINGS)};
    if (!ch_.layout.ok) return false;
    BACK_RING_INIT(&ring_, ch_.ring(), PAGE_SIZE);
    sectors_                    = disk_sectors;
    ch_.control()->disk_sectors = disk_sectors;
    __atomic_store_n(&ch_.control()->back_state, 1u, __ATOMIC_RELEASE);
    return true;
}

bool BlkBack::arm_requests() {
    int more = 0;
    RING_FINAL_CHECK_FOR_REQUESTS(&ring_, more);
    return more != 0;
}

}  // namespace natsume::drivers::pv
