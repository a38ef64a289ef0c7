#include "vmm-tools/probe/acpi_read.hpp"

#include <fmt/format.h>

#include "vmm-tools/config/pci_names.hpp"

namespace natsume::probe {

namespace {

constexpr const char* TABLES = "/sys/firmware/acpi/tables/";

// The table's bytes, checked (header, length, checksum); nullopt-like empty
// vector with a sentence on failure.
Result<std::vector<uint8_t>> table_bytes(const Tree& tree, const char* sig) {
    auto b = tree.bytes(std::string(TABLES) + sig);
    if (!b) return b;
    acpi::Error e = acpi::check_table(b->data(), b->size());
    if (e != acpi::Error::Ok)
        return Result<std::vector<uint8_t>>::failure(fmt::format("the ACPI {} table ({}) is unreadable: {}", sig,
                                                                 tree.at(std::string(TABLES) + sig).string(),
                                                                 acpi::to_string(e)));
    return b;
}

void add_scopes(const dmar::Dmar& d, size_t first, size_t count, const ConfigSnapshot& config,
                std::vector<uint16_t>& out) {
    for (size_t i = first; i < first + count && i < d.scope_count; ++i) {
        const dmar::Scope& s = d.scopes[i];
        dmar::Bdf bdf{};
        if (s.type != dmar::ScopeType::PciEndpoint && s.type != dmar::ScopeType::PciSubHierarchy) continue;
        if (dmar::resolve_path(s, ConfigSnapshot::read8, const_cast<ConfigSnapshot*>(&config), bdf) ==
            dmar::PathError::Ok)
            out.push_back(bdf.raw());
    }
}

// Linux shows each unit's CAP and ECAP registers when it runs the IOMMU
// driver (intel_iommu=on); dmarN numbers the units in table order.
void read_unit_registers(const Tree& tree, size_t index, VtdUnit& u) {
    std::string dir = fmt::format("/sys/class/iommu/dmar{}/intel-iommu/", index);
    auto cap = tree.text(dir + "cap"), ecap = tree.text(dir + "ecap");
    if (cap) u.cap = parse_number("0x" + *cap);
    if (ecap) u.ecap = parse_number("0x" + *ecap);
}

}  // namespace

Result<bool> read_madt(const Tree& tree, Machine& m) {
    auto b = table_bytes(tree, "APIC");
    if (!b) return Result<bool>::failure(b.error() + " (the MADT lists the cores and IOAPICs; probe needs it)");
    auto madt     = std::make_unique<acpi::Madt>();
    acpi::Error e = acpi::parse_madt(b->data(), b->size(), *madt);
    if (e != acpi::Error::Ok)
        return Result<bool>::failure(fmt::format("the ACPI MADT does not parse: {}", acpi::to_string(e)));
    for (size_t i = 0; i < madt->cpu_count; ++i)
        if (madt->cpus[i].enabled) m.cores.push_back({madt->cpus[i].apic_id, true, {}, {}, {}});
    for (size_t i = 0; i < madt->ioapic_count; ++i)
        m.ioapics.push_back({madt->ioapics[i].id, madt->ioapics[i].address, madt->ioapics[i].gsi_base});
    for (size_t i = 0; i < madt->override_count; ++i)
        if (madt->overrides[i].bus == 0)
            m.overrides.push_back({madt->overrides[i].source, madt->overrides[i].gsi, madt->overrides[i].flags});
    if (m.cores.empty()) return Result<bool>::failure("the ACPI MADT lists no enabled local APIC");
    return true;
}

Result<bool> read_mcfg(const Tree& tree, Machine& m) {
    if (!tree.exists(std::string(TABLES) + "MCFG")) return true;
    auto b = table_bytes(tree, "MCFG");
    if (!b) return Result<bool>::failure(b.error());
    acpi::Mcfg mcfg{};
    acpi::Error e = acpi::parse_mcfg(b->data(), b->size(), mcfg);
    if (e != acpi::Error::Ok)
        return Result<bool>::failure(fmt::format("the ACPI MCFG does not parse: {}", acpi::to_string(e)));
    for (size_t i = 0; i < mcfg.count; ++i)
        m.ecam.push_back(
            {mcfg.windows[i].base, mcfg.windows[i].segment, mcfg.windows[i].start_bus, mcfg.windows[i].end_bus});
    return true;
}

Result<bool> read_dmar(const Tree& tree, const ConfigSnapshot& config, Machine& m, std::unique_ptr<dmar::Dmar>& table) {
    if (!tree.exists(std::string(TABLES) + "DMAR")) return true;
    auto b = tree.bytes(std::string(TABLES) + "DMAR");
    if (!b) return Result<bool>::failure(b.error());
    table         = std::make_unique<dmar::Dmar>();
    dmar::Error e = dmar::parse(b->data(), b->size(), *table);
    if (e != dmar::Error::Ok)
        return Result<bool>::failure(fmt::format("the ACPI DMAR table does not parse: {}", dmar::to_string(e)));
    Vtd& v               = m.vtd;
    v.host_address_width = table->host_address_width;
    v.intr_remap_flag    = (table->flags & dmar::DMAR_INTR_REMAP) != 0;
    for (size_t i = 0; i < table->unit_count; ++i) {
        const dmar::Unit& u = table->units[i];
        VtdUnit out{u.base, u.segment, u.include_pci_all(), {}, {}, {}};
        add_scopes(*table, u.first_scope, u.scope_count, config, out.devices);
        read_unit_registers(tree, i, out);
        v.units.push_back(std::move(out));
    }
    for (size_t i = 0; i < table->rmrr_count; ++i) {
        const dmar::Rmrr& r = table->rmrrs[i];
        Rmrr out{r.base, r.limit, {}};
        add_scopes(*table, r.first_scope, r.scope_count, config, out.devices);
        v.rmrrs.push_back(std::move(out));
    }
    v.present = !v.units.empty();
    return true;
}

}  // namespace natsume::probe
