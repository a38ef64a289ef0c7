#include "arch/x86/smp.hpp"

#include "drivers/x86/cpu.hpp"

#include "arch/x86/host_layout.h"
#include "arch/x86/lapic.hpp"
#include "arch/x86/percpu.hpp"
#include "arch/x86/timing.hpp"
#include "base/log.hpp"

extern "C" {
extern const uint8_t ap_trampoline_start[], ap_trampoline_end[];
extern uint64_t ap_boot_stack_top;
}

namespace natsume::x86::smp {
ApContinuation ap_continuation;
void set_ap_continuation(ApContinuation fn) { ap_continuation = fn; }
namespace {
// host_layout.h, shared with entry.S; SIPI vector = page number.
constexpr uint64_t TRAMPOLINE_PHYS = AP_TRAMPOLINE_PHYS;
constexpr uint8_t TRAMPOLINE_PAGE  = TRAMPOLINE_PHYS >> 12;
// SDM 8.4.4.1: 10 ms after INIT, 200 us between the SIPIs.
constexpr uint64_t INIT_DELAY_US = 10000, SIPI_DELAY_US = 200;
constexpr uint64_t ONLINE_TIMEOUT_US = 200000;

// Read by the starting core: published before its IPIs (release), read
// before it uses the slot (acquire).
std::atomic<uint32_t> ap_next_index;
std::atomic<bool> ap_start_closed;
// cli; hlt; jmp back to the hlt: what a late start-up IPI finds at the trampoline.
constexpr uint8_t HALT_LOOP[] = {0xfa, 0xf4, 0xeb, 0xfd};

bool online(uint32_t index) { return cpus[index].shared.observe() != CpuState::Absent; }

void fail(PerCpu& c, const char* why) {
    log::format(c.shared.failure, sizeof c.shared.failure, "%s", why);
    c.shared.publish(CpuState::Failed);
}
}  // namespace

bool start_ap(uint32_t index, uint32_t apic_id) {
    PerCpu& c        = cpus[index];
    c.shared.index   = index;
    c.shared.apic_id = apic_id;
    c.shared.publish(CpuState::Absent);
    auto* dst = reinterpret_cast<uint8_t*>(TRAMPOLINE_PHYS);
    for (const uint8_t* p = ap_trampoline_start; p < ap_trampoline_end; p++) *dst++ = *p;
    ap_boot_stack_top = stack_top(c.stack, sizeof c.stack);  // read by the trampoline, ordered by the release below
    ap_next_index.store(index, std::memory_order_release);
    // The trampoline copy and the slot are in memory before the IPI's MMIO write.
    __atomic_thread_fence(__ATOMIC_SEQ_CST);

    if (!lapic::send_init(apic_id)) {
        fail(c, "INIT IPI was not accepted by the local APIC");
        return false;
    }
    delay_us(INIT_DELAY_US);
    for (int sipi = 0; sipi < 2 && !online(index); sipi++) {
        if (!lapic::send_sipi(apic_id, TRAMPOLINE_PAGE)) {
            fail(c, "SIPI was not accepted by the local APIC");
            return false;
        }
        delay_us(SIPI_DELAY_US);
    }
    if (!wait_until(ONLINE_TIMEOUT_US, [index] { return online(index); })) {
        fail(c, "did not come online within 200 ms of INIT-SIPI-SIPI");
        return false;
    }
    return true;
}

void close_ap_start() {
    ap_start_closed.store(true, std::memory_order_release);
    auto* dst   = reinterpret_cast<volatile uint8_t*>(TRAMPOLINE_PHYS);
    size_t size = static_cast<size_t>(ap_trampoline_end - ap_trampoline_start);
    for (size_t i = 0; i < size; i++) dst[i] = i < sizeof HALT_LOOP ? HALT_LOOP[i] : 0;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

}  // namespace natsume::x86::smp

extern "C" void ap_main() {
    using namespace natsume::x86;
    if (smp::ap_start_closed.load(std::memory_order_acquire)) halt_forever();
    PerCpu& c = cpus[smp::ap_next_index.load(std::memory_order_acquire)];
    cpu_local_init(c);
    lapic::init_this_core();
    c.shared.publish(CpuState::Online);
    if (smp::ap_continuation) smp::ap_continuation(c);
    halt_forever();
}
