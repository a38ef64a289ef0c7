#include "bench/latency_stats.h"

namespace natsume::guest::stats {
namespace {

void sift_down(int64_t* v, size_t root, size_t n) {
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n) return;
        if (child + 1 < n && v[child + 1] > v[child]) ++child;
        if (v[root] >= v[child]) return;
        int64_t t = v[root];
        v[root]   = v[child];
        v[child]  = t;
        root      = child;
    }
}

// 2^(j/4) for j = 0..3, in thousandths.
constexpr uint64_t QUARTER_OCTAVE[4] = {1000, 1189, 1414, 1682};

uint64_t floor_pow2(uint64_t v) {
    uint64_t p = 1;
    while (p <= v / 2) p *= 2;
    return p;
}

}  // namespace

void sort(int64_t* v, size_t n) {
    if (n < 2) return;
    for (size_t i = n / 2; i-- > 0;) sift_down(v, i, n);
    for (size_t end = n - 1; end > 0; --end) {
        int64_t t = v[0];
        v[0]      = v[end];
        v[end]    = t;
        sift_down(v, 0, end);
    }
}

int64_t percentile(const int64_t* sorted, size_t n, unsigned pct) {
    if (n == 0) return 0;
    if (pct >= 100) return sorted[n - 1];
    // rank = ceil(pct/100 * n), 1-based
    size_t rank = (static_cast<size_t>(pct) * n + 99) / 100;
    return sorted[rank == 0 ? 0 : rank - 1];
}

Summary summarize(const int64_t* sorted, size_t n) {
    if (n == 0) return {};
    return Summary{sorted[0], percentile(sorted, n, 50), percentile(sorted, n, 99), sorted[n - 1]};
}

namespace {

// Positive bucket bounds for a smallest sample of `min_sample` >= 1.
uint64_t positive_floor(uint64_t min_sample, unsigned k) {
    uint64_t base = floor_pow2(min_sample == 0 ? 1 : min_sample);
    return (base << (k / 4)) * QUARTER_OCTAVE[k % 4] / 1000;
}

}  // namespace

int64_t bucket_floor(int64_t min_sample, unsigned k) {
    if (min_sample >= 1) return static_cast<int64_t>(positive_floor(static_cast<uint64_t>(min_sample), k));
    return min_sample + static_cast<int64_t>(positive_floor(1, k)) - 1;
}

Histogram histogram(const int64_t* sorted, size_t n) {
    Histogram h;
    int64_t min = n ? sorted[0] : 0;
    // Strictly increasing bounds, also where integer rounding of small
    // values would repeat one.
    for (unsigned k = 0; k < BUCKETS; ++k) {
        int64_t lo = bucket_floor(min, k);
        h.lo[k]    = k > 0 && lo <= h.lo[k - 1] ? h.lo[k - 1] + 1 : lo;
    }
    unsigned k = 0;
    // Sorted input: one forward sweep over samples and buckets.
    for (size_t i = 0; i < n; ++i) {
        while (k + 1 < BUCKETS && sorted[i] >= h.lo[k + 1]) ++k;
        ++h.count[k];
    }
    return h;
}

}  // namespace natsume::guest::stats
