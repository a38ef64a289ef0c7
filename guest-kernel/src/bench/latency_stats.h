// Latency statistics computed in the guest over every sample: sort,
// nearest-rank percentiles, log-spaced histogram. Pure code, host-tested.
// Samples are signed: a timer may fire before the expiry the guest computed
// (an emulator that arms against another clock, or a wrong expected time),
// and hiding that as 0 would hide the error.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume::guest::stats {

struct Summary {
    int64_t min = 0, p50 = 0, p99 = 0, max = 0;
};

// In-place heap sort: no recursion, no allocation, O(n log n) worst case.
void sort(int64_t* v, size_t n);

// Nearest-rank percentile of sorted data: the smallest sample with at least
// pct percent of the samples at or below it. 0 for no samples.
int64_t percentile(const int64_t* sorted, size_t n, unsigned pct);
Summary summarize(const int64_t* sorted, size_t n);

// 32 buckets, four per octave (2^(k/4) steps). With a smallest sample >= 1
// they start at the power of two at or below it; with a smallest sample <= 0
// the same steps are laid over the distance from it (min + step - 1), so
// negative latencies keep a fine grid. The last bucket also holds everything
// above.
inline constexpr unsigned BUCKETS = 32;
struct Histogram {
    int64_t lo[BUCKETS]     = {};
    uint64_t count[BUCKETS] = {};
};
int64_t bucket_floor(int64_t min_sample, unsigned k);
Histogram histogram(const int64_t* sorted, size_t n);

}  // namespace natsume::guest::stats
