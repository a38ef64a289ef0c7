#include "vmm-tools/probe/pci_scan.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <map>

#include "drivers/net/e1000.hpp"

#include "vmm-tools/config/pci_names.hpp"

namespace natsume::probe {

namespace {

constexpr const char* DEVICES = "/sys/bus/pci/devices";

std::string sysfs_name(uint16_t bdf) { return "0000:" + tools::format_bdf(bdf); }

bool msi_enabled(const ConfigSnapshot& c, uint16_t bdf) {
    uint8_t cap = pci::find_capability(c.access(), bdf, pci::CAP_MSI);
    return cap && (pci::read16(c.access(), bdf, static_cast<uint16_t>(cap + pci::CAP_MESSAGE_CONTROL)) &
                   pci::MSI_CONTROL_ENABLE);
}

// shared_intx.cpp check_for: status bit 3 where PCI Express requires it or
// command bit 10 is seen to stick (set already, in a snapshot), else the
// 8254x ICR through a memory BAR 0.
IntxCheck intx_check_of(const ConfigSnapshot& c, const PciFunction& f) {
    uint16_t cmd = pci::read16(c.access(), f.bdf, pci::COMMAND);
    if (f.pcie || (cmd & pci::CMD_INTERRUPT_DISABLE)) return IntxCheck::StatusBit;
    pci::BarRegister bar0 =
        pci::decode_bar(pci::read32(c.access(), f.bdf, pci::BAR0), pci::read32(c.access(), f.bdf, pci::BAR0 + 4));
    if (drivers::e1000::is_8254x(f.vendor, f.device) && !bar0.io && bar0.base) return IntxCheck::E1000Icr;
    return IntxCheck::Unknown;
}

std::map<std::string, uint32_t> iommu_groups(const Tree& tree) {
    std::map<std::string, uint32_t> groups;
    for (const std::string& g : tree.list("/sys/kernel/iommu_groups")) {
        auto n = parse_number(g);
        if (!n) continue;
        for (const std::string& d : tree.list("/sys/kernel/iommu_groups/" + g + "/devices"))
            groups[d] = static_cast<uint32_t>(*n);
    }
    return groups;
}

// The bridge whose secondary bus a function sits on.
void link_bridges(std::vector<PciFunction>& fns) {
    for (PciFunction& f : fns) {
        uint8_t bus = pci::bdf_bus(f.bdf);
        if (bus == 0) continue;
        for (const PciFunction& b : fns)
            if (b.bridge && b.secondary_bus == bus) f.behind = b.bdf;
    }
}

// What the hypervisor's enumeration reaches (pci::enumerate on the snapshot).
void mark_scanned(const ConfigSnapshot& c, std::vector<PciFunction>& fns, std::vector<Warning>& warnings) {
    auto inv     = std::make_unique<pci::Inventory>();
    pci::Error e = pci::enumerate(c.access(), *inv);
    for (PciFunction& f : fns)
        f.in_scan = std::any_of(inv->functions, inv->functions + inv->count,
                                [&](const pci::Function& g) { return g.bdf == f.bdf; });
    if (e == pci::Error::TooManyFunctions)
        warnings.push_back({WarningKind::NotScanned,
                            fmt::format("this machine has {} PCI functions; the hypervisor enumerates at most {} and "
                                        "stops there, so the others cannot be assigned",
                                        fns.size(), pci::MAX_FUNCTIONS)});
    for (const PciFunction& f : fns)
        if (!f.in_scan && e != pci::Error::TooManyFunctions)
            warnings.push_back({WarningKind::NotScanned,
                                fmt::format("{} {:04x}:{:04x} is not reached by the hypervisor's PCI enumeration (no "
                                            "programmed bridge leads to bus {:02x}): it cannot be assigned",
                                            tools::format_bdf(f.bdf), f.vendor, f.device, pci::bdf_bus(f.bdf))});
}

}  // namespace

bool parse_sysfs_bdf(std::string_view name, uint16_t& segment, uint16_t& bdf) {
    if (name.size() != 12 || name[4] != ':') return false;
    auto seg = parse_number("0x" + std::string(name.substr(0, 4)));
    auto b   = tools::parse_bdf(name.substr(5));
    if (!seg || *seg > 0xffff || !std::holds_alternative<uint16_t>(b)) return false;
    segment = static_cast<uint16_t>(*seg);
    bdf     = std::get<uint16_t>(b);
    return true;
}

PciFunction decode_function(const ConfigSnapshot& c, uint16_t bdf) {
    pci::ConfigAccess a = c.access();
    PciFunction f;
    f.bdf         = bdf;
    f.vendor      = pci::read16(a, bdf, pci::VENDOR_ID);
    f.device      = pci::read16(a, bdf, pci::DEVICE_ID);
    f.class_code  = pci::read32(a, bdf, pci::REVISION_ID) >> 8;
    f.revision    = pci::read8(a, bdf, pci::REVISION_ID);
    f.header_type = pci::read8(a, bdf, pci::HEADER_TYPE) & pci::HEADER_LAYOUT_MASK;
    f.bridge      = f.header_type == pci::HEADER_BRIDGE || f.header_type == pci::HEADER_CARD_BUS;
    if (f.bridge) {
        f.secondary_bus   = pci::read8(a, bdf, pci::SECONDARY_BUS);
        f.subordinate_bus = pci::read8(a, bdf, pci::SUBORDINATE_BUS);
    }
    f.intx_pin   = pci::read8(a, bdf, pci::INTERRUPT_PIN);
    f.intx_line  = pci::read8(a, bdf, pci::INTERRUPT_LINE);
    f.msi        = pci::find_capability(a, bdf, pci::CAP_MSI) != 0;
    f.msix       = pci::find_capability(a, bdf, pci::CAP_MSI_X) != 0;
    f.pcie       = pci::find_capability(a, bdf, pci::CAP_PCI_EXPRESS) != 0;
    f.intx_check = intx_check_of(c, f);
    return f;
}

uint32_t linux_intx_irq(const Tree& tree, uint16_t bdf, const ConfigSnapshot& config) {
    if (msi_enabled(config, bdf)) return 0;
    auto text = tree.text(std::string(DEVICES) + "/" + sysfs_name(bdf) + "/irq");
    auto v    = text ? parse_number(*text) : std::nullopt;
    return v && *v <= UINT32_MAX ? static_cast<uint32_t>(*v) : 0;
}

Result<PciScan> scan_pci(const Tree& tree) {
    if (!tree.exists(DEVICES))
        return Result<PciScan>::failure(
            fmt::format("{} does not exist: sysfs is not mounted there", tree.at(DEVICES).string()));
    PciScan scan;
    auto groups = iommu_groups(tree);
    std::vector<uint16_t> bdfs;
    bool truncated = false;
    for (const std::string& name : tree.list(DEVICES)) {
        uint16_t segment = 0, bdf = 0;
        if (!parse_sysfs_bdf(name, segment, bdf)) continue;
        if (segment != 0) {
            scan.warnings.push_back(
                {WarningKind::NotScanned,
                 fmt::format("{} is on PCI segment {}; the hypervisor uses segment 0 only", name, segment)});
            continue;
        }
        auto config = tree.bytes(std::string(DEVICES) + "/" + name + "/config");
        if (!config) return Result<PciScan>::failure(config.error());
        truncated |= config->size() < pci::CONFIG_SIZE;
        scan.config.add(bdf, std::move(*config));
        bdfs.push_back(bdf);
    }
    if (bdfs.empty())
        return Result<PciScan>::failure(fmt::format("{} lists no PCI function", tree.at(DEVICES).string()));
    if (truncated)
        scan.warnings.push_back({WarningKind::TruncatedConfig,
                                 "PCI configuration space was readable only in part (64 bytes: not root): MSI, MSI-X "
                                 "and PCI Express capabilities are unknown; run probe as root"});
    for (uint16_t bdf : bdfs) {
        PciFunction f = decode_function(scan.config, bdf);
        if (auto g = groups.find(sysfs_name(bdf)); g != groups.end()) f.iommu_group = g->second;
        scan.functions.push_back(f);
    }
    link_bridges(scan.functions);
    mark_scanned(scan.config, scan.functions, scan.warnings);
    return scan;
}

}  // namespace natsume::probe
