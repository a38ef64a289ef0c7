#include <catch2/catch.hpp>
#include <cstdarg>
#include <string>

#include "tests/results.h"

namespace results = natsume::guest::results;

namespace {
std::string fmt(const char* test, bool pass, const char* extra, ...) {
    char buf[256];
    va_list args;
    va_start(args, extra);
    results::format(buf, sizeof buf, test, pass, extra, args);
    va_end(args);
    return buf;
}
}  // namespace

TEST_CASE("results: result lines are one JSON object", "[guest][results]") {
    CHECK(fmt("newlib", true, nullptr) == R"(NATSUME-RESULT {"test":"newlib","status":"pass"})");
    CHECK(fmt("lapic-timer", false, "\"ticks\":%u", 3u) ==
          R"(NATSUME-RESULT {"test":"lapic-timer","status":"fail","ticks":3})");
    CHECK(fmt("x", true, "") == R"(NATSUME-RESULT {"test":"x","status":"pass"})");
}

TEST_CASE("results: counting", "[guest][results]") {
    unsigned p = results::passed(), f = results::failed();
    results::report("counted-pass", true);
    results::report("counted-fail", false, "\"why\":\"%s\"", "test");
    CHECK(results::passed() == p + 1);
    CHECK(results::failed() == f + 1);
}
