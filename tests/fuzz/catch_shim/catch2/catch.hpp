// Stand-in for Catch2 when the unit tests' fakes (tests/unit/pci/) are built
// into a fuzz harness: their REQUIRE guards the fake's own preconditions, and
// outside a Catch2 session a broken one must abort like any other finding.
#pragma once
#include <cstdio>
#include <cstdlib>

#define REQUIRE(cond)                                                                                 \
    do {                                                                                              \
        if (!(cond)) {                                                                                \
            std::fprintf(stderr, "%s:%d: fake precondition failed: %s\n", __FILE__, __LINE__, #cond); \
            std::abort();                                                                             \
        }                                                                                             \
    } while (0)
#define CHECK(cond) REQUIRE(cond)
#define FAIL(msg)                                                     \
    do {                                                              \
        std::fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, msg); \
        std::abort();                                                 \
    } while (0)
