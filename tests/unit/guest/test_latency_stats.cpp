#include <algorithm>
#include <catch2/catch.hpp>
#include <vector>

#include "bench/latency_stats.h"

namespace stats = natsume::guest::stats;

TEST_CASE("heap sort matches std::sort", "[guest][stats]") {
    std::vector<int64_t> v;
    uint64_t x = 12345;
    for (int i = 0; i < 10007; ++i) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        v.push_back(static_cast<int64_t>((x >> 33) % 5000) - 2500);  // signed: early timers are negative
    }
    std::vector<int64_t> ref = v;
    std::sort(ref.begin(), ref.end());
    stats::sort(v.data(), v.size());
    CHECK(v == ref);
    int64_t one = 7;
    stats::sort(&one, 1);
    CHECK(one == 7);
}

TEST_CASE("nearest-rank percentiles", "[guest][stats]") {
    std::vector<int64_t> v;
    for (int64_t i = 1; i <= 100; ++i) v.push_back(i);
    CHECK(stats::percentile(v.data(), v.size(), 50) == 50);
    CHECK(stats::percentile(v.data(), v.size(), 99) == 99);
    CHECK(stats::percentile(v.data(), v.size(), 100) == 100);
    CHECK(stats::percentile(v.data(), v.size(), 0) == 1);
    std::vector<int64_t> w(10000, 30);
    w.back()         = 900;  // one outlier in 10000 is above p99
    stats::Summary s = stats::summarize(w.data(), w.size());
    CHECK(s.min == 30);
    CHECK(s.p50 == 30);
    CHECK(s.p99 == 30);
    CHECK(s.max == 900);
    int64_t three[3] = {1, 2, 3};
    CHECK(stats::percentile(three, 3, 50) == 2);
    CHECK(stats::percentile(three, 3, 99) == 3);
    CHECK(stats::percentile(nullptr, 0, 50) == 0);
}

TEST_CASE("log-spaced histogram", "[guest][stats]") {
    CHECK(stats::bucket_floor(30, 0) == 16);
    CHECK(stats::bucket_floor(30, 4) == 32);
    CHECK(stats::bucket_floor(30, 2) == 22);  // 16 * sqrt(2)
    std::vector<int64_t> v = {30, 30, 31, 40, 100, 1000000000};
    stats::Histogram h     = stats::histogram(v.data(), v.size());
    uint64_t total         = 0;
    for (unsigned k = 0; k < stats::BUCKETS; ++k) {
        total += h.count[k];
        if (k > 0) CHECK(h.lo[k] > h.lo[k - 1]);
    }
    CHECK(total == v.size());
    CHECK(h.lo[3] == 26);
    CHECK(h.count[3] == 3);                   // [26, 32): 30, 30, 31
    CHECK(h.count[5] == 1);                   // [38, 45): 40
    CHECK(h.count[10] == 1);                  // [90, 107): 100
    CHECK(h.count[stats::BUCKETS - 1] == 1);  // the far outlier lands in the last bucket
    // Small values still give strictly increasing bucket bounds.
    int64_t two[2]     = {2, 2};
    stats::Histogram s = stats::histogram(two, 2);
    for (unsigned k = 1; k < stats::BUCKETS; ++k) CHECK(s.lo[k] > s.lo[k - 1]);
}

TEST_CASE("negative latencies keep their sign", "[guest][stats]") {
    // A timer that fires a period early gives large negative samples; they
    // must not be clamped or wrap around.
    std::vector<int64_t> v = {-997, -997, -996, -3, 0, 12};
    stats::sort(v.data(), v.size());
    stats::Summary s = stats::summarize(v.data(), v.size());
    CHECK(s.min == -997);
    CHECK(s.p50 == -996);
    CHECK(s.p99 == 12);
    CHECK(s.max == 12);
    std::vector<int64_t> shuffled = {12, -3, -997, 0, -996, -997};
    stats::sort(shuffled.data(), shuffled.size());
    CHECK(shuffled == v);
}

TEST_CASE("histogram below one starts at the smallest sample", "[guest][stats]") {
    CHECK(stats::bucket_floor(-997, 0) == -997);
    CHECK(stats::bucket_floor(-997, 4) == -996);  // 2^(4/4) - 1 above the minimum
    CHECK(stats::bucket_floor(0, 8) == 3);        // 4 - 1
    std::vector<int64_t> v = {-997, -997, -996, -3, 0, 12};
    stats::Histogram h     = stats::histogram(v.data(), v.size());
    CHECK(h.lo[0] == -997);
    CHECK(h.count[0] == 2);  // [-997, -996)
    CHECK(h.lo[1] == -996);
    CHECK(h.count[1] == 1);
    uint64_t total = 0;
    for (unsigned k = 0; k < stats::BUCKETS; ++k) {
        total += h.count[k];
        if (k > 0) CHECK(h.lo[k] > h.lo[k - 1]);
    }
    CHECK(total == v.size());
    // -3, 0 and 12 are about a thousand ticks above the minimum: past the
    // last bound (min + 215), so they share the last bucket.
    CHECK(h.lo[stats::BUCKETS - 1] < -3);
    CHECK(h.count[stats::BUCKETS - 1] == 3);
}
