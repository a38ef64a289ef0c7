// Latency statistics computed in the guest over every sample: sort,
// nearest-rank percentiles, log-spaced histogram. Pure code, host-tested.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace stats {

struct Summary {
    uint64_t min = 0, p50 = 0, p99 = 0, max = 0;
};

// In-place heap sort: no recursion, no allocation, O(n log n) worst case.
void sort(uint64_t* v, size_t n);

// Nearest-rank percentile of sorted data: the smallest sample with at least
// pct percent of the samples at or below it. 0 for no samples.
uint64_t percentile(const uint64_t* sorted, size_t n, unsigned pct);
Summary summarize(const uint64_t* sorted, size_t n);

// 32 buckets, four per octave (2^(k/4) steps), starting at the power of two
// at or below the smallest sample; the last bucket also holds everything above.
inline constexpr unsigned kBuckets = 32;
struct Histogram {
    uint64_t lo[kBuckets] = {};
    uint64_t count[kBuckets] = {};
};
uint64_t bucket_floor(uint64_t min_sample, unsigned k);
Histogram histogram(const uint64_t* sorted, size_t n);

}  // namespace stats
