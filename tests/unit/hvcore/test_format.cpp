// The hypervisor's console formatter: every conversion the log uses.
#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include "lib/format.hpp"

namespace {
template <typename... A>
std::string fmt(const char* f, A... a) {
    char buf[256];
    size_t n = natsume::fmt::format(buf, sizeof buf, f, a...);
    REQUIRE(n == std::strlen(buf));
    return buf;
}
}  // namespace

TEST_CASE("integers in decimal and hex", "[format]") {
    CHECK(fmt("%d %i %u", -42, 7, 4000000000u) == "-42 7 4000000000");
    CHECK(fmt("%ld", static_cast<long>(-9223372036854775807L - 1)) == "-9223372036854775808");
    CHECK(fmt("%lu", 18446744073709551615ul) == "18446744073709551615");
    CHECK(fmt("%x %X", 0xbeefu, 0xbeefu) == "beef BEEF");
    CHECK(fmt("0x%016lx", 0x1234ul) == "0x0000000000001234");
    CHECK(fmt("%zu", static_cast<size_t>(17)) == "17");
}

TEST_CASE("width, padding and alignment", "[format]") {
    CHECK(fmt("[%5u]", 42u) == "[   42]");
    CHECK(fmt("[%05u]", 42u) == "[00042]");
    CHECK(fmt("[%-5u]", 42u) == "[42   ]");
    CHECK(fmt("[%-6s]", "ab") == "[ab    ]");
    CHECK(fmt("[%6s]", "ab") == "[    ab]");
    CHECK(fmt("[%02x]", 0x5u) == "[05]");
}

TEST_CASE("strings, characters, pointers, percent", "[format]") {
    CHECK(fmt("%s=%c", "rt0", 'x') == "rt0=x");
    CHECK(fmt("%s", static_cast<const char*>(nullptr)) == "(null)");
    CHECK(fmt("%p", reinterpret_cast<void*>(0x200000)) == "0x0000000000200000");
    CHECK(fmt("100%%") == "100%");
}

TEST_CASE("output is truncated and always terminated", "[format]") {
    char buf[8];
    size_t n = natsume::fmt::format(buf, sizeof buf, "%s", "partition-name-too-long");
    CHECK(n == 7);
    CHECK(std::string(buf) == std::string("partiti"));
    char one[1];
    CHECK(natsume::fmt::format(one, 1, "abc") == 0);
    CHECK(one[0] == 0);
}
