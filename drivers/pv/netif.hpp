// A paravirtual network interface over one channel: Xen netif tx and rx rings
// (drivers/pv/xen_rings.hpp) in the channel layout of channel_layout.hpp.
// NetFront is the partition that uses the interface, NetBack the one that
// serves it (bridging to a NIC, or to its own stack). Neither rings a
// doorbell itself: each call says whether the peer asked to be notified, and
// the caller rings (the guest kernel's hypercall). Pure memory code,
// host-tested with both ends in one address space.
//
// Data pages: the frontend uses the first half for frames it sends (tx) and
// the second half for frames it receives (rx); the backend checks only that a
// reference names a data page, so a frontend that mixes them hurts itself.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "drivers/pv/backend.hpp"
#include "drivers/pv/channel_layout.hpp"
#include "drivers/pv/request_check.hpp"
#include "drivers/pv/xen_rings.hpp"

namespace natsume::drivers::pv {

// The two rings and the data pages of a netif channel mapped at `base`.
struct NetChannel {
    uint8_t* base = nullptr;
    Layout layout = {};
    Control* control() const { return reinterpret_cast<Control*>(base); }
    netif_tx_sring* tx() const { return reinterpret_cast<netif_tx_sring*>(base + layout.ring_offset[0]); }
    netif_rx_sring* rx() const { return reinterpret_cast<netif_rx_sring*>(base + layout.ring_offset[1]); }
    // Only for a reference check_tx/check_rx accepted.
    uint8_t* page(grant_ref_t ref) const { return base + layout.data_offset + size_t{ref} * PAGE_SIZE; }
};

class NetFront {
public:
    static constexpr uint32_t MAX_PAGES_PER_DIRECTION = 256;  // a ring's worth each way

    // Lays out the channel of `size` bytes at `base` and initialises both rings;
    // false when the channel is too small for two rings and two data pages.
    bool init(uint8_t* base, uint64_t size);
    // Offers every free rx page to the backend.
    Notify post_receive_buffers();
    // Copies `frame` into a free tx page and posts it; false when the frame
    // does not fit one slot or every tx page is in flight.
    bool send(const uint8_t* frame, uint16_t len, Notify& n);
    // Takes the backend's tx responses: frees their pages, counts refusals.
    void reap_transmitted();
    // Copies one received frame into `out` and re-offers its page; 0 when none
    // is waiting (a frame longer than `cap` is dropped and counted).
    size_t receive(uint8_t* out, size_t cap, Notify& n);
    // Tells the backend this side wants a notification for the next rx frame
    // (rsp_event); true when one arrived meanwhile.
    bool arm_receive();

    const NetChannel& channel() const { return ch_; }
    netif_tx_front_ring& tx_ring() { return tx_; }  // for tests that misbehave on purpose

    uint64_t sent = 0, send_refused = 0, received = 0, receive_errors = 0;

private:
    NetChannel ch_;
    netif_tx_front_ring tx_{};
    netif_rx_front_ring rx_{};
    uint32_t tx_pages_ = 0, rx_pages_ = 0;
    uint16_t tx_free_[MAX_PAGES_PER_DIRECTION]  = {};  // stack of free tx page indexes
    uint32_t tx_free_count_                     = 0;
    bool tx_in_flight_[MAX_PAGES_PER_DIRECTION] = {};  // posted, not yet answered
    uint32_t rx_posted_                         = 0;   // rx pages offered so far (first pass)
};

class NetBack {
public:
    // Attaches to a channel the frontend initialised (Control magic, version,
    // kind and ring count checked); false when it has not, or wrongly. `mac`,
    // when given, is the address offered to the frontend (Control::mac), e.g.
    // a bridged NIC's own when the frontend is the only station behind it.
    bool attach(uint8_t* base, uint64_t size, const uint8_t* mac = nullptr);
    // Serves every posted tx request: checked, then `deliver(frame, len)` for
    // the good ones; the bad ones answered NETIF_RSP_ERROR and counted.
    template <typename Deliver>
    Served serve_transmit(Deliver deliver);
    // Puts `frame` into the next rx buffer the frontend offered; false (and
    // counted) when none is offered or the offer is malformed.
    bool send(const uint8_t* frame, uint16_t len, Notify& n);
    // Asks for a notification at the next tx request (req_event); true when
    // one arrived meanwhile.
    bool arm_transmit();

    uint64_t delivered = 0, tx_refused = 0, rx_sent = 0, rx_dropped = 0, rx_refused = 0, broken = 0;

private:
    NetChannel ch_;
    netif_tx_back_ring tx_{};
    netif_rx_back_ring rx_{};
};

template <typename Deliver>
Served NetBack::serve_transmit(Deliver deliver) {
    Served s = serve_requests<netif_tx_request, netif_tx_response>(tx_, [&](const netif_tx_request& r) {
        netif_tx_response rsp{};
        rsp.id            = r.id;
        TxVerdict verdict = check_tx(r, ch_.layout.data_pages);
        if (verdict == TxVerdict::Ok) {
            deliver(static_cast<const uint8_t*>(ch_.page(r.gref) + r.offset), r.size);
            delivered++;
        } else {
            tx_refused++;
        }
        rsp.status = tx_status(verdict);
        return rsp;
    });
    if (s.broken) broken++;
    return s;
}

}  // namespace natsume::drivers::pv
