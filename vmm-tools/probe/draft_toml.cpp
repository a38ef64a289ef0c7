#include "vmm-tools/probe/draft_toml.hpp"

#include <fmt/format.h>

#include "vmm-tools/config/pci_names.hpp"
#include "vmm-tools/config/sizes.hpp"

namespace natsume::probe {

namespace {

// Comment lines of at most ~100 columns, each starting with `lead`.
void comment(std::string& o, const std::string& text, const std::string& lead = "# ") {
    std::string line;
    size_t start = 0;
    while (start < text.size()) {
        size_t end       = text.find(' ', start);
        std::string word = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (!line.empty() && line.size() + 1 + word.size() > 100) {
            o += lead + line + "\n";
            line.clear();
        }
        line += (line.empty() ? "" : " ") + word;
        if (end == std::string::npos) break;
        start = end + 1;
    }
    if (!line.empty()) o += lead + line + "\n";
}

std::string range(const DraftRange& r) {
    return fmt::format("{{ base = {:#010x}, size = \"{}\" }}", r.base, tools::format_size(r.size));
}

void write_device(std::string& o, const DraftDevice& d) {
    o += "\n";
    for (const std::string& c : d.comments) comment(o, c);
    o += fmt::format("[[partition.device]]\nbdf = \"{}\"\nid = \"{:04x}:{:04x}\"\n", tools::format_bdf(d.fn->bdf),
                     d.fn->vendor, d.fn->device);
    if (d.intx_gsi) o += fmt::format("intx_gsi = {}\n", *d.intx_gsi);
}

void write_partition(std::string& o, const DraftPartition& p) {
    o += "\n";
    for (const std::string& c : p.comments) comment(o, c);
    o += fmt::format("[[partition]]\nname = \"{}\"\n", p.name);
    for (const std::string& c : p.core_comments) comment(o, c);
    o += fmt::format("cores = [{}]\nram = {}\n", p.core, range(p.ram));
    if (p.dma) o += fmt::format("dma = {}\n", range(*p.dma));
    if (p.allow_unisolated_dma) o += "allow_unisolated_dma = true\n";
    if (p.allow_smt_sharing) o += "allow_smt_sharing = true   # shares the boot core's physical core\n";
    o += fmt::format("image = \"{}\"\ncmdline = \"{}\"\nlapic = \"{}\"\n", p.image, p.cmdline, p.lapic);
    for (const DraftDevice& d : p.devices) write_device(o, d);
}

}  // namespace

std::string draft_toml(const Draft& d, const std::vector<Warning>& warnings) {
    std::string o =
        "# Draft partition file written by natsume-config probe (docs/probe.md) from machine.toml.\n"
        "# Check it: natsume-config check partitions.toml --machine machine.toml\n";
    if (!warnings.empty()) o += "#\n# Warnings:\n";
    for (const Warning& w : warnings) comment(o, fmt::format("[{}] {}", kind_name(w.kind), w.text), "#   ");
    if (!d.left_out.empty()) o += "#\n# Not assigned:\n";
    for (const std::string& l : d.left_out) comment(o, l, "#   ");
    o += fmt::format("\nversion = 1\nname = \"{}\"\n", d.name);
    for (const DraftPartition& p : d.partitions) write_partition(o, p);
    return o;
}

}  // namespace natsume::probe
