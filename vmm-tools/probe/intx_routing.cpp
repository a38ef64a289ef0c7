#include "vmm-tools/probe/intx_routing.hpp"

namespace natsume::probe {

uint32_t isa_gsi(uint8_t irq, const std::vector<IsaOverride>& overrides) {
    for (const IsaOverride& o : overrides)
        if (o.isa_irq == irq) return o.gsi;
    return irq;
}

std::optional<uint32_t> hypervisor_gsi(uint8_t pin, uint8_t line, const std::vector<IsaOverride>& overrides) {
    if (pin == 0 || line == 0xff) return std::nullopt;
    return isa_gsi(line, overrides);
}

std::optional<uint32_t> linux_irq_gsi(uint32_t irq, const std::vector<IsaOverride>& overrides) {
    if (irq == 0) return std::nullopt;
    if (irq < 16) return isa_gsi(static_cast<uint8_t>(irq), overrides);
    return irq;
}

bool line_routable(const std::vector<const PciFunction*>& devices_on_line) {
    size_t unknown = 0;
    for (const PciFunction* f : devices_on_line) unknown += f->intx_check == IntxCheck::Unknown;
    return unknown <= 1;
}

}  // namespace natsume::probe
