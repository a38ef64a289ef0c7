#include <fmt/format.h>

#include "vmm-tools/config/pci_names.hpp"
#include "vmm-tools/probe/machine_toml.hpp"

namespace natsume::probe {

namespace {

std::string bdf_list(const std::vector<uint16_t>& bdfs) {
    std::vector<std::string> q;
    for (uint16_t b : bdfs) q.push_back(fmt::format("\"{}\"", tools::format_bdf(b)));
    return fmt::format("[{}]", fmt::join(q, ", "));
}

std::string toml_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) >= 0x20) out += c;
    }
    return out + "\"";
}

void write_cpu(std::string& o, const Machine& m) {
    o += fmt::format("bsp = {}                # APIC ID of the boot processor: stays with the hypervisor\n", m.bsp);
    o += fmt::format("smt_shift = {}          # low APIC ID bits that number the threads of one core (0: no SMT)\n",
                     m.smt_shift);
    o += "\n[cpu]\n";
    o += fmt::format("model = {}\nvmx = {}\nept = {}\nunrestricted_guest = {}\nx2apic = {}\n", toml_string(m.cpu.model),
                     m.cpu.vmx, m.cpu.ept, m.cpu.unrestricted_guest, m.cpu.x2apic);
    for (const Core& c : m.cores) {
        o += fmt::format("\n[[core]]\napic_id = {}\n", c.apic_id);
        if (c.package) o += fmt::format("package = {}\n", *c.package);
        if (c.core) o += fmt::format("core = {}\n", *c.core);
        o += fmt::format("siblings = [{}]\n", fmt::join(c.siblings, ", "));
    }
}

void write_memory(std::string& o, const Machine& m) {
    for (const MemoryRange& r : m.memory)
        o += fmt::format("\n[[memory]]\nbase = {:#x}\nsize = {:#x}\ntype = {}\nusable = {}\n", r.base, r.size,
                         toml_string(r.type), r.usable());
}

void write_interrupts(std::string& o, const Machine& m) {
    for (const Ioapic& a : m.ioapics)
        o += fmt::format("\n[[ioapic]]\nid = {}\naddress = {:#x}\ngsi_base = {}\n", a.id, a.address, a.gsi_base);
    for (const IsaOverride& s : m.overrides)
        o += fmt::format("\n[[isa_override]]\nisa_irq = {}\ngsi = {}\nflags = {:#x}\n", s.isa_irq, s.gsi, s.flags);
    for (const EcamRange& e : m.ecam)
        o += fmt::format("\n[[ecam]]\nbase = {:#x}\nsegment = {}\nstart_bus = {}\nend_bus = {}\n", e.base, e.segment,
                         e.start_bus, e.end_bus);
}

void write_function(std::string& o, const PciFunction& f) {
    o += fmt::format("\n[[pci]]\nbdf = \"{}\"\nid = \"{:04x}:{:04x}\"\nclass = \"{:06x}\"\nrevision = {:#04x}\n",
                     tools::format_bdf(f.bdf), f.vendor, f.device, f.class_code, f.revision);
    o += fmt::format("header_type = {}\nbridge = {}\n", f.header_type, f.bridge);
    if (f.bridge) o += fmt::format("secondary_bus = {}\nsubordinate_bus = {}\n", f.secondary_bus, f.subordinate_bus);
    if (f.behind) o += fmt::format("behind = \"{}\"\n", tools::format_bdf(*f.behind));
    o += fmt::format("intx_pin = {}\nintx_line = {}\n", f.intx_pin, f.intx_line);
    if (f.intx_gsi) o += fmt::format("intx_gsi = {}\n", *f.intx_gsi);
    if (f.linux_gsi) o += fmt::format("linux_gsi = {}\n", *f.linux_gsi);
    o += fmt::format("intx_check = \"{}\"\nmsi = {}\nmsix = {}\npcie = {}\n", intx_check_name(f.intx_check), f.msi,
                     f.msix, f.pcie);
    if (f.iommu_group) o += fmt::format("iommu_group = {}\n", *f.iommu_group);
    o += fmt::format("in_scan = {}\n", f.in_scan);
}

void write_vtd(std::string& o, const Vtd& v) {
    o += fmt::format("\n[vtd]\npresent = {}\n", v.present);
    if (!v.present) return;
    o += fmt::format("host_address_width = {}\nintr_remap_flag = {}\nir_usable = {}\n", v.host_address_width,
                     v.intr_remap_flag, v.ir_usable);
    if (!v.ir_usable) o += fmt::format("ir_off_reason = {}\n", toml_string(v.ir_off_reason));
    for (const VtdUnit& u : v.units) {
        o += fmt::format("\n[[vtd.unit]]\nbase = {:#x}\nsegment = {}\ninclude_pci_all = {}\ndevices = {}\n", u.base,
                         u.segment, u.include_pci_all, bdf_list(u.devices));
        if (u.cap) o += fmt::format("cap = \"{:#x}\"\n", *u.cap);
        if (u.ecap) o += fmt::format("ecap = \"{:#x}\"\n", *u.ecap);
    }
    for (const Rmrr& r : v.rmrrs)
        o += fmt::format("\n[[vtd.rmrr]]\nbase = {:#x}\nlimit = {:#x}\ndevices = {}\n", r.base, r.limit,
                         bdf_list(r.devices));
}

}  // namespace

const char* intx_check_name(IntxCheck c) {
    switch (c) {
    case IntxCheck::StatusBit: return "status-bit";
    case IntxCheck::E1000Icr: return "e1000-icr";
    case IntxCheck::Unknown: return "unknown";
    }
    return "unknown";
}

std::string machine_toml(const Machine& m) {
    std::string o = "# Machine description written by natsume-config probe; format: docs/probe.md.\n";
    o += fmt::format("# Probed: {}\nversion = {}\n", m.source, MACHINE_FILE_VERSION);
    write_cpu(o, m);
    write_memory(o, m);
    write_interrupts(o, m);
    for (const PciFunction& f : m.pci) write_function(o, f);
    write_vtd(o, m.vtd);
    return o;
}

}  // namespace natsume::probe
