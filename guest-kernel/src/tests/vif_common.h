// The netif frontends of the guest tests: opening one on a channel, and one
// request/response exchange over it (tests/vif_test.cpp, tests/vif_bridge.cpp).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include <natsume/bootinfo.h>

#include "drivers/pv/netif.hpp"

#include "tests/channel_common.h"
#include "tests/device_common.h"

namespace natsume::guest::device_tests {

inline constexpr uint64_t VIF_MEET_US    = 5000000;
inline constexpr uint64_t VIF_ROUND_US   = 50000;
inline constexpr uint32_t VIF_FRONT_DONE = 2;  // Control::front_state once the frontend has finished

// Lays out the channel as a netif, offers the rx buffers and waits for the
// backend to attach; on failure reports `name` failed and returns false.
bool open_front(const char* name, const natsume_boot_channel& ch, drivers::pv::NetFront& f, uint64_t& doorbells);

// Tells the backend this side has finished and rings it once more.
void close_front(const natsume_boot_channel& ch, drivers::pv::NetFront& f);

// Sends `len` bytes of `frame` and waits for a received frame `match`
// accepts (copied into `scratch`; others are dropped); false on a timeout.
template <typename Match>
bool exchange(const natsume_boot_channel& ch, drivers::pv::NetFront& f, const uint8_t* frame, uint16_t len,
              uint8_t* scratch, size_t cap, Match match, uint64_t& doorbells, uint64_t us = VIF_ROUND_US) {
    namespace pv = drivers::pv;
    pv::Notify n{};
    if (!f.send(frame, len, n)) return false;
    ring_if(ch, n.peer, doorbells);
    bool ok = wait_us(
        [&] {
            for (;;) {
                pv::Notify rn{};
                size_t got = f.receive(scratch, cap, rn);
                if (rn.peer) ring_if(ch, true, doorbells);
                if (got == 0) {
                    (void)f.arm_receive();  // the next frame notifies; a frame that slipped in is read next time
                    return false;
                }
                if (match(scratch, got)) return true;
            }
        },
        us);
    f.reap_transmitted();
    return ok;
}

}  // namespace natsume::guest::device_tests
