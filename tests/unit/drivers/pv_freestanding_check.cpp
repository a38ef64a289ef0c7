// drivers/pv must build where it will run: in the guest kernel, freestanding,
// with newlib's headers and the Xen headers only. This object is compiled with
// the guest kernel's flags and never linked.
#include "drivers/pv/backend.hpp"
#include "drivers/pv/channel_layout.hpp"
#include "drivers/pv/request_check.hpp"

namespace natsume::drivers::pv {
static_assert(sizeof(netif_tx_request) == 12 && sizeof(blkif_request) == 112, "Xen ABI sizes");
static_assert(layout(0x200000, 2).data_pages == 509);

Served check_compiles(netif_tx_back_ring& ring, uint32_t pages) {
    return serve_requests<netif_tx_request, netif_tx_response>(ring, [pages](const netif_tx_request& r) {
        netif_tx_response rsp{};
        rsp.id     = r.id;
        rsp.status = tx_status(check_tx(r, pages));
        return rsp;
    });
}
}  // namespace natsume::drivers::pv
