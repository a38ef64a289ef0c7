#include "tests/channel_common.h"

#include "arch/idt.h"
#include "devices/lapic.h"
#include "kernel/hypercall.h"
#include "tests/device_common.h"
#include "tests/results.h"

namespace natsume::guest::device_tests {
namespace {

volatile uint64_t g_doorbells = 0;

void on_doorbell(idt::InterruptFrame&) {
    g_doorbells = g_doorbells + 1;
    lapic::eoi();
}

}  // namespace

uint64_t doorbells_received() { return g_doorbells; }

void install_doorbell_handler() { idt::set_handler(idt::VECTOR_DOORBELL, on_doorbell); }

const natsume_boot_channel* open_first_channel(const char* name, uint32_t role) {
    const boot::Context& ctx = boot::context();
    if (!in_partition() || ctx.channel_count == 0 || (role != ANY_ROLE && ctx.channels[0].role != role)) {
        results::report(name, false, "\"why\":\"no channel of this role: run in a partition the file gives one\"");
        return nullptr;
    }
    install_doorbell_handler();
    if (hypercall::channel_bind(ctx.channels[0].id, idt::VECTOR_DOORBELL) != NATSUME_OK) {
        results::report(name, false, "\"why\":\"could not bind the doorbell\"");
        return nullptr;
    }
    return &ctx.channels[0];
}

void ring_if(const natsume_boot_channel& ch, bool wanted, uint64_t& rung) {
    if (!wanted) return;
    (void)hypercall::doorbell(ch.id);
    rung++;
}

}  // namespace natsume::guest::device_tests
