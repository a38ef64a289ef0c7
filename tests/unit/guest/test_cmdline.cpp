#include <catch2/catch.hpp>
#include <cstring>

#include "lib/cmdline.h"

namespace cmdline = natsume::guest::cmdline;

TEST_CASE("cmdline: finds values by exact key", "[guest][cmdline]") {
    const char* line = "role=gp test=newlib ticks=12 exit=1";
    char buf[32];
    REQUIRE(cmdline::get(line, "test", buf, sizeof buf));
    CHECK(std::strcmp(buf, "newlib") == 0);
    REQUIRE(cmdline::get(line, "role", buf, sizeof buf));
    CHECK(std::strcmp(buf, "gp") == 0);
    CHECK_FALSE(cmdline::get(line, "tes", buf, sizeof buf));
    CHECK_FALSE(cmdline::get(line, "tick", buf, sizeof buf));
    CHECK_FALSE(cmdline::get("", "test", buf, sizeof buf));
}

TEST_CASE("cmdline: bare words, extra spaces and truncation", "[guest][cmdline]") {
    char buf[5];
    REQUIRE(cmdline::get("  quiet   test=triple-fault ", "quiet", buf, sizeof buf));
    CHECK(buf[0] == '\0');
    REQUIRE(cmdline::get("  quiet   test=triple-fault ", "test", buf, sizeof buf));
    CHECK(std::strcmp(buf, "trip") == 0);
}

TEST_CASE("cmdline: numbers", "[guest][cmdline]") {
    CHECK(cmdline::get_u64("ticks=12", "ticks", 5) == 12);
    CHECK(cmdline::get_u64("ticks=0x10", "ticks", 5) == 16);
    CHECK(cmdline::get_u64("ticks=12x", "ticks", 5) == 5);
    CHECK(cmdline::get_u64("ticks=", "ticks", 5) == 5);
    CHECK(cmdline::get_u64("exit=1", "ticks", 5) == 5);
    CHECK(cmdline::get_u64("a=1 ticks=7 b=2", "ticks", 5) == 7);
}
