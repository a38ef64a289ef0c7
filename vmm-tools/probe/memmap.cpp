#include "vmm-tools/probe/memmap.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace natsume::probe {

Result<MemoryRange> parse_memmap_entry(std::string_view start, std::string_view end, std::string_view type) {
    auto s = parse_number(start), e = parse_number(end);
    if (!s || !e || *e < *s || (*s == 0 && *e == UINT64_MAX))
        return Result<MemoryRange>::failure(fmt::format("memory map entry '{}'-'{}' is not a range of addresses",
                                                        std::string(start), std::string(end)));
    while (!type.empty() && (type.back() == '\n' || type.back() == ' ')) type.remove_suffix(1);
    return MemoryRange{*s, *e - *s + 1, std::string(type)};
}

Result<std::vector<MemoryRange>> read_memmap(const Tree& tree) {
    std::vector<MemoryRange> out;
    for (const std::string& n : tree.list("/sys/firmware/memmap")) {
        std::string dir = "/sys/firmware/memmap/" + n;
        auto s = tree.text(dir + "/start"), e = tree.text(dir + "/end"), t = tree.text(dir + "/type");
        for (auto* r : {&s, &e, &t})
            if (!*r) return Result<std::vector<MemoryRange>>::failure(r->error());
        auto range = parse_memmap_entry(*s, *e, *t);
        if (!range) return Result<std::vector<MemoryRange>>::failure(fmt::format("{}: {}", dir, range.error()));
        out.push_back(*range);
    }
    if (out.empty())
        return Result<std::vector<MemoryRange>>::failure(
            fmt::format("{} has no entries: this kernel has no CONFIG_FIRMWARE_MEMMAP, or the path is wrong",
                        tree.at("/sys/firmware/memmap").string()));
    std::sort(out.begin(), out.end(), [](const MemoryRange& a, const MemoryRange& b) { return a.base < b.base; });
    return out;
}

}  // namespace natsume::probe
