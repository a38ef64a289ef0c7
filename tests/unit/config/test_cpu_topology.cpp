// SMT width from CPUID (SDM Vol. 3A 8.9): leaf 0xB where it exists, else
// leaves 1 and 4.
#include <catch2/catch.hpp>

#include "hypervisor/lib/cpu_topology.hpp"

using namespace natsume::topology;

TEST_CASE("SMT shift from leaf 0xB", "[topology]") {
    // Core i7 920: leaf 0xB level 0 is SMT (type 1) with shift 1, 2 threads.
    CHECK(smt_shift({0xb, 0x00100800, HTT, 0x1c004121, 1, 2, 0x100}) == 1);
    // Leaf 0xB level 0 of type SMT with shift 0: no SMT.
    CHECK(smt_shift({0xd, 0x00010800, HTT, 0x1c004121, 0, 1, 0x100}) == 0);
}

TEST_CASE("SMT shift from leaves 1 and 4 when leaf 0xB is absent or empty", "[topology]") {
    // 8 logical per package, 4 cores: 2 threads per core.
    CHECK(smt_shift({0xa, 8u << 16, HTT, 3u << 26, 0, 0, 0}) == 1);
    // 4 logical, 4 cores: none.
    CHECK(smt_shift({0xa, 4u << 16, HTT, 3u << 26, 0, 0, 0}) == 0);
    // No HTT flag: one thread per package.
    CHECK(smt_shift({0xa, 8u << 16, 0, 3u << 26, 0, 0, 0}) == 0);
    // Leaf 0xB present but reporting nothing (EBX = 0): fall back.
    CHECK(smt_shift({0xb, 8u << 16, HTT, 3u << 26, 1, 0, 0x100}) == 1);
    // 3 threads per core round up to 2 bits.
    CHECK(smt_shift({0x4, 6u << 16, HTT, 1u << 26, 0, 0, 0}) == 2);
    // Leaf 4 absent: all logical processors of the package count as one core's.
    CHECK(smt_shift({0x1, 2u << 16, HTT, 0, 0, 0, 0}) == 1);
    CHECK(ceil_log2(1) == 0);
    CHECK(ceil_log2(5) == 3);
}
