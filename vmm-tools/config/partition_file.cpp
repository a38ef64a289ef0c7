#include "vmm-tools/config/partition_file.hpp"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <toml++/toml.h>
#include <tuple>
#include <variant>

#include "common/config/validate.hpp"
#include "common/crc32.hpp"
#include "common/range.hpp"
#include "hypervisor/lib/linux_boot.hpp"
#include "vmm-tools/config/pci_names.hpp"
#include "vmm-tools/config/sizes.hpp"

namespace natsume::tools {

namespace {

// Version of the TOML format (the `version` key); the compiled blob has its
// own layout version, NATSUME_CONFIG_VERSION in include/natsume/config_blob.h.
constexpr int64_t PARTITION_FILE_VERSION = 1;

constexpr uint64_t MI_B        = 1024 * 1024;
constexpr uint32_t MAX_APIC_ID = 256;  // xAPIC IDs are 8 bits; the hypervisor checks the same

const std::vector<std::string_view> ROOT_KEYS      = {"version", "name", "partition", "channel"};
const std::vector<std::string_view> PARTITION_KEYS = {"name",
                                                      "cores",
                                                      "ram",
                                                      "image",
                                                      "cmdline",
                                                      "lapic",
                                                      "dma",
                                                      "device",
                                                      "allow_smt_sharing",
                                                      "allow_unisolated_dma",
                                                      "l1d_flush",
                                                      "kind",
                                                      "kernel",
                                                      "initramfs"};
const std::vector<std::string_view> RAM_KEYS       = {"base", "size"};
const std::vector<std::string_view> DEVICE_KEYS    = {"bdf", "id", "intx_gsi", "dma", "ide_channel"};
const std::vector<std::string_view> CHANNEL_KEYS   = {"name",    "base",        "size",         "frontend",
                                                      "backend", "backend_dma", "doorbell_rate"};
const std::vector<std::string_view> END_KEYS       = {"partition", "gpa"};

struct Position {
    uint32_t line = 1, column = 1;
};

Position pos_of(const toml::source_region& r) {
    if (r.begin.line == 0) return {};
    return {r.begin.line, r.begin.column};
}
Position pos_of(const toml::node& n) { return pos_of(n.source()); }

std::string type_name(const toml::node& n) {
    switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    default: return "a date or time";
    }
}

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diag = row[0];
        row[0]      = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t up = row[j];
            row[j]    = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag      = up;
        }
    }
    return row[b.size()];
}

bool valid_name_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; }
bool valid_image_char(char c) { return valid_name_char(c) || (c >= 'A' && c <= 'Z') || c == '.'; }

std::string hex(uint64_t v) { return fmt::format("{:#x}", v); }

// One partition's parsed values and where they came from, for the checks
// between partitions.
struct ParsedDevice {
    natsume_config_device dev{0, NATSUME_DEVICE_ANY_ID, NATSUME_DEVICE_ANY_ID, 0, NATSUME_GSI_AUTO, 0};
    bool bdf_ok = false;
    Position bdf_pos, gsi_pos;
};

struct Parsed {
    natsume_config_partition part{};
    std::string label;  // "partition 'rt0'" or "partition 2"
    std::string who;    // "'rt0'" or "partition 2"
    bool name_ok = false, core_ok = false, ram_ok = false, dma_ok = false;
    Position name_pos, ram_pos, dma_pos;
    Position core_pos[NATSUME_CONFIG_MAX_CORES];  // where each of part.cores was written
    std::vector<ParsedDevice> devices;            // at most NATSUME_CONFIG_MAX_DEVICES
};

// One channel's parsed values and where each part of it was written, so the
// shared validator's refusals point at the key they are about.
struct ParsedChannel {
    natsume_config_channel ch{};
    std::string label;  // "channel 'vif0'" or "channel 2"
    Position pos, name_pos, mem_pos, end_pos[2];
};

class Compiler {
public:
    Compiler(std::string_view source, const CompileOptions& options) : source_(source), options_(options) {}

    CompileResult run(std::string_view text);

private:
    void error(Position p, std::string message) {
        result_.errors.push_back({source_, p.line, p.column, std::move(message)});
    }

    void check_keys(const toml::table& t, const std::vector<std::string_view>& allowed, std::string_view where);
    const toml::node* require(const toml::table& t, std::string_view key, Position where, std::string_view context,
                              std::string_view example);

    void parse_root(const toml::table& root);
    void parse_version(const toml::table& root);
    bool parse_name(const toml::node& n, std::string_view what, size_t cap, std::string& out);
    void parse_partition(const toml::table& t, size_t index);
    void parse_cores(const toml::node& n, Parsed& p);
    bool check_core_count(Position at, const std::vector<int64_t>& ids, const Parsed& p);
    void parse_ram(const toml::node& n, Parsed& p);
    std::optional<uint64_t> parse_ram_value(const toml::node& n, std::string_view field, const Parsed& p,
                                            std::string_view what = "ram");
    void parse_dma(const toml::node& n, Parsed& p);
    void check_dma_in_partition(const toml::node& n, Parsed& p);
    void parse_devices(const toml::node& n, Parsed& p);
    void parse_device(const toml::table& t, size_t index, Parsed& p);
    void parse_device_id(const toml::node& n, ParsedDevice& d, const std::string& where);
    void parse_device_gsi(const toml::node& n, ParsedDevice& d, const std::string& where);
    void parse_device_dma(const toml::node& n, ParsedDevice& d, const std::string& where);
    void parse_device_ide_channel(const toml::node& n, ParsedDevice& d, const Parsed& p, const std::string& where);
    void parse_image(const toml::node& n, Parsed& p);
    void parse_kind(const toml::table& t, Parsed& p);
    void parse_boot_files(const toml::table& t, Position where, const std::string& ctx, Parsed& p);
    bool parse_module(const toml::node& n, Parsed& p, std::string_view what, char (&dest)[NATSUME_CONFIG_IMAGE_LEN],
                      bool elf);
    void check_linux_fit(const toml::table& t, Parsed& p);
    void parse_cmdline(const toml::node& n, Parsed& p);
    void parse_lapic(const toml::node& n, Parsed& p);
    void parse_flag(const toml::table& t, std::string_view key, uint32_t flag, Parsed& p);

    void parse_channels(const toml::node& n);
    void parse_channel(const toml::table& t, size_t index);
    void parse_channel_end(const toml::node& n, uint32_t side, ParsedChannel& c);
    std::optional<uint64_t> parse_address(const toml::node& n, std::string_view what);
    Position channel_position(const config::Report& r) const;

    void check_between_partitions();
    void check_pair_cores(const Parsed& a, const Parsed& b);
    void check_pair_dma(const Parsed& a, const Parsed& b);
    void check_devices_unique();
    void note(Position p, std::string message) {
        result_.notes.push_back({source_, p.line, p.column, std::move(message), true});
    }
    void add_notes(const natsume_config_header* h);
    void finish();

    std::string source_;
    const CompileOptions& options_;
    CompileResult result_;
    std::string machine_name_;
    std::vector<Parsed> parsed_;
    std::vector<ParsedChannel> channels_;
};

void Compiler::check_keys(const toml::table& t, const std::vector<std::string_view>& allowed, std::string_view where) {
    for (auto&& [key, value] : t) {
        std::string_view k = key.str();
        if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
        std::string hint;
        size_t best = 3;  // suggest only near misses
        for (auto a : allowed)
            if (size_t d = edit_distance(k, a); d < best) {
                best = d;
                hint = fmt::format(" (did you mean '{}'?)", a);
            }
        Position p = pos_of(key.source());
        if (p.line == 1 && p.column == 1) p = pos_of(value);
        error(p, fmt::format("unknown key '{}' {}{}; allowed keys: {}", k, where, hint, fmt::join(allowed, ", ")));
    }
}

const toml::node* Compiler::require(const toml::table& t, std::string_view key, Position where,
                                    std::string_view context, std::string_view example) {
    const toml::node* n = t.get(key);
    if (!n) error(where, fmt::format("missing key '{}' {}; add e.g. {}", key, context, example));
    return n;
}

void Compiler::parse_version(const toml::table& root) {
    const toml::node* n = require(root, "version", {}, "at the top level", "version = 1");
    if (!n) return;
    auto v = n->value<int64_t>();
    if (!n->is_integer())
        error(pos_of(*n), fmt::format("version must be an integer, not {}; write version = 1", type_name(*n)));
    else if (*v != PARTITION_FILE_VERSION)
        error(pos_of(*n), fmt::format("version {} is not supported; this natsume-config reads version {}", *v,
                                      PARTITION_FILE_VERSION));
}

bool Compiler::parse_name(const toml::node& n, std::string_view what, size_t cap, std::string& out) {
    if (!n.is_string()) {
        error(pos_of(n), fmt::format("{} must be a string, not {}", what, type_name(n)));
        return false;
    }
    out = *n.value<std::string>();
    if (out.empty()) {
        error(pos_of(n), fmt::format("{} is empty; use a-z, 0-9, '_' and '-'", what));
        return false;
    }
    if (out.size() >= cap) {
        error(pos_of(n), fmt::format("{} '{}' is {} characters long; the limit is {}", what, out, out.size(), cap - 1));
        return false;
    }
    auto bad = std::find_if_not(out.begin(), out.end(), valid_name_char);
    if (bad != out.end()) {
        error(pos_of(n), fmt::format("{} '{}' contains '{}'; use only a-z, 0-9, '_' and '-'", what, out, *bad));
        return false;
    }
    return true;
}

void Compiler::parse_root(const toml::table& root) {
    check_keys(root, ROOT_KEYS, "at the top level");
    parse_version(root);
    if (const toml::node* n = require(root, "name", {}, "at the top level (the machine's name)", "name = \"default\""))
        parse_name(*n, "name", NATSUME_CONFIG_NAME_LEN, machine_name_);

    const toml::node* parts = root.get("partition");
    if (!parts) {
        error({}, "no [[partition]] table; describe at least one partition (see docs/partition-file.md)");
        return;
    }
    if (!parts->is_array_of_tables()) {
        error(pos_of(*parts),
              fmt::format("partition must be an array of tables ([[partition]]), not {}", type_name(*parts)));
        return;
    }
    const toml::array& arr = *parts->as_array();
    if (arr.size() > NATSUME_CONFIG_MAX_PARTITIONS)
        error(pos_of(*arr.get(NATSUME_CONFIG_MAX_PARTITIONS)),
              fmt::format("{} partitions given; at most {} are supported", arr.size(), NATSUME_CONFIG_MAX_PARTITIONS));
    for (size_t i = 0; i < arr.size(); ++i) parse_partition(*arr.get(i)->as_table(), i);
    if (const toml::node* c = root.get("channel")) parse_channels(*c);
}

// [[channel]]: shared memory between a frontend and a backend partition
// (docs/partition-file.md). The shape is checked here; placement and overlap
// by the shared validator, whose refusal names the channel and the key.
void Compiler::parse_channels(const toml::node& n) {
    if (!n.is_array_of_tables()) {
        error(pos_of(n), fmt::format("channel must be an array of tables ([[channel]]), not {}", type_name(n)));
        return;
    }
    const toml::array& arr = *n.as_array();
    if (arr.size() > NATSUME_CONFIG_MAX_CHANNELS)
        error(pos_of(*arr.get(NATSUME_CONFIG_MAX_CHANNELS)),
              fmt::format("{} channels given; at most {} are supported", arr.size(), NATSUME_CONFIG_MAX_CHANNELS));
    for (size_t i = 0; i < arr.size() && i < NATSUME_CONFIG_MAX_CHANNELS; ++i)
        parse_channel(*arr.get(i)->as_table(), i);
}

std::optional<uint64_t> Compiler::parse_address(const toml::node& n, std::string_view what) {
    if (n.is_integer() && *n.value<int64_t>() >= 0) return static_cast<uint64_t>(*n.value<int64_t>());
    if (n.is_string())
        if (auto v = parse_size(*n.value<std::string>())) return v;
    error(pos_of(n), fmt::format("{} must be a non-negative integer or a size string like \"2M\", not {}", what,
                                 n.is_integer() ? "a negative number" : type_name(n)));
    return std::nullopt;
}

void Compiler::parse_channel(const toml::table& t, size_t index) {
    ParsedChannel c;
    c.label    = fmt::format("channel {}", index + 1);
    c.pos      = pos_of(t);
    c.name_pos = c.mem_pos = c.end_pos[0] = c.end_pos[1] = c.pos;
    std::string name;
    if (const toml::node* n = t.get("name")) {
        c.name_pos = pos_of(*n);
        if (parse_name(*n, "channel name", NATSUME_CONFIG_NAME_LEN, name)) {
            std::memcpy(c.ch.name, name.data(), name.size());
            c.label = fmt::format("channel '{}'", name);
        }
    } else {
        error(c.pos, fmt::format("missing key 'name' in {}; add e.g. name = \"vif{}\"", c.label, index));
    }
    check_keys(t, CHANNEL_KEYS, fmt::format("in {}", c.label));
    std::string ctx = fmt::format("in {}", c.label);
    if (const toml::node* n = require(t, "base", c.pos, ctx, "base = 0x0a000000")) {
        c.mem_pos = pos_of(*n);
        if (auto v = parse_address(*n, fmt::format("base of {}", c.label))) c.ch.base = *v;
    }
    if (const toml::node* n = require(t, "size", c.pos, ctx, "size = \"2M\""))
        if (auto v = parse_address(*n, fmt::format("size of {}", c.label))) c.ch.size = *v;
    if (const toml::node* n =
            require(t, "frontend", c.pos, ctx, "frontend = { partition = \"rt0\", gpa = 0x40000000 }"))
        parse_channel_end(*n, NATSUME_CHANNEL_FRONTEND, c);
    if (const toml::node* n = require(t, "backend", c.pos, ctx, "backend = { partition = \"gp0\", gpa = 0x40000000 }"))
        parse_channel_end(*n, NATSUME_CHANNEL_BACKEND, c);
    if (const toml::node* n = t.get("backend_dma")) {
        if (!n->is_boolean())
            error(pos_of(*n), fmt::format("backend_dma of {} must be true or false, not {}", c.label, type_name(*n)));
        else if (*n->value<bool>())
            c.ch.flags |= NATSUME_CHANNEL_BACKEND_DMA;
    }
    if (const toml::node* n = t.get("doorbell_rate")) {
        std::optional<int64_t> v = n->value<int64_t>();
        if (!n->is_integer() || *v < 1 || *v > 100000000)
            error(pos_of(*n), fmt::format("doorbell_rate of {} must be an integer from 1 to 100000000 (doorbells a "
                                          "second each side may ring), not {}",
                                          c.label, n->is_integer() ? std::to_string(*v) : type_name(*n)));
        else
            c.ch.doorbell_rate = static_cast<uint32_t>(*v);
    }
    channels_.push_back(std::move(c));
}

void Compiler::parse_channel_end(const toml::node& n, uint32_t side, ParsedChannel& c) {
    const char* role     = side == NATSUME_CHANNEL_FRONTEND ? "frontend" : "backend";
    c.end_pos[side]      = pos_of(n);
    const toml::table* t = n.as_table();
    if (!t) {
        error(pos_of(n), fmt::format("{} of {} must be a table, not {}; write e.g. {} = {{ partition = \"rt0\", "
                                     "gpa = 0x40000000 }}",
                                     role, c.label, type_name(n), role));
        return;
    }
    std::string ctx = fmt::format("in the {} of {}", role, c.label);
    check_keys(*t, END_KEYS, ctx);
    if (const toml::node* pn = require(*t, "partition", pos_of(n), ctx, "partition = \"rt0\"")) {
        std::optional<std::string> who = pn->value<std::string>();
        auto it                        = who ? std::find_if(parsed_.begin(), parsed_.end(),
                                                            [&](const Parsed& p) { return p.name_ok && *who == p.part.name; })
                                             : parsed_.end();
        if (!who)
            error(pos_of(*pn), fmt::format("partition of the {} of {} must be a partition's name, not {}", role,
                                           c.label, type_name(*pn)));
        else if (it == parsed_.end())
            error(pos_of(*pn),
                  fmt::format("{} of {} names partition '{}', which the file does not describe", role, c.label, *who));
        else
            c.ch.ends[side].partition = static_cast<uint32_t>(it - parsed_.begin());
    }
    if (const toml::node* gn = require(*t, "gpa", pos_of(n), ctx, "gpa = 0x40000000"))
        if (auto v = parse_address(*gn, fmt::format("gpa of the {} of {}", role, c.label))) c.ch.ends[side].gpa = *v;
}

// Where a refusal of the shared validator about a channel belongs in the file.
Position Compiler::channel_position(const config::Report& r) const {
    if (r.channel >= channels_.size()) return {};
    const ParsedChannel& c = channels_[r.channel];
    switch (r.field) {
    case config::ChannelField::Name: return c.name_pos;
    case config::ChannelField::Memory: return c.mem_pos;
    case config::ChannelField::Frontend: return c.end_pos[NATSUME_CHANNEL_FRONTEND];
    case config::ChannelField::Backend: return c.end_pos[NATSUME_CHANNEL_BACKEND];
    case config::ChannelField::Whole: break;
    }
    return c.pos;
}

void Compiler::parse_partition(const toml::table& t, size_t index) {
    Parsed p;
    p.label        = fmt::format("partition {}", index + 1);
    Position where = pos_of(t);
    std::string name;
    if (const toml::node* n = t.get("name")) {
        p.name_ok  = parse_name(*n, "partition name", NATSUME_CONFIG_NAME_LEN, name);
        p.name_pos = pos_of(*n);
        if (p.name_ok) {
            std::memcpy(p.part.name, name.data(), name.size());
            p.label = fmt::format("partition '{}'", name);
        }
    } else {
        error(where, fmt::format("missing key 'name' in {}; add e.g. name = \"rt{}\"", p.label, index));
    }
    p.who = p.name_ok ? fmt::format("'{}'", name) : p.label;
    check_keys(t, PARTITION_KEYS, fmt::format("in {}", p.label));
    std::string ctx = fmt::format("in {}", p.label);
    parse_kind(t, p);  // first: how many cores a partition may have depends on its kind
    if (const toml::node* n = require(t, "cores", where, ctx, "cores = [1]")) parse_cores(*n, p);
    if (const toml::node* n = require(t, "ram", where, ctx, "ram = { base = 0x04000000, size = \"32M\" }"))
        parse_ram(*n, p);
    if (const toml::node* n = t.get("dma")) parse_dma(*n, p);
    parse_boot_files(t, where, ctx, p);
    if (const toml::node* n = t.get("cmdline")) parse_cmdline(*n, p);
    if (const toml::node* n = require(t, "lapic", where, ctx, "lapic = \"passthrough\"")) parse_lapic(*n, p);
    parse_flag(t, "allow_smt_sharing", NATSUME_PARTITION_SHARE_SMT, p);
    parse_flag(t, "allow_unisolated_dma", NATSUME_PARTITION_UNISOLATED_DMA, p);
    // Default: on for an untrusted partition (its LAPIC trapped), off for a trusted one.
    if (!t.get("l1d_flush") && p.part.lapic_mode == NATSUME_LAPIC_TRAPPED) p.part.flags |= NATSUME_PARTITION_L1D_FLUSH;
    parse_flag(t, "l1d_flush", NATSUME_PARTITION_L1D_FLUSH, p);
    if (const toml::node* n = t.get("device")) parse_devices(*n, p);
    parsed_.push_back(std::move(p));
}

void Compiler::parse_cores(const toml::node& n, Parsed& p) {
    Position at            = pos_of(n);
    const toml::array* arr = n.as_array();
    if (!arr) {
        error(at, fmt::format("cores of {} must be an array of local APIC IDs, not {}; write e.g. cores = [1]", p.label,
                              type_name(n)));
        return;
    }
    if (arr->empty()) {
        error(at, fmt::format("cores of {} is empty; give at least one local APIC ID, e.g. cores = [1]", p.label));
        return;
    }
    std::vector<int64_t> ids;
    bool ok = true;
    for (const toml::node& c : *arr) {
        auto v = c.value<int64_t>();
        if (!c.is_integer()) {
            error(pos_of(c), fmt::format("core in {} must be an integer local APIC ID, not {}", p.label, type_name(c)));
            ok = false;
        } else if (*v < 0 || *v >= MAX_APIC_ID) {
            error(pos_of(c),
                  fmt::format("core {} in {} is not a local APIC ID; use 0 to {}", *v, p.label, MAX_APIC_ID - 1));
            ok = false;
        } else if (std::find(ids.begin(), ids.end(), *v) != ids.end()) {
            error(pos_of(c), fmt::format("core {} is given twice in {}; list each core once", *v, p.label));
            ok = false;
        } else {
            ids.push_back(*v);
        }
    }
    if (ok && !check_core_count(at, ids, p)) ok = false;
    if (!ok) return;
    p.part.core_count = static_cast<uint32_t>(ids.size());
    for (size_t k = 0; k < ids.size(); ++k) {
        p.part.cores[k] = static_cast<uint32_t>(ids[k]);
        p.core_pos[k]   = pos_of(*arr->get(k));
    }
    p.core_ok = true;
}

// The project's kernel runs on one core; Linux boots on its first core and
// starts the others itself, up to the slots of the blob.
bool Compiler::check_core_count(Position at, const std::vector<int64_t>& ids, const Parsed& p) {
    if (p.part.kind != NATSUME_KIND_LINUX && ids.size() > 1) {
        error(at, fmt::format("{} lists {} cores, but the project's kernel runs on one core (multi-core partitions "
                              "are for kind = \"linux\"); write cores = [{}]",
                              p.label, ids.size(), ids[0]));
        return false;
    }
    if (ids.size() > NATSUME_CONFIG_MAX_CORES) {
        error(at, fmt::format("{} lists {} cores; a Linux partition has at most {}, e.g. cores = [{}]", p.label,
                              ids.size(), NATSUME_CONFIG_MAX_CORES,
                              fmt::join(ids.begin(), ids.begin() + NATSUME_CONFIG_MAX_CORES, ", ")));
        return false;
    }
    return true;
}

std::optional<uint64_t> Compiler::parse_ram_value(const toml::node& n, std::string_view field, const Parsed& p,
                                                  std::string_view what) {
    if (auto v = n.value<int64_t>(); n.is_integer()) {
        if (*v < 0) {
            error(pos_of(n), fmt::format("{} {} of {} is negative", what, field, p.label));
            return std::nullopt;
        }
        return static_cast<uint64_t>(*v);
    }
    if (n.is_string()) {
        std::string s = *n.value<std::string>();
        if (auto v = parse_size(s)) return v;
        error(pos_of(n), fmt::format("{} {} \"{}\" of {} is not a size; write an integer or a string like \"32M\" "
                                     "or \"1G\"",
                                     what, field, s, p.label));
        return std::nullopt;
    }
    error(pos_of(n), fmt::format("{} {} of {} must be an integer or a size string like \"32M\", not {}", what, field,
                                 p.label, type_name(n)));
    return std::nullopt;
}

std::string nearest_aligned(uint64_t v, bool as_size) {
    uint64_t down = v & ~(NATSUME_CONFIG_RAM_ALIGN - 1);
    uint64_t up   = down + NATSUME_CONFIG_RAM_ALIGN;
    auto show     = [&](uint64_t x) { return as_size ? fmt::format("\"{}\"", format_size(x)) : hex(x); };
    if (down == 0) return show(up);
    return fmt::format("{} or {}", show(down), show(up));
}

void Compiler::parse_ram(const toml::node& n, Parsed& p) {
    const toml::table* t = n.as_table();
    if (!t) {
        error(pos_of(n), fmt::format("ram of {} must be a table, not {}; write e.g. ram = {{ base = 0x04000000, "
                                     "size = \"32M\" }}",
                                     p.label, type_name(n)));
        return;
    }
    check_keys(*t, RAM_KEYS, fmt::format("in the ram of {}", p.label));
    std::string ctx      = fmt::format("in the ram of {}", p.label);
    const toml::node* bn = require(*t, "base", pos_of(n), ctx, "base = 0x04000000");
    const toml::node* sn = require(*t, "size", pos_of(n), ctx, "size = \"32M\"");
    // Assigned through value_or: gcc 12 reports a false maybe-uninitialized
    // on the optional's payload when it is copied straight from the call.
    std::optional<uint64_t> base, size;
    if (bn)
        if (auto v = parse_ram_value(*bn, "base", p)) base = v.value_or(0);
    if (sn)
        if (auto v = parse_ram_value(*sn, "size", p)) size = v.value_or(0);
    bool ok = base && size;
    if (base && !is_aligned(*base, NATSUME_CONFIG_RAM_ALIGN)) {
        error(pos_of(*bn), fmt::format("ram base {} of {} is not a multiple of 2 MiB (EPT maps partition RAM with "
                                       "2 MiB pages); nearest aligned: {}",
                                       hex(*base), p.label, nearest_aligned(*base, false)));
        ok = false;
    }
    if (size && !is_aligned(*size, NATSUME_CONFIG_RAM_ALIGN)) {
        error(pos_of(*sn), fmt::format("ram size {} of {} is not a multiple of 2 MiB; nearest aligned: {}", hex(*size),
                                       p.label, nearest_aligned(*size, true)));
        ok = false;
    } else if (size && *size < NATSUME_CONFIG_RAM_MIN) {
        error(pos_of(*sn), fmt::format("ram size {} of {} is below the minimum of {} MiB", describe_mib(*size), p.label,
                                       NATSUME_CONFIG_RAM_MIN / MI_B));
        ok = false;
    }
    if (ok && !range_fits(*base, *size)) {
        error(pos_of(n),
              fmt::format("ram {}+{} of {} runs past the end of the address space", hex(*base), hex(*size), p.label));
        ok = false;
    }
    if (!ok) return;
    p.part.ram_base = *base;
    p.part.ram_size = *size;
    p.ram_ok        = true;
    p.ram_pos       = pos_of(n);
}

// The DMA window: host RAM the guest sees at the same address (gpa == hpa),
// so a device without an IOMMU can be handed buffer addresses from it.
void Compiler::parse_dma(const toml::node& n, Parsed& p) {
    const toml::table* t = n.as_table();
    if (!t) {
        error(pos_of(n), fmt::format("dma of {} must be a table, not {}; write e.g. dma = {{ base = 0x08000000, "
                                     "size = \"8M\" }}",
                                     p.label, type_name(n)));
        return;
    }
    check_keys(*t, RAM_KEYS, fmt::format("in the dma window of {}", p.label));
    std::string ctx      = fmt::format("in the dma window of {}", p.label);
    const toml::node* bn = require(*t, "base", pos_of(n), ctx, "base = 0x08000000");
    const toml::node* sn = require(*t, "size", pos_of(n), ctx, "size = \"8M\"");
    std::optional<uint64_t> base, size;
    if (bn)
        if (auto v = parse_ram_value(*bn, "base", p, "dma")) base = v.value_or(0);
    if (sn)
        if (auto v = parse_ram_value(*sn, "size", p, "dma")) size = v.value_or(0);
    bool ok = base && size;
    if (base && !is_aligned(*base, NATSUME_CONFIG_RAM_ALIGN)) {
        error(pos_of(*bn), fmt::format("dma base {} of {} is not a multiple of 2 MiB (EPT maps the window with "
                                       "2 MiB pages); nearest aligned: {}",
                                       hex(*base), p.label, nearest_aligned(*base, false)));
        ok = false;
    }
    if (size && !is_aligned(*size, NATSUME_CONFIG_RAM_ALIGN)) {
        error(pos_of(*sn), fmt::format("dma size {} of {} is not a multiple of 2 MiB; nearest aligned: {}", hex(*size),
                                       p.label, nearest_aligned(*size, true)));
        ok = false;
    } else if (size && *size == 0) {
        error(pos_of(*sn), fmt::format("dma size of {} is 0; a dma window is at least 2 MiB (leave dma out for "
                                       "none)",
                                       p.label));
        ok = false;
    }
    if (ok && !range_fits(*base, *size)) {
        error(pos_of(n), fmt::format("dma window {}+{} of {} runs past the end of the address space", hex(*base),
                                     hex(*size), p.label));
        ok = false;
    }
    if (!ok) return;
    p.part.dma_base = *base;
    p.part.dma_size = *size;
    p.dma_ok        = true;
    p.dma_pos       = pos_of(n);
    check_dma_in_partition(n, p);
}

// Parsed after ram (key order in the partition does not matter: toml++ has
// the whole table).
void Compiler::check_dma_in_partition(const toml::node& n, Parsed& p) {
    if (!p.ram_ok) return;
    const natsume_config_partition& q = p.part;
    if (q.dma_base < q.ram_size) {
        error(pos_of(n), fmt::format("dma window {}+{} of {} starts inside its guest RAM (guest 0x0-{:#x}); the "
                                     "window appears at its host address, so its base must be at least {}",
                                     hex(q.dma_base), hex(q.dma_size), p.label, q.ram_size - 1, hex(q.ram_size)));
        p.dma_ok = false;
    } else if (ranges_overlap(q.ram_base, q.ram_size, q.dma_base, q.dma_size)) {
        error(pos_of(n), fmt::format("dma window {}+{} of {} overlaps its own ram ({}+{})", hex(q.dma_base),
                                     hex(q.dma_size), p.label, hex(q.ram_base), hex(q.ram_size)));
        p.dma_ok = false;
    }
}

void Compiler::parse_devices(const toml::node& n, Parsed& p) {
    if (!n.is_array_of_tables()) {
        error(pos_of(n), fmt::format("device of {} must be an array of tables ([[partition.device]]), not {}", p.label,
                                     type_name(n)));
        return;
    }
    const toml::array& arr = *n.as_array();
    if (arr.size() > NATSUME_CONFIG_MAX_DEVICES)
        error(pos_of(*arr.get(NATSUME_CONFIG_MAX_DEVICES)),
              fmt::format("{} has {} devices; at most {} are supported", p.label, arr.size(),
                          NATSUME_CONFIG_MAX_DEVICES));
    for (size_t i = 0; i < arr.size() && i < NATSUME_CONFIG_MAX_DEVICES; ++i)
        parse_device(*arr.get(i)->as_table(), i, p);
}

void Compiler::parse_device(const toml::table& t, size_t index, Parsed& p) {
    ParsedDevice d;
    std::string where = fmt::format("device {} of {}", index + 1, p.label);
    check_keys(t, DEVICE_KEYS, fmt::format("in {}", where));
    if (const toml::node* n = require(t, "bdf", pos_of(t), fmt::format("in {}", where), "bdf = \"00:02.0\"")) {
        d.bdf_pos = pos_of(*n);
        if (!n->is_string()) {
            error(pos_of(*n), fmt::format("bdf of {} must be a string like \"00:02.0\", not {}", where, type_name(*n)));
        } else {
            std::string text = *n->value<std::string>();
            auto v           = parse_bdf(text);
            if (auto* msg = std::get_if<std::string>(&v))
                error(pos_of(*n), fmt::format("bdf \"{}\" of {} {}", text, where, *msg));
            else
                d.dev.bdf = std::get<uint16_t>(v), d.bdf_ok = true;
        }
    }
    if (d.bdf_ok) where = fmt::format("device {} of {}", format_bdf(d.dev.bdf), p.label);
    if (const toml::node* n = t.get("id")) parse_device_id(*n, d, where);
    if (const toml::node* n = t.get("intx_gsi")) parse_device_gsi(*n, d, where);
    if (const toml::node* n = t.get("dma")) parse_device_dma(*n, d, where);
    if (const toml::node* n = t.get("ide_channel")) parse_device_ide_channel(*n, d, p, where);
    p.devices.push_back(d);
    if (d.bdf_ok) p.part.devices[p.part.device_count++] = d.dev;
}

void Compiler::parse_device_id(const toml::node& n, ParsedDevice& d, const std::string& where) {
    if (!n.is_string()) {
        error(pos_of(n), fmt::format("id of {} must be a string like \"8086:100e\", not {}", where, type_name(n)));
        return;
    }
    std::string text = *n.value<std::string>();
    auto v           = parse_pci_id(text);
    if (auto* msg = std::get_if<std::string>(&v)) {
        error(pos_of(n), fmt::format("id \"{}\" of {} {}", text, where, *msg));
        return;
    }
    d.dev.vendor_id = std::get<PciId>(v).vendor;
    d.dev.device_id = std::get<PciId>(v).device;
}

void Compiler::parse_device_gsi(const toml::node& n, ParsedDevice& d, const std::string& where) {
    auto v = n.value<int64_t>();
    if (!n.is_integer()) {
        error(pos_of(n), fmt::format("intx_gsi of {} must be an integer, not {}; leave it out to use the "
                                     "device's Interrupt Line",
                                     where, type_name(n)));
        return;
    }
    if (*v < 0 || *v >= config::MAX_INTX_GSI) {
        error(pos_of(n), fmt::format("intx_gsi {} of {} is out of range; use 0 to {}, or leave it out", *v, where,
                                     config::MAX_INTX_GSI - 1));
        return;
    }
    d.dev.intx_gsi = static_cast<uint32_t>(*v);
    d.gsi_pos      = pos_of(n);
}

void Compiler::parse_device_dma(const toml::node& n, ParsedDevice& d, const std::string& where) {
    if (!n.is_boolean()) {
        error(pos_of(n), fmt::format("dma of {} must be true or false, not {}", where, type_name(n)));
        return;
    }
    if (!*n.value<bool>()) d.dev.flags |= NATSUME_DEVICE_NO_DMA;
}

// ide_channel = "primary" | "secondary": which channel of an IDE controller
// in compatibility mode Linux drives (shown to it in native mode on the
// channel's ISA line; docs/linux.md, "Disks").
void Compiler::parse_device_ide_channel(const toml::node& n, ParsedDevice& d, const Parsed& p,
                                        const std::string& where) {
    const std::optional<std::string> v = n.value<std::string>();
    if (!n.is_string() || (*v != "primary" && *v != "secondary")) {
        error(pos_of(n), fmt::format("ide_channel of {} must be \"primary\" or \"secondary\", not {}", where,
                                     n.is_string() ? fmt::format("'{}'", *v) : type_name(n)));
        return;
    }
    if (p.part.kind != NATSUME_KIND_LINUX) {
        error(pos_of(n), fmt::format("ide_channel of {} is for a Linux partition's IDE controller; the guest kernel "
                                     "drives both channels of a controller in compatibility mode",
                                     where));
        return;
    }
    if (*v == "secondary") d.dev.flags |= NATSUME_DEVICE_IDE_SECONDARY;
}

std::string available_images(const std::filesystem::path& dir) {
    std::set<std::string> names;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
        if (e.path().extension() == ".elf") names.insert(e.path().stem().string());
    if (names.empty()) return "none";
    return fmt::format("{}", fmt::join(names, ", "));
}

// A module name (image, kernel or initramfs): 1-63 characters of letters,
// digits, '.', '_' and '-'; with --image-dir, the file must exist there
// (<name>.elf for an ELF guest image, <name> itself for Linux's files).
bool Compiler::parse_module(const toml::node& n, Parsed& p, std::string_view what,
                            char (&dest)[NATSUME_CONFIG_IMAGE_LEN], bool elf) {
    if (!n.is_string()) {
        error(pos_of(n), fmt::format("{} of {} must be a string, not {}", what, p.label, type_name(n)));
        return false;
    }
    std::string name = *n.value<std::string>();
    if (name.empty()) {
        error(pos_of(n), fmt::format("{} of {} is empty; name the file, e.g. {}", what, p.label,
                                     elf ? "image = \"guest-kernel\"" : "kernel = \"linux.bzImage\""));
        return false;
    }
    if (name.size() >= NATSUME_CONFIG_IMAGE_LEN) {
        error(pos_of(n), fmt::format("{} '{}' of {} is {} characters long; the limit is {}", what, name, p.label,
                                     name.size(), NATSUME_CONFIG_IMAGE_LEN - 1));
        return false;
    }
    auto bad = std::find_if_not(name.begin(), name.end(), valid_image_char);
    if (bad != name.end()) {
        error(pos_of(n), fmt::format("{} '{}' of {} contains '{}'; use only letters, digits, '.', '_' and '-'", what,
                                     name, p.label, *bad));
        return false;
    }
    if (options_.image_dir) {
        std::error_code ec;
        auto path = elf ? image_path(*options_.image_dir, name) : *options_.image_dir / name;
        if (!std::filesystem::is_regular_file(path, ec)) {
            error(pos_of(n),
                  elf ? fmt::format("image '{}' not found in {} (available: {}); the file must be {}.elf", name,
                                    options_.image_dir->string(), available_images(*options_.image_dir), name)
                      : fmt::format("{} '{}' not found in {}", what, name, options_.image_dir->string()));
            return false;
        }
    }
    std::memcpy(dest, name.data(), name.size());
    return true;
}

void Compiler::parse_image(const toml::node& n, Parsed& p) { (void)parse_module(n, p, "image", p.part.image, true); }

// kind = "natsume" (the default: an ELF guest kernel) or "linux" (a bzImage).
void Compiler::parse_kind(const toml::table& t, Parsed& p) {
    const toml::node* n = t.get("kind");
    if (!n) return;
    const std::optional<std::string> v = n->value<std::string>();
    if (!n->is_string() || (*v != "natsume" && *v != "linux")) {
        error(pos_of(*n), fmt::format("kind of {} must be \"natsume\" (an ELF guest kernel, the default) or "
                                      "\"linux\" (a bzImage), not {}",
                                      p.label, n->is_string() ? fmt::format("'{}'", *v) : type_name(*n)));
        return;
    }
    p.part.kind = *v == "linux" ? NATSUME_KIND_LINUX : NATSUME_KIND_NATSUME;
}

// An ELF partition names its image; a Linux partition its kernel and, optionally, its initramfs.
void Compiler::parse_boot_files(const toml::table& t, Position where, const std::string& ctx, Parsed& p) {
    if (p.part.kind != NATSUME_KIND_LINUX) {
        for (const char* key : {"kernel", "initramfs"})
            if (const toml::node* n = t.get(key))
                error(pos_of(*n), fmt::format("{} of {} is for a Linux partition; add kind = \"linux\", or name an "
                                              "ELF guest with image = ...",
                                              key, p.label));
        if (const toml::node* n = require(t, "image", where, ctx, "image = \"guest-kernel\"")) parse_image(*n, p);
        return;
    }
    if (const toml::node* n = t.get("image"))
        error(pos_of(*n),
              fmt::format("{} is a Linux partition: name its bzImage with kernel = \"...\", not image", p.label));
    // Its main memory (linux_boot::main_memory): the dma window when there is one, else its RAM.
    if (p.dma_ok && p.part.dma_size < NATSUME_LINUX_RAM_MIN)
        error(p.dma_pos, fmt::format("dma window of {} is {}; a Linux partition's memory above 1 MiB is its dma "
                                     "window, and Linux needs at least {} MiB to decompress and start its kernel",
                                     p.label, describe_mib(p.part.dma_size), NATSUME_LINUX_RAM_MIN >> 20));
    if (p.dma_ok && p.part.dma_base + p.part.dma_size > NATSUME_LINUX_MAIN_END)
        error(p.dma_pos, fmt::format("dma window {}+{} of {} ends above {}: a Linux partition's window must lie "
                                     "below it, in the write-back memory its boot page tables map",
                                     hex(p.part.dma_base), hex(p.part.dma_size), p.label, hex(NATSUME_LINUX_MAIN_END)));
    if (!p.dma_ok && p.ram_ok && p.part.ram_size < NATSUME_LINUX_RAM_MIN)
        error(p.ram_pos, fmt::format("ram of {} is {}; a Linux partition needs at least {} MiB to decompress and "
                                     "start its kernel",
                                     p.label, describe_mib(p.part.ram_size), NATSUME_LINUX_RAM_MIN >> 20));
    bool ok = false;
    if (const toml::node* n = require(t, "kernel", where, ctx, "kernel = \"linux.bzImage\""))
        ok = parse_module(*n, p, "kernel", p.part.image, false);
    if (const toml::node* n = t.get("initramfs")) ok = parse_module(*n, p, "initramfs", p.part.initramfs, false) && ok;
    if (ok && options_.image_dir) check_linux_fit(t, p);
}

std::vector<uint8_t> read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// With the files at hand: the bzImage is one this hypervisor can start, and
// it and the initramfs fit the partition's RAM as the hypervisor will place them.
void Compiler::check_linux_fit(const toml::table& t, Parsed& p) {
    Position at                      = pos_of(*t.get("kernel"));
    const std::vector<uint8_t> image = read_file(*options_.image_dir / p.part.image);
    linux_boot::Kernel k;
    linux_boot::Error e = linux_boot::parse(image.data(), image.size(), k);
    if (e != linux_boot::Error::Ok) {
        error(at, fmt::format("kernel '{}' of {}: {}", p.part.image, p.label, linux_boot::to_string(e)));
        return;
    }
    if (linux_boot::clears_paging_in_decompressor(k.version))
        note(at, fmt::format("kernel '{}' ({}) turns paging off in its decompressor: it starts only on a CPU with "
                             "unrestricted guest (not on a Core i7 920); Linux 6.1.82 and later keep paging on",
                             p.part.image, k.version));
    uint64_t initrd = 0;
    if (p.part.initramfs[0]) {
        std::error_code ec;
        initrd = std::filesystem::file_size(*options_.image_dir / p.part.initramfs, ec);
    }
    if (!p.ram_ok || (t.get("dma") && !p.dma_ok)) return;
    const linux_boot::Span main = linux_boot::main_memory(p.part.ram_size, p.part.dma_base, p.part.dma_size);
    linux_boot::Layout layout;
    if (linux_boot::plan(k, main, initrd, layout) == linux_boot::LayoutError::Ok) return;
    auto mib                = [](uint64_t b) { return fmt::format("{:.1f} MiB", static_cast<double>(b) / (1 << 20)); };
    const std::string needs = fmt::format("its kernel (decompressing into {} at guest {:#x}) and initramfs ({}) need",
                                          mib(k.init_size), layout.kernel_gpa, mib(initrd));
    if (p.dma_ok)
        error(p.dma_pos, fmt::format("dma window of {} is {}, but {} {}; make dma.size at least {} MiB", p.label,
                                     describe_mib(p.part.dma_size), needs, mib(layout.end_needed - main.base),
                                     (((layout.end_needed - main.base) >> 21) + 1) * 2));
    else
        error(p.ram_pos, fmt::format("ram of {} is {}, but {} {}; make ram.size at least {} MiB", p.label,
                                     describe_mib(p.part.ram_size), needs, mib(layout.end_needed),
                                     ((layout.end_needed >> 21) + 1) * 2));
}

void Compiler::parse_cmdline(const toml::node& n, Parsed& p) {
    if (!n.is_string()) {
        error(pos_of(n), fmt::format("cmdline of {} must be a string, not {}", p.label, type_name(n)));
        return;
    }
    std::string cmdline = *n.value<std::string>();
    if (cmdline.size() >= NATSUME_CONFIG_CMDLINE_LEN) {
        error(pos_of(n), fmt::format("cmdline of {} is {} characters long; the limit is {}", p.label, cmdline.size(),
                                     NATSUME_CONFIG_CMDLINE_LEN - 1));
        return;
    }
    if (cmdline.find('\0') != std::string::npos) {
        error(pos_of(n), fmt::format("cmdline of {} contains a NUL character", p.label));
        return;
    }
    std::memcpy(p.part.cmdline, cmdline.data(), cmdline.size());
}

// A boolean key that sets one bit of the partition's flags when true.
void Compiler::parse_flag(const toml::table& t, std::string_view key, uint32_t flag, Parsed& p) {
    const toml::node* n = t.get(key);
    if (!n) return;
    if (!n->is_boolean())
        error(pos_of(*n), fmt::format("{} of {} must be true or false, not {}", key, p.label, type_name(*n)));
    else if (*n->value<bool>())
        p.part.flags |= flag;
}

void Compiler::parse_lapic(const toml::node& n, Parsed& p) {
    if (!n.is_string()) {
        error(pos_of(n), fmt::format("lapic of {} must be a string, not {}; write lapic = \"passthrough\"", p.label,
                                     type_name(n)));
        return;
    }
    std::string mode = *n.value<std::string>();
    if (mode == "passthrough")
        p.part.lapic_mode = NATSUME_LAPIC_PASSTHROUGH;
    else if (mode == "trapped")
        p.part.lapic_mode = NATSUME_LAPIC_TRAPPED;
    else
        error(pos_of(n),
              fmt::format("lapic = \"{}\" in {} is not a LAPIC mode; allowed: passthrough, trapped", mode, p.label));
}

void Compiler::check_between_partitions() {
    for (size_t j = 0; j < parsed_.size(); ++j) {
        const Parsed& b = parsed_[j];
        for (size_t i = 0; i < j; ++i) {
            const Parsed& a = parsed_[i];
            if (a.name_ok && b.name_ok && std::strcmp(a.part.name, b.part.name) == 0)
                error(b.name_pos, fmt::format("partition name '{}' is already used at line {}; partition names must "
                                              "be unique",
                                              b.part.name, a.name_pos.line));
            check_pair_cores(a, b);
            if (a.ram_ok && b.ram_ok &&
                ranges_overlap(a.part.ram_base, a.part.ram_size, b.part.ram_base, b.part.ram_size))
                error(b.ram_pos,
                      fmt::format("ram {}+{} of {} overlaps {} ({}+{}, line {}); e.g. base = {} is free of "
                                  "it",
                                  hex(b.part.ram_base), hex(b.part.ram_size), b.label, a.label, hex(a.part.ram_base),
                                  hex(a.part.ram_size), a.ram_pos.line, hex(a.part.ram_base + a.part.ram_size)));
            check_pair_dma(a, b);
            check_pair_dma(b, a);
        }
    }
    check_devices_unique();
}

// Every core of the later partition b against every core of a.
void Compiler::check_pair_cores(const Parsed& a, const Parsed& b) {
    if (!a.core_ok || !b.core_ok) return;
    for (uint32_t y = 0; y < b.part.core_count; ++y)
        for (uint32_t x = 0; x < a.part.core_count; ++x)
            if (a.part.cores[x] == b.part.cores[y])
                error(b.core_pos[y], fmt::format("core {} of {} is already given to {} (line {}); a core belongs to "
                                                 "one partition only",
                                                 b.part.cores[y], b.label, a.label, a.core_pos[x].line));
}

// b's DMA window against a's RAM and a's window (called both ways round, so
// the window-window case is reported twice: only when b comes later).
void Compiler::check_pair_dma(const Parsed& a, const Parsed& b) {
    if (!b.dma_ok) return;
    const natsume_config_partition& w = b.part;
    if (a.ram_ok && ranges_overlap(a.part.ram_base, a.part.ram_size, w.dma_base, w.dma_size))
        error(b.dma_pos, fmt::format("dma window {}+{} of {} overlaps the ram of {} ({}+{}, line {})", hex(w.dma_base),
                                     hex(w.dma_size), b.label, a.label, hex(a.part.ram_base), hex(a.part.ram_size),
                                     a.ram_pos.line));
    bool b_later = std::tie(b.dma_pos.line, b.dma_pos.column) > std::tie(a.dma_pos.line, a.dma_pos.column);
    if (a.dma_ok && b_later && ranges_overlap(a.part.dma_base, a.part.dma_size, w.dma_base, w.dma_size))
        error(b.dma_pos, fmt::format("dma window {}+{} of {} overlaps the dma window of {} ({}+{}, line {})",
                                     hex(w.dma_base), hex(w.dma_size), b.label, a.label, hex(a.part.dma_base),
                                     hex(a.part.dma_size), a.dma_pos.line));
}

void Compiler::check_devices_unique() {
    struct Seen {
        const Parsed* owner;
        const ParsedDevice* dev;
    };
    std::vector<Seen> seen;
    for (const Parsed& p : parsed_)
        for (const ParsedDevice& d : p.devices) {
            if (!d.bdf_ok) continue;
            auto first =
                std::find_if(seen.begin(), seen.end(), [&](const Seen& s) { return s.dev->dev.bdf == d.dev.bdf; });
            if (first == seen.end()) {
                seen.push_back({&p, &d});
            } else if (first->owner == &p) {
                error(d.bdf_pos, fmt::format("device {} is given twice in {} (line {})", format_bdf(d.dev.bdf), p.label,
                                             first->dev->bdf_pos.line));
            } else {
                error(d.bdf_pos,
                      fmt::format("device {} is given to both {} and {}: a device belongs to one "
                                  "partition (line {})",
                                  format_bdf(d.dev.bdf), first->owner->who, p.who, first->dev->bdf_pos.line));
            }
        }
}

const ParsedDevice* find_parsed(const Parsed& p, uint16_t bdf) {
    for (const ParsedDevice& d : p.devices)
        if (d.bdf_ok && d.dev.bdf == bdf) return &d;
    return nullptr;
}

// Offline, only explicit intx_gsi values are known; the hypervisor repeats
// this with the GSIs it resolves at boot.
void Compiler::add_notes(const natsume_config_header* h) {
    std::vector<config::SharedLine> lines(NATSUME_CONFIG_MAX_PARTITIONS * NATSUME_CONFIG_MAX_DEVICES);
    config::Platform none{nullptr, 0, 0, nullptr, 0, nullptr, 0};
    size_t n = config::shared_intx_lines(h, none, lines.data(), lines.size());
    for (size_t k = 0; k < n && k < lines.size(); ++k) {
        const config::SharedLine& l = lines[k];
        std::vector<std::string> users;
        for (size_t i = 0; i < l.count; ++i)
            users.push_back(fmt::format("{} ({})", format_bdf(l.bdf[i]), parsed_[l.partition[i]].part.name));
        std::string list =
            users.size() == 2 ? users[0] + " and " + users[1]
                              : fmt::format("{} and {}", fmt::join(users.begin(), users.end() - 1, ", "), users.back());
        const Parsed& last_owner = parsed_[l.partition[l.count - 1]];
        const ParsedDevice* d    = find_parsed(last_owner, l.bdf[l.count - 1]);
        note(d ? d->gsi_pos : Position{}, fmt::format("INTx GSI {} is shared by {}: delivered per device by the "
                                                      "hypervisor's shared-line routing",
                                                      l.gsi, list));
    }
    for (const Parsed& p : parsed_) {
        if (p.part.dma_size != 0) continue;
        for (const ParsedDevice& d : p.devices)
            if ((d.dev.flags & NATSUME_DEVICE_NO_DMA) == 0) {
                note(d.bdf_pos, fmt::format("{} owns DMA-capable device {} but has no dma window: it boots only "
                                            "where an IOMMU isolates DMA (add dma = {{ ... }}, or dma = false on the "
                                            "device)",
                                            p.label, format_bdf(d.dev.bdf)));
                break;
            }
    }
}

void Compiler::finish() {
    std::stable_sort(result_.errors.begin(), result_.errors.end(), [](const Diagnostic& a, const Diagnostic& b) {
        return std::tie(a.line, a.column) < std::tie(b.line, b.column);
    });
    if (!result_.errors.empty()) return;
    Machine m{machine_name_, {}, {}};
    for (const Parsed& p : parsed_) m.partitions.push_back(p.part);
    for (const ParsedChannel& c : channels_) m.channels.push_back(c.ch);
    std::vector<uint8_t> blob = encode_blob(m);
    // Self-check with the hypervisor's own validator: anything the offline
    // checks above let through would be refused at boot. Channels are placed
    // by it alone; its refusal names the channel and key to point at.
    config::Report r;
    if (!config::validate_blob(blob.data(), blob.size(), r)) {
        if (r.channel != config::NO_CHANNEL)
            error(channel_position(r), r.text);
        else
            error({}, fmt::format("the compiled file fails the hypervisor's check: {}", r.text));
        return;
    }
    add_notes(reinterpret_cast<const natsume_config_header*>(blob.data()));
    std::stable_sort(result_.notes.begin(), result_.notes.end(), [](const Diagnostic& x, const Diagnostic& y) {
        return std::tie(x.line, x.column) < std::tie(y.line, y.column);
    });
    result_.blob = std::move(blob);
}

CompileResult Compiler::run(std::string_view text) {
    toml::table root;
    try {
        root = toml::parse(text, source_);
    } catch (const toml::parse_error& e) {
        error(pos_of(e.source()), fmt::format("invalid TOML: {}", e.description()));
        return std::move(result_);
    }
    parse_root(root);
    check_between_partitions();
    finish();
    return std::move(result_);
}

}  // namespace

std::string Diagnostic::str() const {
    const char* kind = is_note ? "note" : "error";
    if (line == 0)  // not about a place in the file (e.g. it cannot be read)
        return fmt::format("{}: {}: {}", file, kind, message);
    return fmt::format("{}:{}:{}: {}: {}", file, line, column, kind, message);
}

CompileResult compile_partition_text(std::string_view toml_text, std::string_view source_name,
                                     const CompileOptions& options) {
    return Compiler(source_name, options).run(toml_text);
}

CompileResult compile_partition_file(const std::filesystem::path& file, const CompileOptions& options) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        CompileResult r;
        r.errors.push_back({file.string(), 0, 0, "cannot read the file"});
        return r;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return compile_partition_text(ss.str(), file.string(), options);
}

std::vector<uint8_t> encode_blob(const Machine& machine) {
    natsume_config_header h{};
    h.magic           = NATSUME_CONFIG_MAGIC;
    h.version         = NATSUME_CONFIG_VERSION;
    h.header_size     = sizeof h;
    h.partition_size  = sizeof(natsume_config_partition);
    h.partition_count = static_cast<uint32_t>(machine.partitions.size());
    h.channel_size    = sizeof(natsume_config_channel);
    h.channel_count   = static_cast<uint32_t>(machine.channels.size());
    size_t parts      = machine.partitions.size() * sizeof(natsume_config_partition);
    size_t chans      = machine.channels.size() * sizeof(natsume_config_channel);
    h.total_size      = static_cast<uint32_t>(sizeof h + parts + chans);
    std::memcpy(h.name, machine.name.data(), std::min<size_t>(machine.name.size(), sizeof h.name - 1));

    std::vector<uint8_t> blob(h.total_size);
    std::memcpy(blob.data(), &h, sizeof h);
    if (parts) std::memcpy(blob.data() + sizeof h, machine.partitions.data(), parts);
    if (chans) std::memcpy(blob.data() + sizeof h + parts, machine.channels.data(), chans);
    uint32_t crc = crc32(blob.data(), blob.size());  // crc32 field is still zero here
    std::memcpy(blob.data() + offsetof(natsume_config_header, crc32), &crc, sizeof crc);
    return blob;
}

std::filesystem::path image_path(const std::filesystem::path& image_dir, std::string_view image) {
    return image_dir / (std::string(image) + ".elf");
}

}  // namespace natsume::tools
