// The draft partition file: cores, then devices, then RAM (docs/probe.md).
#include "vmm-tools/probe/draft.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "vmm-tools/config/sizes.hpp"
#include "vmm-tools/probe/hypervisor_zone.hpp"

namespace natsume::probe {

namespace {

constexpr uint64_t RT_RAM = 64 * MIB, GP_RAM_MAX = 1024 * MIB, MIN_RAM = 4 * MIB, DMA_WINDOW = 8 * MIB;

DraftPartition partition(std::string name, uint32_t core, std::string role, std::string lapic) {
    DraftPartition p;
    p.name    = std::move(name);
    p.core    = core;
    p.cmdline = "role=" + role;
    p.lapic   = std::move(lapic);
    return p;
}

std::vector<std::string> core_comments(const Machine& m, uint32_t apic) {
    for (const Core& c : m.cores) {
        if (c.apic_id != apic) continue;
        std::string where = c.package && c.core ? fmt::format("package {}, core {}", *c.package, *c.core) : "";
        if (c.siblings.empty()) return {fmt::format("core {}: {}, no SMT sibling", apic, where)};
        return {fmt::format("core {}: {}; its SMT sibling {} runs nothing", apic, where, fmt::join(c.siblings, " "))};
    }
    return {};
}

// Without an IOMMU a DMA-capable device needs an identity window and the
// file's acknowledgement; with VT-d but no interrupt remapping only the latter.
void dma_policy(const Machine& m, DraftPartition& p) {
    if (p.devices.empty()) return;
    if (!m.vtd.present) {
        p.allow_unisolated_dma = true;
        p.comments.push_back(
            "no IOMMU: its devices can reach all memory and send any interrupt; their DMA buffers go in the dma "
            "window (host address == guest address)");
    } else if (!m.vtd.ir_usable) {
        p.allow_unisolated_dma = true;
        p.comments.push_back(
            fmt::format("interrupt remapping stays off ({}): its devices' DMA stays in its VT-d "
                        "domain, but a DMA write to 0xfee00000 reaches any core",
                        m.vtd.ir_off_reason));
    }
}

bool needs_window(const Machine& m, const DraftPartition& p) { return !m.vtd.present && !p.devices.empty(); }

// rt0: 64 MiB (or less where memory is short); gp0: the largest slice up to
// 1 GiB that leaves room for its window above its guest RAM size.
void place_memory(const Machine& m, Draft& d) {
    std::vector<DraftRange> free = free_memory(m);
    for (DraftPartition& p : d.partitions) {
        bool gp       = &p != &d.partitions.front();
        uint64_t want = RT_RAM;
        if (gp) {
            uint64_t largest = 0;
            for (const DraftRange& r : free) largest = std::max(largest, r.size);
            want = std::min(GP_RAM_MAX, largest - (needs_window(m, p) && largest > DMA_WINDOW ? DMA_WINDOW : 0));
            want &= ~(RAM_ALIGN - 1);
        }
        for (; want >= MIN_RAM; want = (want / 2) & ~(RAM_ALIGN - 1)) {
            std::vector<DraftRange> trial = free;
            auto ram                      = take(trial, want);
            std::optional<DraftRange> dma;
            if (ram && needs_window(m, p)) dma = take(trial, DMA_WINDOW, want);
            if (!ram || (needs_window(m, p) && !dma)) continue;
            p.ram = *ram;
            p.dma = dma;
            free  = trial;
            break;
        }
        if (want < MIN_RAM) {
            d.warnings.push_back(
                {WarningKind::SmallMemory, fmt::format("no free usable RAM above {} for {}: the draft gives it none",
                                                       tools::format_size(HYPERVISOR_ZONE_END), p.name)});
        } else if ((!gp && want < RT_RAM) || (gp && want < 256 * MIB)) {
            d.warnings.push_back({WarningKind::SmallMemory,
                                  fmt::format("{} gets only {} of RAM: little free usable memory above {}", p.name,
                                              tools::format_size(want), tools::format_size(HYPERVISOR_ZONE_END))});
        }
    }
}

}  // namespace

std::string machine_name(const std::string& text) {
    std::string out;
    for (char c : text) {
        char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '_' || l == '-')
            out += l;
        else if (!out.empty() && out.back() != '-')
            out += '-';
    }
    while (!out.empty() && out.back() == '-') out.pop_back();
    if (out.size() > 31) out.resize(31);
    return out.empty() ? "machine" : out;
}

Draft make_draft(const Machine& m, const std::string& name) {
    Draft d;
    d.name       = machine_name(name);
    CoreChoice c = choose_cores(m, d.warnings);
    if (!c.rt) return d;
    d.partitions.push_back(partition("rt0", *c.rt, "rt", "passthrough"));
    d.partitions.front().comments.push_back("real-time partition: a whole core, its LAPIC passed through (trusted)");
    if (c.gp) {
        DraftPartition gp = partition("gp0", *c.gp, "gp", "trapped");
        gp.comments.push_back("general-purpose partition: its LAPIC trapped (interrupt commands filtered)");
        gp.allow_smt_sharing = c.gp_shares_boot_core;
        d.partitions.push_back(gp);
    }
    for (DraftPartition& p : d.partitions) p.core_comments = core_comments(m, p.core);
    DeviceAssignment a      = assign_devices(m, c.gp.has_value(), d.warnings);
    d.partitions[0].devices = a.rt;
    if (c.gp) d.partitions[1].devices = a.gp;
    d.left_out = a.left_out;
    for (DraftPartition& p : d.partitions) dma_policy(m, p);
    place_memory(m, d);
    d.partitions.erase(std::remove_if(d.partitions.begin(), d.partitions.end(),
                                      [](const DraftPartition& p) { return p.ram.size == 0; }),
                       d.partitions.end());
    return d;
}

}  // namespace natsume::probe
