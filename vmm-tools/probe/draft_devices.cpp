// Devices of the draft (docs/probe.md "Devices"): which functions may be
// assigned, the real-time partition's NIC, the rest to gp0, and the INTx
// lines and requester ids that tie devices together.
#include <algorithm>
#include <fmt/format.h>
#include <map>

#include "drivers/block/ata.hpp"
#include "drivers/net/e1000.hpp"

#include "natsume/config_blob.h"
#include "vmm-tools/config/pci_names.hpp"
#include "vmm-tools/probe/draft.hpp"
#include "vmm-tools/probe/intx_routing.hpp"

namespace natsume::probe {

namespace {

constexpr uint8_t CLASS_UNCLASSIFIED = 0x00, CLASS_STORAGE = 0x01, CLASS_NETWORK = 0x02, CLASS_DISPLAY = 0x03;
constexpr uint8_t CLASS_MULTIMEDIA = 0x04, CLASS_COMMUNICATION = 0x07, CLASS_SERIAL_BUS = 0x0c;
constexpr uint8_t CLASS_WIRELESS = 0x0d, CLASS_OTHER = 0xff, SUBCLASS_SMBUS = 0x05, SUBCLASS_VGA_COMPATIBLE = 0x01;

std::string label(const PciFunction& f) {
    return fmt::format("{} {:04x}:{:04x}", tools::format_bdf(f.bdf), f.vendor, f.device);
}

bool has_rmrr(const Machine& m, uint16_t bdf) {
    for (const Rmrr& r : m.vtd.rmrrs)
        if (std::find(r.devices.begin(), r.devices.end(), bdf) != r.devices.end()) return true;
    return false;
}

// Behind a conventional PCI bridge every function uses the bridge's
// requester id (VT-d 3.x, 3.9.1 aliasing): they can only go together.
uint16_t alias_key(const Machine& m, const PciFunction& f) {
    if (!f.behind) return f.bdf;
    const PciFunction* b = m.function(*f.behind);
    return b && !b->pcie ? b->bdf : f.bdf;
}

bool guest_kernel_drives(const PciFunction& f) {
    return drivers::e1000::is_8254x(f.vendor, f.device) ||
           (f.vendor == drivers::e1000::VENDOR_INTEL && f.device == drivers::e1000::DEVICE82574_L);
}

// Higher is better for the real-time partition: a NIC the guest kernel has a
// driver for (drivers/net/e1000.hpp), then MSI, a line of its own, PCI Express.
int rt_score(const Machine& m, const PciFunction& f) {
    size_t sharers = 0;
    for (const PciFunction& o : m.pci)
        sharers += o.bdf != f.bdf && wired_gsi(o) && wired_gsi(o) == wired_gsi(f) && !o.bridge;
    return (guest_kernel_drives(f) ? 8 : 0) + (f.msix || f.msi ? 4 : 0) + (sharers == 0 ? 2 : 0) + (f.pcie ? 1 : 0);
}

// The ISA lines (as GSIs) of an IDE controller's channels in compatibility mode.
std::vector<uint32_t> legacy_lines(const Machine& m, const PciFunction& f) {
    namespace ata = drivers::ata;
    std::vector<uint32_t> out;
    if (!ata::is_ide(f.base_class(), f.subclass())) return out;
    auto prog_if = static_cast<uint8_t>(f.class_code);
    if (ata::compatibility_mode(prog_if, false)) out.push_back(isa_gsi(ata::PRIMARY.isa_irq, m.overrides));
    if (ata::compatibility_mode(prog_if, true)) out.push_back(isa_gsi(ata::SECONDARY.isa_irq, m.overrides));
    return out;
}

class Assigner {
public:
    Assigner(const Machine& m, std::vector<Warning>& w) : m_(m), warnings_(w) {}
    DeviceAssignment run(bool have_gp);

private:
    std::vector<const PciFunction*> group_of(const PciFunction& f) const;
    std::optional<std::string> conflict_with_rt(const std::vector<const PciFunction*>& group) const;
    DraftDevice describe(const PciFunction& f) const;
    void note_shared_lines(DeviceAssignment& a);
    bool decided(const PciFunction* f) const;
    std::optional<std::string> refusal(const std::vector<const PciFunction*>& group, bool have_gp) const;

    const Machine& m_;
    std::vector<Warning>& warnings_;
    std::vector<const PciFunction*> candidates_, rt_, gp_, decided_;
};

std::vector<const PciFunction*> Assigner::group_of(const PciFunction& f) const {
    std::vector<const PciFunction*> g;
    for (const PciFunction* c : candidates_)
        if (alias_key(m_, *c) == alias_key(m_, f)) g.push_back(c);
    return g;
}

// Why `group` cannot go to gp0 beside rt0's devices, if it cannot.
std::optional<std::string> Assigner::conflict_with_rt(const std::vector<const PciFunction*>& group) const {
    for (const PciFunction* f : group) {
        auto g = wired_gsi(*f);
        std::vector<const PciFunction*> line;
        bool shared = false;
        for (const auto* list : {&rt_, &gp_})
            for (const PciFunction* o : *list)
                if (g && wired_gsi(*o) == g) {
                    line.push_back(o);
                    shared |= list == &rt_;
                }
        for (const PciFunction* peer : group)
            if (wired_gsi(*peer) == g) line.push_back(peer);
        if (shared && !line_routable(line)) {
            std::vector<std::string> rt, unknown;
            for (const PciFunction* o : line) {
                if (std::find(rt_.begin(), rt_.end(), o) != rt_.end()) rt.push_back(tools::format_bdf(o->bdf));
                if (o->intx_check == IntxCheck::Unknown) unknown.push_back(tools::format_bdf(o->bdf));
            }
            return fmt::format(
                "{} has its INTx on GSI {}, shared with rt0's {}, and {} there cannot tell whether "
                "they asserted (no PCI Express status bit 3, not an 8254x): the line cannot be routed "
                "per device",
                tools::format_bdf(f->bdf), *g, fmt::join(rt, " "), fmt::join(unknown, " "));
        }
        for (uint32_t isa : legacy_lines(m_, *f))
            for (const PciFunction* o : rt_)
                if (wired_gsi(*o) == isa)
                    return fmt::format(
                        "its IDE channel interrupts on GSI {}, where rt0's {} has its INTx: an "
                        "edge-triggered ISA line cannot be shared",
                        isa, tools::format_bdf(o->bdf));
    }
    return std::nullopt;
}

DraftDevice Assigner::describe(const PciFunction& f) const {
    DraftDevice d{&f, {}, {}};
    if (f.linux_gsi && f.intx_gsi && *f.linux_gsi != *f.intx_gsi) {
        std::string head = fmt::format(
            "{}: its Interrupt Line register gives GSI {}, but Linux routes its INT{} to "
            "GSI {}",
            tools::format_bdf(f.bdf), *f.intx_gsi, char('A' + f.intx_pin - 1), *f.linux_gsi);
        std::string text;
        if (wired_gsi(f) == f.linux_gsi) {
            d.intx_gsi = *f.linux_gsi;
            text       = head +
                   fmt::format(" (an IOAPIC input, from the ACPI _PRT): the draft sets intx_gsi = {}", *f.linux_gsi);
        } else {
            text = head + fmt::format(
                              " (through an ACPI interrupt link, which Linux may have reprogrammed): the "
                              "draft keeps the register's GSI, as the hypervisor will; if its interrupts do "
                              "not arrive, try intx_gsi = {}",
                              *f.linux_gsi);
        }
        d.comments.push_back(text);
        warnings_.push_back({WarningKind::GsiDisagrees, text});
    }
    if (f.behind) {
        const PciFunction* b = m_.function(*f.behind);
        bool conventional    = b && !b->pcie;
        std::string text =
            fmt::format("{} is behind bridge {}{}", label(f), tools::format_bdf(*f.behind),
                        conventional ? " (conventional PCI: its devices share the bridge's requester id, so they "
                                       "go to one partition together)"
                                     : " (a PCI Express port: the device keeps its own requester id; the port "
                                       "itself stays with the hypervisor)");
        d.comments.push_back(text);
        warnings_.push_back({WarningKind::BehindBridge, text});
    }
    if (f.iommu_group) {
        std::vector<std::string> peers;
        for (const PciFunction& o : m_.pci)
            if (o.bdf != f.bdf && o.iommu_group == f.iommu_group) peers.push_back(tools::format_bdf(o.bdf));
        if (!peers.empty())
            d.comments.push_back(
                fmt::format("IOMMU group {} also holds {} (no ACS between them: peer-to-peer DMA "
                            "among them is not stopped)",
                            *f.iommu_group, fmt::join(peers, " ")));
    }
    if (f.msi || f.msix)
        d.comments.push_back(fmt::format("has {}: a guest driver using it needs no INTx line",
                                         f.msix ? (f.msi ? "MSI and MSI-X" : "MSI-X") : "MSI"));
    return d;
}

// One warning per line rt0 shares with gp0, on each gp0 device there.
void Assigner::note_shared_lines(DeviceAssignment& a) {
    std::map<uint32_t, std::pair<std::vector<std::string>, std::vector<DraftDevice*>>> lines;
    for (DraftDevice& r : a.rt)
        if (auto g = wired_gsi(*r.fn)) lines[*g].first.push_back(tools::format_bdf(r.fn->bdf));
    for (DraftDevice& d : a.gp)
        if (auto g = wired_gsi(*d.fn); g && lines.count(*g)) lines[*g].second.push_back(&d);
    for (auto& [gsi, users] : lines) {
        if (users.second.empty()) continue;
        std::vector<std::string> gp;
        for (DraftDevice* d : users.second) gp.push_back(tools::format_bdf(d->fn->bdf));
        std::string text = fmt::format(
            "INTx GSI {} is shared by {} (rt0) and {} (gp0): the hypervisor takes the line on the boot core and "
            "forwards each interrupt to the owner of the device that asserted, which costs rt0 a detour; give rt0 "
            "a device with MSI or a line of its own if its latency matters",
            gsi, fmt::join(users.first, " "), fmt::join(gp, " "));
        warnings_.push_back({WarningKind::SharedIntx, text});
        for (DraftDevice* d : users.second) d->comments.push_back(text);
    }
}

bool Assigner::decided(const PciFunction* f) const {
    return std::find(decided_.begin(), decided_.end(), f) != decided_.end();
}

// Why gp0 cannot take `group`, if it cannot.
std::optional<std::string> Assigner::refusal(const std::vector<const PciFunction*>& group, bool have_gp) const {
    if (!have_gp) return "no gp0 on this machine (too few cores)";
    if (gp_.size() + group.size() > NATSUME_CONFIG_MAX_DEVICES)
        return fmt::format("gp0 has its {} devices already", NATSUME_CONFIG_MAX_DEVICES);
    return conflict_with_rt(group);
}

DeviceAssignment Assigner::run(bool have_gp) {
    DeviceAssignment a;
    for (const PciFunction& f : m_.pci) {
        if (auto why = not_assignable(m_, f))
            a.left_out.push_back(fmt::format("{}: {}", label(f), *why));
        else
            candidates_.push_back(&f);
    }
    const PciFunction* best = nullptr;
    for (const PciFunction* c : candidates_)
        if (c->base_class() == CLASS_NETWORK && (!best || rt_score(m_, *c) > rt_score(m_, *best))) best = c;
    if (best) rt_ = group_of(*best);
    decided_ = rt_;
    for (const PciFunction* c : candidates_) {
        if (decided(c)) continue;
        std::vector<const PciFunction*> group = group_of(*c);
        decided_.insert(decided_.end(), group.begin(), group.end());
        if (auto why = refusal(group, have_gp)) {
            const char* with = group.size() > 1 ? "left out with its requester-id group: " : "";
            for (const PciFunction* f : group) a.left_out.push_back(fmt::format("{}: {}{}", label(*f), with, *why));
            if (have_gp && why->find("INTx") != std::string::npos) {
                std::vector<std::string> names;
                for (const PciFunction* f : group) names.push_back(tools::format_bdf(f->bdf));
                warnings_.push_back(
                    {WarningKind::UnroutableLine, fmt::format("{} left out: {}", fmt::join(names, " "), *why)});
            }
            continue;
        }
        gp_.insert(gp_.end(), group.begin(), group.end());
    }
    for (const PciFunction* f : rt_) a.rt.push_back(describe(*f));
    for (const PciFunction* f : gp_) a.gp.push_back(describe(*f));
    note_shared_lines(a);
    return a;
}

}  // namespace

std::optional<std::string> not_assignable(const Machine& m, const PciFunction& f) {
    if (f.bridge) return "a bridge: assign the devices behind it";
    if (!f.in_scan) return "not reached by the hypervisor's PCI enumeration";
    if (has_rmrr(m, f.bdf))
        return "has an RMRR: firmware keeps DMA-ing to it (USB legacy emulation, graphics); assign it only with that "
               "turned off in the firmware setup";
    switch (f.base_class()) {
    case CLASS_UNCLASSIFIED:
        if (f.subclass() == SUBCLASS_VGA_COMPATIBLE)
            return "a display device: the hypervisor has no screen to hand over";
        return std::nullopt;
    case CLASS_STORAGE:
    case CLASS_NETWORK:
    case CLASS_MULTIMEDIA:
    case CLASS_COMMUNICATION:
    case CLASS_WIRELESS:
    case CLASS_OTHER: return std::nullopt;
    case CLASS_SERIAL_BUS:
        if (f.subclass() == SUBCLASS_SMBUS) return "the SMBus controller: platform management, stays unassigned";
        return std::nullopt;
    case CLASS_DISPLAY: return "a display controller: the draft gives no partition a screen";
    default: return fmt::format("class {:06x}: a chipset or platform function, stays unassigned", f.class_code);
    }
}

DeviceAssignment assign_devices(const Machine& m, bool have_gp, std::vector<Warning>& warnings) {
    return Assigner(m, warnings).run(have_gp);
}

}  // namespace natsume::probe
