#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include "latency_stats.h"

TEST_CASE("heap sort matches std::sort", "[guest][stats]")
{
    std::vector<uint64_t> v;
    uint64_t x = 12345;
    for (int i = 0; i < 10007; ++i) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        v.push_back((x >> 33) % 5000);
    }
    std::vector<uint64_t> ref = v;
    std::sort(ref.begin(), ref.end());
    stats::sort(v.data(), v.size());
    CHECK(v == ref);
    uint64_t one = 7;
    stats::sort(&one, 1);
    CHECK(one == 7);
}

TEST_CASE("nearest-rank percentiles", "[guest][stats]")
{
    std::vector<uint64_t> v;
    for (uint64_t i = 1; i <= 100; ++i)
        v.push_back(i);
    CHECK(stats::percentile(v.data(), v.size(), 50) == 50);
    CHECK(stats::percentile(v.data(), v.size(), 99) == 99);
    CHECK(stats::percentile(v.data(), v.size(), 100) == 100);
    CHECK(stats::percentile(v.data(), v.size(), 0) == 1);
    std::vector<uint64_t> w(10000, 30);
    w.back() = 900;  // one outlier in 10000 is above p99
    stats::Summary s = stats::summarize(w.data(), w.size());
    CHECK(s.min == 30);
    CHECK(s.p50 == 30);
    CHECK(s.p99 == 30);
    CHECK(s.max == 900);
    uint64_t three[3] = {1, 2, 3};
    CHECK(stats::percentile(three, 3, 50) == 2);
    CHECK(stats::percentile(three, 3, 99) == 3);
    CHECK(stats::percentile(nullptr, 0, 50) == 0);
}

TEST_CASE("log-spaced histogram", "[guest][stats]")
{
    CHECK(stats::bucket_floor(30, 0) == 16);
    CHECK(stats::bucket_floor(30, 4) == 32);
    CHECK(stats::bucket_floor(30, 2) == 22);  // 16 * sqrt(2)
    std::vector<uint64_t> v = {30, 30, 31, 40, 100, 1000000000};
    stats::Histogram h = stats::histogram(v.data(), v.size());
    uint64_t total = 0;
    for (unsigned k = 0; k < stats::kBuckets; ++k) {
        total += h.count[k];
        if (k > 0)
            CHECK(h.lo[k] > h.lo[k - 1]);
    }
    CHECK(total == v.size());
    CHECK(h.lo[3] == 26);
    CHECK(h.count[3] == 3);                   // [26, 32): 30, 30, 31
    CHECK(h.count[5] == 1);                   // [38, 45): 40
    CHECK(h.count[10] == 1);                  // [90, 107): 100
    CHECK(h.count[stats::kBuckets - 1] == 1);  // the far outlier lands in the last bucket
    // Small values still give strictly increasing bucket bounds.
    uint64_t two[2] = {2, 2};
    stats::Histogram s = stats::histogram(two, 2);
    for (unsigned k = 1; k < stats::kBuckets; ++k)
        CHECK(s.lo[k] > s.lo[k - 1]);
}
