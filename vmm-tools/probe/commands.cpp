#include "vmm-tools/probe/commands.hpp"

#include <fmt/format.h>
#include <fstream>
#include <sstream>

#include "vmm-tools/config/partition_file.hpp"
#include "vmm-tools/config/pci_names.hpp"
#include "vmm-tools/probe/check_machine.hpp"
#include "vmm-tools/probe/draft_toml.hpp"
#include "vmm-tools/probe/machine_toml.hpp"
#include "vmm-tools/probe/probe.hpp"

namespace natsume::probe {

namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool write_file(const fs::path& p, const std::string& text) {
    std::ofstream o(p, std::ios::binary | std::ios::trunc);
    o << text;
    o.close();
    if (!o) fmt::print(stderr, "natsume-config probe: error: cannot write {}\n", p.string());
    return static_cast<bool>(o);
}

std::string name_for(const Tree& tree) {
    if (tree.root() != "/") return fs::absolute(tree.root()).lexically_normal().filename().string();
    auto host = tree.text("/proc/sys/kernel/hostname");
    return host ? *host : "machine";
}

std::string summary(const DraftPartition& p) {
    std::vector<std::string> devs;
    for (const DraftDevice& d : p.devices) devs.push_back(tools::format_bdf(d.fn->bdf));
    return fmt::format("{} on core {} with {}", p.name, p.core,
                       devs.empty() ? std::string("no device") : fmt::format("{}", fmt::join(devs, " ")));
}

// Errors on stderr, notes on stdout, as check prints them.
void print(const fs::path& file, const MachineFinding& f) {
    std::FILE* to    = f.is_note ? stdout : stderr;
    const char* kind = f.is_note ? "note" : "error";
    if (f.line)
        fmt::print(to, "{}:{}:{}: {}: {}\n", file.string(), f.line, f.column, kind, f.text);
    else
        fmt::print(to, "{}: {}: {}\n", file.string(), kind, f.text);
}

// The draft must pass the checks it is written for; a refusal here is a probe bug.
bool self_check(const fs::path& draft_file, const Machine& m) {
    tools::CompileResult r = tools::compile_partition_file(draft_file);
    for (const tools::Diagnostic& d : r.errors)
        fmt::print(stderr, "natsume-config probe: draft refused: {}\n", d.str());
    if (!r.ok()) return false;
    auto h = reinterpret_cast<const natsume_config_header*>(r.blob.data());
    for (const MachineFinding& f : check_on_machine(h, m, read_all(draft_file)))
        if (!f.is_note) {
            fmt::print(stderr, "natsume-config probe: draft does not fit the machine: {}\n", f.text);
            return false;
        }
    return true;
}

}  // namespace

int run_probe(const fs::path& root, const fs::path& out_dir) {
    Tree tree(root);
    auto probed = probe_machine(tree);
    if (!probed) {
        fmt::print(stderr, "natsume-config probe: error: {}\n", probed.error());
        return 1;
    }
    std::error_code ec;
    fs::create_directories(out_dir, ec);
    if (ec) {
        fmt::print(stderr, "natsume-config probe: error: cannot create {}: {}\n", out_dir.string(), ec.message());
        return 1;
    }
    const Machine& m              = probed->machine;
    Draft draft                   = make_draft(m, name_for(tree));
    std::vector<Warning> warnings = probed->warnings;
    warnings.insert(warnings.end(), draft.warnings.begin(), draft.warnings.end());
    for (const Warning& w : warnings)
        fmt::print(stderr, "natsume-config probe: warning [{}]: {}\n", kind_name(w.kind), w.text);
    fs::path machine_file = out_dir / "machine.toml", draft_file = out_dir / "partitions.toml";
    if (!write_file(machine_file, machine_toml(m)) || !write_file(draft_file, draft_toml(draft, warnings))) return 1;
    fmt::print(
        "{}: {} cores, {} PCI functions, VT-d {}\n", machine_file.string(), m.cores.size(), m.pci.size(),
        m.vtd.present ? (m.vtd.ir_usable ? "with interrupt remapping" : "without interrupt remapping") : "absent");
    if (draft.partitions.empty()) {
        fmt::print(stderr,
                   "natsume-config probe: error: no partition fits this machine (see the warnings); {} has "
                   "none\n",
                   draft_file.string());
        return 1;
    }
    std::vector<std::string> parts;
    for (const DraftPartition& p : draft.partitions) parts.push_back(summary(p));
    fmt::print("{}: {}\n", draft_file.string(), fmt::join(parts, "; "));
    return self_check(draft_file, m) ? 0 : 1;
}

int check_file_on_machine(const fs::path& file, const natsume_config_header* h, const fs::path& machine_file) {
    auto m = read_machine_file(machine_file);
    if (!m) {
        fmt::print(stderr, "{}\n", m.error());
        return 1;
    }
    std::vector<MachineFinding> findings = check_on_machine(h, *m, read_all(file));
    int status                           = 0;
    for (MachineFinding& f : findings) {
        if (!f.is_note) {
            f.text = fmt::format("does not fit the machine in {}: {}", machine_file.string(), f.text);
            status = 1;
        }
        print(file, f);
    }
    return status;
}

}  // namespace natsume::probe
