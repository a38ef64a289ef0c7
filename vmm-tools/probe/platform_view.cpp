#include "vmm-tools/probe/platform_view.hpp"

#include "vmm-tools/probe/hypervisor_zone.hpp"

namespace natsume::probe {

PlatformView::PlatformView(const Machine& m) {
    for (const Core& c : m.cores)
        if (c.enabled) apic_ids_.push_back(c.apic_id);
    for (const MemoryRange& r : m.memory)
        if (r.usable()) usable_.push_back({r.base, r.size});
    reserved_.push_back({0, REAL_MODE_END});
    reserved_.push_back({IMAGE_BASE, HYPERVISOR_ZONE_END - IMAGE_BASE});
    for (const Rmrr& r : m.vtd.rmrrs) rmrr_.push_back({r.base, r.limit - r.base + 1});
    // The hypervisor knows only the functions its enumeration reaches.
    for (const PciFunction& f : m.pci)
        if (f.in_scan) devices_.push_back({f.bdf, f.vendor, f.device, f.intx_gsi.value_or(NATSUME_GSI_AUTO), f.bridge});
    platform_ = config::Platform{apic_ids_.data(), apic_ids_.size(), m.bsp,           usable_.data(),  usable_.size(),
                                 reserved_.data(), reserved_.size(), devices_.data(), devices_.size(), m.vtd.present,
                                 rmrr_.data(),     rmrr_.size(),     m.smt_shift};
}

}  // namespace natsume::probe
