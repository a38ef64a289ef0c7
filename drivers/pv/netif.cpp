#include "drivers/pv/netif.hpp"

#include <string.h>

namespace natsume::drivers::pv {
namespace {

constexpr uint32_t NET_RINGS = 2;  // tx, rx

uint32_t at_most(uint32_t v, uint32_t cap) { return v < cap ? v : cap; }

}  // namespace

// ---- frontend -------------------------------------------------------------

bool NetFront::init(uint8_t* base, uint64_t size) {
    ch_ = NetChannel{base, layout(size, NET_RINGS)};
    if (!ch_.layout.ok || ch_.layout.data_pages < 2) return false;
    tx_pages_ = at_most(ch_.layout.data_pages / 2, MAX_PAGES_PER_DIRECTION);
    rx_pages_ = at_most(ch_.layout.data_pages - tx_pages_, MAX_PAGES_PER_DIRECTION);
    SHARED_RING_INIT(ch_.tx());
    SHARED_RING_INIT(ch_.rx());
    FRONT_RING_INIT(&tx_, ch_.tx(), PAGE_SIZE);
    FRONT_RING_INIT(&rx_, ch_.rx(), PAGE_SIZE);
    if (tx_pages_ > RING_SIZE(&tx_)) tx_pages_ = RING_SIZE(&tx_);
    if (rx_pages_ > RING_SIZE(&rx_)) rx_pages_ = RING_SIZE(&rx_);
    tx_free_count_ = 0;
    for (uint32_t i = tx_pages_; i > 0; i--) tx_free_[tx_free_count_++] = static_cast<uint16_t>(i - 1);
    for (bool& f : tx_in_flight_) f = false;
    rx_posted_     = 0;
    Control* c     = ch_.control();
    c->version     = CONTROL_VERSION;
    c->kind        = Kind::Net;
    c->rings       = NET_RINGS;
    c->front_state = 1;
    // Last, with release: a backend that sees the magic sees initialised rings.
    __atomic_store_n(&c->magic, CONTROL_MAGIC, __ATOMIC_RELEASE);
    return true;
}

Notify NetFront::post_receive_buffers() {
    while (rx_posted_ < rx_pages_ && !RING_FULL(&rx_)) {
        netif_rx_request* r = RING_GET_REQUEST(&rx_, rx_.req_prod_pvt);
        r->id               = static_cast<uint16_t>(rx_posted_);
        r->gref             = tx_pages_ + rx_posted_;
        rx_.req_prod_pvt++;
        rx_posted_++;
    }
    int notify = 0;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&rx_, notify);
    return Notify{notify != 0};
}

bool NetFront::send(const uint8_t* frame, uint16_t len, Notify& n) {
    n = Notify{false};
    if (len < ETH_MIN || len > ETH_MAX || tx_free_count_ == 0 || RING_FULL(&tx_)) return false;
    uint16_t id       = tx_free_[--tx_free_count_];
    tx_in_flight_[id] = true;
    memcpy(ch_.page(id), frame, len);
    netif_tx_request* r = RING_GET_REQUEST(&tx_, tx_.req_prod_pvt);
    *r                  = netif_tx_request{id, 0, 0, id, len};
    tx_.req_prod_pvt++;
    int notify = 0;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&tx_, notify);
    n.peer = notify != 0;
    sent++;
    return true;
}

// The backend's responses are as untrusted as the frontend's requests are to
// it: an id that is not a page in flight is counted and ignored.
void NetFront::reap_transmitted() {
    RING_IDX prod = ch_.tx()->rsp_prod;
    xen_rmb();
    if (RING_RESPONSE_PROD_OVERFLOW(&tx_, prod)) {
        receive_errors++;
        return;
    }
    while (tx_.rsp_cons != prod) {
        netif_tx_response rsp;
        RING_COPY_RESPONSE(&tx_, tx_.rsp_cons, &rsp);
        tx_.rsp_cons++;
        if (rsp.status == NETIF_RSP_NULL) continue;  // an extra-info slot's answer: none are sent
        if (rsp.id >= tx_pages_ || !tx_in_flight_[rsp.id]) {
            receive_errors++;
            continue;
        }
        tx_in_flight_[rsp.id]      = false;
        tx_free_[tx_free_count_++] = rsp.id;
        if (rsp.status != NETIF_RSP_OKAY) send_refused++;
    }
}

size_t NetFront::receive(uint8_t* out, size_t cap, Notify& n) {
    n             = Notify{false};
    RING_IDX prod = ch_.rx()->rsp_prod;
    xen_rmb();
    if (RING_RESPONSE_PROD_OVERFLOW(&rx_, prod)) {
        receive_errors++;
        return 0;
    }
    while (rx_.rsp_cons != prod) {
        netif_rx_response rsp;
        RING_COPY_RESPONSE(&rx_, rx_.rsp_cons, &rsp);
        rx_.rsp_cons++;
        bool ok = rsp.id < rx_pages_ && rsp.status > 0 && rsp.offset < PAGE_SIZE &&
                  uint32_t{rsp.offset} + static_cast<uint32_t>(rsp.status) <= PAGE_SIZE;
        size_t len = ok ? static_cast<size_t>(rsp.status) : 0;
        if (ok && len <= cap) memcpy(out, ch_.page(tx_pages_ + rsp.id) + rsp.offset, len);
        if (rsp.id < rx_pages_) {  // give the page back for the next frame
            netif_rx_request* r = RING_GET_REQUEST(&rx_, rx_.req_prod_pvt);
            r->id               = rsp.id;
            r->gref             = tx_pages_ + rsp.id;
            rx_.req_prod_pvt++;
            int notify = 0;
            RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&rx_, notify);
            n.peer = n.peer || notify != 0;
        }
        if (!ok || len > cap) {
            receive_errors++;
            continue;
        }
        received++;
        return len;
    }
    return 0;
}

bool NetFront::arm_receive() {
    int more = 0;
    RING_FINAL_CHECK_FOR_RESPONSES(&rx_, more);
    return more != 0;
}

// ---- backend --------------------------------------------------------------

bool NetBack::attach(uint8_t* base, uint64_t size, const uint8_t* mac) {
    const Control* c = reinterpret_cast<const Control*>(base);
    if (__atomic_load_n(&c->magic, __ATOMIC_ACQUIRE) != CONTROL_MAGIC) return false;
    if (c->version != CONTROL_VERSION || c->kind != Kind::Net || c->rings != NET_RINGS) return false;
    ch_ = NetChannel{base, layout(size, NET_RINGS)};
    if (!ch_.layout.ok) return false;
    BACK_RING_INIT(&tx_, ch_.tx(), PAGE_SIZE);
    BACK_RING_INIT(&rx_, ch_.rx(), PAGE_SIZE);
    if (mac) memcpy(ch_.control()->mac, mac, sizeof ch_.control()->mac);
    // Last, with release: a frontend that sees the state sees the address.
    __atomic_store_n(&ch_.control()->back_state, 1u, __ATOMIC_RELEASE);
    return true;
}

bool NetBack::send(const uint8_t* frame, uint16_t len, Notify& n) {
    n             = Notify{false};
    RING_IDX prod = ch_.rx()->req_prod;
    xen_rmb();
    if (RING_REQUEST_PROD_OVERFLOW(&rx_, prod)) {
        broken++;
        rx_dropped++;
        return false;
    }
    if (rx_.req_cons == prod || len > PAGE_SIZE) {
        rx_dropped++;
        return false;
    }
    netif_rx_request req;
    RING_COPY_REQUEST(&rx_, rx_.req_cons, &req);
    rx_.req_cons++;
    netif_rx_response rsp{};
    rsp.id = req.id;
    if (check_rx(req, ch_.layout.data_pages) == RxVerdict::Ok) {
        memcpy(ch_.page(req.gref), frame, len);
        rsp.status = static_cast<int16_t>(len);
        rx_sent++;
    } else {
        rsp.status = NETIF_RSP_ERROR;
        rx_refused++;
    }
    *RING_GET_RESPONSE(&rx_, rx_.rsp_prod_pvt) = rsp;
    rx_.rsp_prod_pvt++;
    int notify = 0;
    RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&rx_, notify);
    n.peer = notify != 0;
    return rsp.status > 0;
}

bool NetBack::arm_transmit() {
    int more = 0;
    RING_FINAL_CHECK_FOR_REQUESTS(&tx_, more);
    return more != 0;
}

}  // namespace natsume::drivers::pv
