#include "vmm-tools/probe/cpuinfo.hpp"

#include <fmt/format.h>
#include <map>
#include <sstream>

#include "vmm-tools/probe/tree.hpp"

namespace natsume::probe {

namespace {

using Block = std::map<std::string, std::string>;

std::string trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return std::string(s);
}

std::vector<Block> blocks_of(std::string_view text) {
    std::vector<Block> blocks(1);
    std::istringstream in{std::string(text)};
    for (std::string line; std::getline(in, line);) {
        size_t colon = line.find(':');
        if (trim(line).empty()) {
            if (!blocks.back().empty()) blocks.emplace_back();
            continue;
        }
        if (colon == std::string::npos) continue;
        blocks.back()[trim(std::string_view(line).substr(0, colon))] = trim(std::string_view(line).substr(colon + 1));
    }
    if (blocks.back().empty()) blocks.pop_back();
    return blocks;
}

std::set<std::string> words(const Block& b, const char* key) {
    std::set<std::string> out;
    auto it = b.find(key);
    if (it == b.end()) return out;
    std::istringstream in(it->second);
    for (std::string w; in >> w;) out.insert(w);
    return out;
}

std::optional<uint32_t> number(const Block& b, const char* key) {
    auto it = b.find(key);
    if (it == b.end()) return std::nullopt;
    auto v = parse_number(it->second);
    if (!v || *v > UINT32_MAX) return std::nullopt;
    return static_cast<uint32_t>(*v);
}

}  // namespace

Result<std::vector<CpuInfo>> parse_cpuinfo(std::string_view text) {
    std::vector<CpuInfo> cpus;
    for (const Block& b : blocks_of(text)) {
        auto processor = number(b, "processor");
        auto apic      = number(b, "apicid");
        if (!processor)
            return Result<std::vector<CpuInfo>>::failure(
                "/proc/cpuinfo has a block without a 'processor' line: not an x86 Linux cpuinfo");
        if (!apic)
            return Result<std::vector<CpuInfo>>::failure(
                fmt::format("/proc/cpuinfo gives processor {} no 'apicid' line: not an x86 Linux cpuinfo", *processor));
        CpuInfo c;
        c.processor = *processor;
        c.apic_id   = *apic;
        c.package   = number(b, "physical id").value_or(0);
        c.core_id   = number(b, "core id").value_or(c.processor);
        c.siblings  = number(b, "siblings").value_or(1);
        c.cpu_cores = number(b, "cpu cores").value_or(1);
        if (auto it = b.find("model name"); it != b.end()) c.model = it->second;
        c.flags     = words(b, "flags");
        c.vmx_flags = words(b, "vmx flags");
        cpus.push_back(std::move(c));
    }
    if (cpus.empty()) return Result<std::vector<CpuInfo>>::failure("/proc/cpuinfo lists no processor");
    return cpus;
}

}  // namespace natsume::probe
