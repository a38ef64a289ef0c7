// Compiled with the hypervisor's freestanding flags only: proves the headers need
// no hosted library and instantiates the walker for both entry formats.
#include "hypervisor/arch/x86/page_table.hpp"
#include "hypervisor/arch/x86/vmcs_fields.hpp"
#include "hypervisor/arch/x86/vmx_caps.hpp"
#include "hypervisor/arch/x86/vmx_defs.hpp"
#include "hypervisor/lib/tsc_math.hpp"

namespace {

struct StaticPool {
    alignas(4096) uint64_t tables[4][512];
    unsigned used = 0;
    uint64_t alloc_table() { return used < 4 ? reinterpret_cast<uint64_t>(tables[used++]) : 0; }
    uint64_t* table(uint64_t phys) { return reinterpret_cast<uint64_t*>(phys); }
    void store(uint64_t* slot, uint64_t v) { __atomic_store_n(slot, v, __ATOMIC_RELEASE); }
};

}  // namespace

template class natsume::x86::PageTable<natsume::x86::EptEntry, StaticPool>;
template class natsume::x86::PageTable<natsume::x86::Pte, StaticPool>;

uint32_t natsume_freestanding_check(uint64_t ticks, uint64_t khz) {
    using namespace natsume::x86;
    static_assert(vmcs::writable_v<Vmcs::GUEST_RIP, uint64_t> && !vmcs::writable_v<Vmcs::GUEST_CS_SELECTOR, uint32_t>);
    return natsume::preemption_timer_value(natsume::ns_to_ticks(ticks, khz), 5) +
           adjust_controls(ticks, pin::NMI_EXITING).value;
}
