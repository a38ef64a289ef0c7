// The hypervisor's command-line words and key=value numbers.
#include <catch2/catch.hpp>

#include "lib/cmdline.hpp"

using namespace natsume::cmdline;

TEST_CASE("words stand alone", "[cmdline]") {
    CHECK(has_word("emulator-exit", "emulator-exit"));
    CHECK(has_word("acpi-dump emulator-exit", "emulator-exit"));
    CHECK(has_word("emulator-exit acpi-dump", "emulator-exit"));
    CHECK_FALSE(has_word("emulator-exits", "emulator-exit"));
    CHECK_FALSE(has_word("no-emulator-exit", "emulator-exit"));
    CHECK_FALSE(has_word("", "emulator-exit"));
}

TEST_CASE("key=value numbers", "[cmdline]") {
    CHECK(number("vtd-levels=4 x", "vtd-levels", 0) == 4);
    CHECK(number("a vtd-levels=39", "vtd-levels", 0) == 39);
    CHECK(number("xvtd-levels=4", "vtd-levels", 7) == 7);
    CHECK(number("vtd-levels=", "vtd-levels", 7) == 7);
    CHECK(number("vtd-levels", "vtd-levels", 7) == 7);
}
