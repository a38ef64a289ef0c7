// The backend's side of one Xen shared ring: take every request the frontend
// has posted, each copied out of shared memory once, hand it to `serve`, put
// the response `serve` returns, and tell whether the frontend wants an
// interrupt. `serve` decides on its own copy (request_check.hpp): nothing the
// frontend changes in the ring afterwards can change the decision.
#pragma once
#include <stdint.h>

#include "drivers/pv/xen_rings.hpp"

namespace natsume::drivers::pv {

// What a call on a ring asks of its caller.
struct Notify {
    bool peer;  // ring the peer's doorbell
};

struct Served {
    uint32_t requests;  // taken from the ring in this call
    bool notify;        // the frontend asked for an interrupt (rsp_event)
    bool broken;        // the producer index claims more requests than the ring holds: nothing read
};

// BackRing: a Xen back ring (netif_tx_back_ring_t, blkif_back_ring_t, ...);
// Serve: Response(const Request&). Reads at most one ring's worth, so a
// frontend that keeps producing cannot hold the backend in the loop.
template <typename Request, typename Response, typename BackRing, typename Serve>
Served serve_requests(BackRing& ring, Serve serve) {
    Served out{0, false, false};
    RING_IDX prod = ring.sring->req_prod;
    xen_rmb();  // the requests are read after the index that covers them
    if (RING_REQUEST_PROD_OVERFLOW(&ring, prod)) {
        out.broken = true;
        return out;
    }
    while (ring.req_cons != prod && !RING_REQUEST_CONS_OVERFLOW(&ring, ring.req_cons)) {
        Request req;
        RING_COPY_REQUEST(&ring, ring.req_cons, &req);
        ring.req_cons++;
        *RING_GET_RESPONSE(&ring, ring.rsp_prod_pvt) = serve(static_cast<const Request&>(req));
        ring.rsp_prod_pvt++;
        out.requests++;
    }
    int notify = 0;
    RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&ring, notify);
    out.notify = notify != 0;
    return out;
}

}  // namespace natsume::drivers::pv
