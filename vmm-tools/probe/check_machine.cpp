#include "vmm-tools/probe/check_machine.hpp"

#include <fmt/format.h>

#include "common/config/validate.hpp"
#include "vmm-tools/config/pci_names.hpp"
#include "vmm-tools/probe/intx_routing.hpp"
#include "vmm-tools/probe/platform_view.hpp"
#include "vmm-tools/probe/source_positions.hpp"

namespace natsume::probe {

namespace {

MachineFinding at(const SourcePositions& where, const config::Report& r, bool note) {
    Position p = where.of(r);
    return {r.text, note, p.line, p.column};
}

// A finding longer than a Report holds, placed by its subject ("partition
// 'rt0': device 00:02.0", as the validator would begin it).
MachineFinding about(const SourcePositions& where, const std::string& subject, std::string text, bool note) {
    config::Report r{};
    fmt::format_to_n(r.text, sizeof r.text - 1, "{}", subject);
    Position p = where.of(r);
    return {std::move(text), note, p.line, p.column};
}

bool dma_capable(const natsume_config_partition& p) {
    for (uint32_t k = 0; k < p.device_count && k < NATSUME_CONFIG_MAX_DEVICES; ++k)
        if ((p.devices[k].flags & NATSUME_DEVICE_NO_DMA) == 0) return true;
    return false;
}

// boot/main.cpp: with VT-d but without interrupt remapping a bus-master
// device could send an MSI to any core; the boot demands the acknowledgement.
std::optional<std::string> ir_refusal(const natsume_config_header* h, const Machine& m) {
    if (!m.vtd.present || m.vtd.ir_usable) return std::nullopt;
    const natsume_config_partition* parts = config::partitions(h);
    for (uint32_t i = 0; i < h->partition_count; ++i)
        if (dma_capable(parts[i]) && !(parts[i].flags & NATSUME_PARTITION_UNISOLATED_DMA))
            return fmt::format(
                "partition '{}': interrupt remapping is off on this machine ({}), so its bus-master "
                "devices could send an MSI to any core; set allow_unisolated_dma = true to accept "
                "that",
                parts[i].name, m.vtd.ir_off_reason);
    return std::nullopt;
}

std::string users(const config::SharedLine& l, const natsume_config_header* h) {
    std::vector<std::string> u;
    for (size_t i = 0; i < l.count; ++i)
        u.push_back(fmt::format("{} ({})", tools::format_bdf(l.bdf[i]), config::partitions(h)[l.partition[i]].name));
    std::string last = u.back();
    u.pop_back();
    return fmt::format("{} and {}", fmt::join(u, ", "), last);
}

// Every device on the line names its GSI: the offline check's note said it all.
bool all_explicit(const config::SharedLine& l, const natsume_config_header* h) {
    for (size_t i = 0; i < l.count; ++i) {
        const natsume_config_partition& p = config::partitions(h)[l.partition[i]];
        for (uint32_t k = 0; k < p.device_count && k < NATSUME_CONFIG_MAX_DEVICES; ++k)
            if (p.devices[k].bdf == l.bdf[i] && p.devices[k].intx_gsi == NATSUME_GSI_AUTO) return false;
    }
    return true;
}

}  // namespace

std::vector<MachineFinding> check_on_machine(const natsume_config_header* h, const Machine& m,
                                             std::string_view partition_text) {
    SourcePositions where(partition_text);
    PlatformView view(m);
    config::Report r{};
    if (!config::validate_platform(h, view.platform(), r)) return {at(where, r, false)};
    if (auto why = ir_refusal(h, m)) return {about(where, why->substr(0, why->find(':')), *why, false)};
    std::vector<config::SharedLine> lines(NATSUME_CONFIG_MAX_PARTITIONS * NATSUME_CONFIG_MAX_DEVICES);
    size_t n = config::shared_intx_lines(h, view.platform(), lines.data(), lines.size());
    std::vector<MachineFinding> notes;
    for (size_t k = 0; k < n && k < lines.size(); ++k) {
        const config::SharedLine& l = lines[k];
        std::vector<const PciFunction*> fns;
        for (size_t i = 0; i < l.count; ++i)
            if (const PciFunction* f = m.function(l.bdf[i])) fns.push_back(f);
        std::string who = users(l, h);
        std::string subject =
            fmt::format("partition '{}': device {}", config::partitions(h)[l.partition[l.count - 1]].name,
                        tools::format_bdf(l.bdf[l.count - 1]));
        std::string text = fmt::format(
            "INTx GSI {} is shared by {} on this machine: delivered per device by the "
            "hypervisor's shared-line routing",
            l.gsi, who);
        bool routable = line_routable(fns);
        if (!routable)
            text +=
                "; but more than one of them shows neither PCI Express nor an 8254x ICR to tell whether it "
                "asserted: the boot refuses the line unless their command bit 10 works (it tries)";
        if (!routable || !all_explicit(l, h)) notes.push_back(about(where, subject, text, true));
    }
    return notes;
}

}  // namespace natsume::probe
