// RAM of the draft: free usable memory above the hypervisor's zone
// (hypervisor_zone.hpp), clear of RMRRs, 2 MiB aligned (docs/probe.md "RAM").
#include <algorithm>

#include "common/range.hpp"
#include "vmm-tools/probe/draft.hpp"
#include "vmm-tools/probe/hypervisor_zone.hpp"

namespace natsume::probe {

namespace {

uint64_t align_up(uint64_t v) { return (v + RAM_ALIGN - 1) & ~(RAM_ALIGN - 1); }
uint64_t align_down(uint64_t v) { return v & ~(RAM_ALIGN - 1); }

// `r` minus [cut, cut + size), as zero, one or two pieces.
std::vector<DraftRange> subtract(const DraftRange& r, uint64_t cut, uint64_t size) {
    if (!ranges_overlap(r.base, r.size, cut, size)) return {r};
    std::vector<DraftRange> out;
    if (cut > r.base) out.push_back({r.base, cut - r.base});
    uint64_t end = r.base + r.size, cut_end = cut + size;
    if (cut_end < end) out.push_back({cut_end, end - cut_end});
    return out;
}

}  // namespace

std::vector<DraftRange> free_memory(const Machine& m) {
    std::vector<DraftRange> free;
    for (const MemoryRange& r : m.memory) {
        if (!r.usable()) continue;
        uint64_t lo = std::max(align_up(r.base), HYPERVISOR_ZONE_END);
        uint64_t hi = std::min(align_down(r.base + r.size), MAPPED_LIMIT);
        if (hi > lo) free.push_back({lo, hi - lo});
    }
    for (const Rmrr& rm : m.vtd.rmrrs) {
        uint64_t lo = align_down(rm.base), hi = align_up(rm.limit + 1);
        std::vector<DraftRange> next;
        for (const DraftRange& r : free)
            for (const DraftRange& piece : subtract(r, lo, hi - lo)) next.push_back(piece);
        free = next;
    }
    std::sort(free.begin(), free.end(), [](const DraftRange& a, const DraftRange& b) { return a.base < b.base; });
    return free;
}

std::optional<DraftRange> take(std::vector<DraftRange>& free, uint64_t size, uint64_t min_base) {
    for (size_t i = 0; i < free.size(); ++i) {
        uint64_t base = std::max(free[i].base, align_up(min_base));
        uint64_t end  = free[i].base + free[i].size;
        if (base >= end || end - base < size) continue;
        DraftRange got{base, size};
        std::vector<DraftRange> rest = subtract(free[i], base, size);
        free.erase(free.begin() + static_cast<std::ptrdiff_t>(i));
        free.insert(free.begin() + static_cast<std::ptrdiff_t>(i), rest.begin(), rest.end());
        return got;
    }
    return std::nullopt;
}

}  // namespace natsume::probe
