#include "tests/vif_common.h"

#include "kernel/hypercall.h"
#include "tests/results.h"

namespace natsume::guest::device_tests {

using ull = unsigned long long;

bool open_front(const char* name, const natsume_boot_channel& ch, drivers::pv::NetFront& f, uint64_t& doorbells) {
    if (!f.init(reinterpret_cast<uint8_t*>(ch.gpa), ch.size)) {
        results::report(name, false, "\"why\":\"channel too small for a netif\"");
        return false;
    }
    ring_if(ch, f.post_receive_buffers().peer, doorbells);
    if (!wait_us([&] { return f.channel().control()->back_state == 1; }, VIF_MEET_US)) {
        results::report(name, false, "\"why\":\"no backend attached within %llu ms\"", ull{VIF_MEET_US / 1000});
        return false;
    }
    return true;
}

void close_front(const natsume_boot_channel& ch, drivers::pv::NetFront& f) {
    f.channel().control()->front_state = VIF_FRONT_DONE;
    (void)hypercall::doorbell(ch.id);
}

}  // namespace natsume::guest::device_tests
