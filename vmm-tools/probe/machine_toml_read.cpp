#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <toml++/toml.h>

#include "vmm-tools/config/pci_names.hpp"
#include "vmm-tools/probe/machine_toml.hpp"

namespace natsume::probe {

namespace {

// A refusal carries the place it is about.
struct Bad {
    std::string text;
};

class Reader {
public:
    explicit Reader(std::string_view source) : source_(source) {}

    Machine read(const toml::table& root);

private:
    [[noreturn]] void fail(const toml::node* n, const std::string& what) const {
        auto where = n ? n->source().begin : toml::source_position{};
        if (where.line == 0) throw Bad{fmt::format("{}: error: {}", source_, what)};
        throw Bad{fmt::format("{}:{}:{}: error: {}", source_, where.line, where.column, what)};
    }
    const toml::node& need(const toml::table& t, std::string_view key, std::string_view in) const {
        const toml::node* n = t.get(key);
        if (!n) fail(&t, fmt::format("missing key '{}' in {}", key, in));
        return *n;
    }
    uint64_t u64(const toml::node& n, std::string_view key, uint64_t max = UINT64_MAX) const;
    uint64_t u64(const toml::table& t, std::string_view key, std::string_view in, uint64_t max = UINT64_MAX) const {
        return u64(need(t, key, in), key, max);
    }
    std::optional<uint64_t> opt_u64(const toml::table& t, std::string_view key, uint64_t max = UINT64_MAX) const {
        const toml::node* n = t.get(key);
        return n ? std::optional<uint64_t>(u64(*n, key, max)) : std::nullopt;
    }
    bool flag(const toml::table& t, std::string_view key, bool fallback) const;
    std::string text(const toml::table& t, std::string_view key, std::string_view in) const;
    uint16_t bdf(const toml::node& n) const;
    std::vector<uint16_t> bdfs(const toml::table& t, std::string_view key) const;
    template <typename Fn>
    void each(const toml::table& root, std::string_view key, Fn fn) const;

    void read_cpu(const toml::table& root, Machine& m) const;
    PciFunction read_function(const toml::table& t) const;
    void read_vtd(const toml::table& root, Machine& m) const;

    std::string source_;
};

uint64_t Reader::u64(const toml::node& n, std::string_view key, uint64_t max) const {
    std::optional<uint64_t> v;
    if (n.is_integer() && *n.value<int64_t>() >= 0) v = static_cast<uint64_t>(*n.value<int64_t>());
    if (n.is_string()) v = parse_number(*n.value<std::string>());
    if (!v) fail(&n, fmt::format("{} must be a non-negative integer", key));
    if (*v > max) fail(&n, fmt::format("{} is {:#x}; at most {:#x}", key, *v, max));
    return *v;
}

bool Reader::flag(const toml::table& t, std::string_view key, bool fallback) const {
    const toml::node* n = t.get(key);
    if (!n) return fallback;
    if (!n->is_boolean()) fail(n, fmt::format("{} must be true or false", key));
    return *n->value<bool>();
}

std::string Reader::text(const toml::table& t, std::string_view key, std::string_view in) const {
    const toml::node& n = need(t, key, in);
    if (!n.is_string()) fail(&n, fmt::format("{} must be a string", key));
    return *n.value<std::string>();
}

uint16_t Reader::bdf(const toml::node& n) const {
    if (!n.is_string()) fail(&n, "a BDF must be a string like \"00:02.0\"");
    auto v = tools::parse_bdf(*n.value<std::string>());
    if (auto* why = std::get_if<std::string>(&v)) fail(&n, *why);
    return std::get<uint16_t>(v);
}

std::vector<uint16_t> Reader::bdfs(const toml::table& t, std::string_view key) const {
    std::vector<uint16_t> out;
    const toml::node* n = t.get(key);
    if (!n) return out;
    if (!n->is_array()) fail(n, fmt::format("{} must be an array of BDF strings", key));
    for (const toml::node& e : *n->as_array()) out.push_back(bdf(e));
    return out;
}

template <typename Fn>
void Reader::each(const toml::table& root, std::string_view key, Fn fn) const {
    const toml::node* n = root.get(key);
    if (!n) return;
    if (!n->is_array_of_tables()) fail(n, fmt::format("{} must be an array of tables ([[{}]])", key, key));
    for (const toml::node& e : *n->as_array()) fn(*e.as_table());
}

void Reader::read_cpu(const toml::table& root, Machine& m) const {
    m.bsp       = static_cast<uint32_t>(u64(root, "bsp", "the top level", UINT32_MAX));
    m.smt_shift = static_cast<uint8_t>(opt_u64(root, "smt_shift", 31).value_or(0));
    if (const toml::table* c = root.get_as<toml::table>("cpu")) {
        if (c->get("model")) m.cpu.model = text(*c, "model", "[cpu]");
        m.cpu.vmx                = flag(*c, "vmx", false);
        m.cpu.ept                = flag(*c, "ept", false);
        m.cpu.unrestricted_guest = flag(*c, "unrestricted_guest", false);
        m.cpu.x2apic             = flag(*c, "x2apic", false);
    }
    each(root, "core", [&](const toml::table& t) {
        Core c;
        c.apic_id = static_cast<uint32_t>(u64(t, "apic_id", "[[core]]", UINT32_MAX));
        if (auto v = opt_u64(t, "package", UINT32_MAX)) c.package = static_cast<uint32_t>(*v);
        if (auto v = opt_u64(t, "core", UINT32_MAX)) c.core = static_cast<uint32_t>(*v);
        if (const toml::array* s = t.get_as<toml::array>("siblings"))
            for (const toml::node& e : *s) c.siblings.push_back(static_cast<uint32_t>(u64(e, "siblings", UINT32_MAX)));
        m.cores.push_back(std::move(c));
    });
    if (m.cores.empty()) fail(nullptr, "no [[core]] table: a machine description lists its cores");
}

PciFunction Reader::read_function(const toml::table& t) const {
    PciFunction f;
    f.bdf   = bdf(need(t, "bdf", "[[pci]]"));
    auto id = tools::parse_pci_id(text(t, "id", "[[pci]]"));
    if (auto* why = std::get_if<std::string>(&id)) fail(t.get("id"), *why);
    f.vendor          = std::get<tools::PciId>(id).vendor;
    f.device          = std::get<tools::PciId>(id).device;
    f.class_code      = static_cast<uint32_t>(parse_number("0x" + text(t, "class", "[[pci]]")).value_or(0));
    f.revision        = static_cast<uint8_t>(opt_u64(t, "revision", 0xff).value_or(0));
    f.header_type     = static_cast<uint8_t>(opt_u64(t, "header_type", 0x7f).value_or(0));
    f.bridge          = flag(t, "bridge", false);
    f.secondary_bus   = static_cast<uint8_t>(opt_u64(t, "secondary_bus", 0xff).value_or(0));
    f.subordinate_bus = static_cast<uint8_t>(opt_u64(t, "subordinate_bus", 0xff).value_or(0));
    if (const toml::node* b = t.get("behind")) f.behind = bdf(*b);
    f.intx_pin  = static_cast<uint8_t>(opt_u64(t, "intx_pin", 4).value_or(0));
    f.intx_line = static_cast<uint8_t>(opt_u64(t, "intx_line", 0xff).value_or(0xff));
    if (auto v = opt_u64(t, "intx_gsi", UINT32_MAX - 1)) f.intx_gsi = static_cast<uint32_t>(*v);
    if (auto v = opt_u64(t, "linux_gsi", UINT32_MAX - 1)) f.linux_gsi = static_cast<uint32_t>(*v);
    std::string check = t.get("intx_check") ? text(t, "intx_check", "[[pci]]") : "unknown";
    f.intx_check      = check == "status-bit"  ? IntxCheck::StatusBit
                        : check == "e1000-icr" ? IntxCheck::E1000Icr
                                               : IntxCheck::Unknown;
    f.msi             = flag(t, "msi", false);
    f.msix            = flag(t, "msix", false);
    f.pcie            = flag(t, "pcie", false);
    if (auto v = opt_u64(t, "iommu_group", UINT32_MAX)) f.iommu_group = static_cast<uint32_t>(*v);
    f.in_scan = flag(t, "in_scan", true);
    return f;
}

void Reader::read_vtd(const toml::table& root, Machine& m) const {
    const toml::table* v = root.get_as<toml::table>("vtd");
    if (!v) return;
    m.vtd.present            = flag(*v, "present", false);
    m.vtd.host_address_width = static_cast<uint8_t>(opt_u64(*v, "host_address_width", 64).value_or(0));
    m.vtd.intr_remap_flag    = flag(*v, "intr_remap_flag", false);
    m.vtd.ir_usable          = flag(*v, "ir_usable", false);
    if (v->get("ir_off_reason")) m.vtd.ir_off_reason = text(*v, "ir_off_reason", "[vtd]");
    each(*v, "unit", [&](const toml::table& t) {
        VtdUnit u;
        u.base            = u64(t, "base", "[[vtd.unit]]");
        u.segment         = static_cast<uint16_t>(opt_u64(t, "segment", 0xffff).value_or(0));
        u.include_pci_all = flag(t, "include_pci_all", false);
        u.devices         = bdfs(t, "devices");
        u.cap             = opt_u64(t, "cap");
        u.ecap            = opt_u64(t, "ecap");
        m.vtd.units.push_back(std::move(u));
    });
    each(*v, "rmrr", [&](const toml::table& t) {
        Rmrr r{u64(t, "base", "[[vtd.rmrr]]"), u64(t, "limit", "[[vtd.rmrr]]"), bdfs(t, "devices")};
        if (r.limit < r.base) fail(t.get("limit"), "RMRR limit is below its base");
        m.vtd.rmrrs.push_back(std::move(r));
    });
}

Machine Reader::read(const toml::table& root) {
    Machine m;
    const toml::node& version = need(root, "version", "the top level");
    if (u64(version, "version") != MACHINE_FILE_VERSION)
        fail(&version, fmt::format("machine description version {} is not supported; this natsume-config reads "
                                   "version {}",
                                   u64(version, "version"), MACHINE_FILE_VERSION));
    read_cpu(root, m);
    each(root, "memory", [&](const toml::table& t) {
        MemoryRange r{u64(t, "base", "[[memory]]"), u64(t, "size", "[[memory]]"), text(t, "type", "[[memory]]")};
        m.memory.push_back(std::move(r));
    });
    if (m.memory.empty()) fail(nullptr, "no [[memory]] table: a machine description lists its memory map");
    each(root, "ioapic", [&](const toml::table& t) {
        m.ioapics.push_back({static_cast<uint32_t>(u64(t, "id", "[[ioapic]]", 255)),
                             static_cast<uint32_t>(u64(t, "address", "[[ioapic]]", UINT32_MAX)),
                             static_cast<uint32_t>(u64(t, "gsi_base", "[[ioapic]]", UINT32_MAX))});
    });
    each(root, "isa_override", [&](const toml::table& t) {
        m.overrides.push_back({static_cast<uint8_t>(u64(t, "isa_irq", "[[isa_override]]", 15)),
                               static_cast<uint32_t>(u64(t, "gsi", "[[isa_override]]", UINT32_MAX)),
                               static_cast<uint16_t>(opt_u64(t, "flags", 0xffff).value_or(0))});
    });
    each(root, "ecam", [&](const toml::table& t) {
        m.ecam.push_back({u64(t, "base", "[[ecam]]"), static_cast<uint16_t>(opt_u64(t, "segment", 0xffff).value_or(0)),
                          static_cast<uint8_t>(u64(t, "start_bus", "[[ecam]]", 255)),
                          static_cast<uint8_t>(u64(t, "end_bus", "[[ecam]]", 255))});
    });
    each(root, "pci", [&](const toml::table& t) { m.pci.push_back(read_function(t)); });
    read_vtd(root, m);
    return m;
}

}  // namespace

Result<Machine> parse_machine_toml(std::string_view text, std::string_view source_name) {
    toml::table root;
    try {
        root = toml::parse(text, source_name);
    } catch (const toml::parse_error& e) {
        return Result<Machine>::failure(fmt::format("{}:{}:{}: error: invalid TOML: {}", source_name,
                                                    e.source().begin.line, e.source().begin.column, e.description()));
    }
    try {
        Machine m = Reader(source_name).read(root);
        m.source  = std::string(source_name);
        return m;
    } catch (const Bad& b) { return Result<Machine>::failure(b.text); }
}

Result<Machine> read_machine_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
        return Result<Machine>::failure(fmt::format("{}: error: cannot read the machine description", file.string()));
    std::stringstream ss;
    ss << in.rdbuf();
    return parse_machine_toml(ss.str(), file.string());
}

}  // namespace natsume::probe
