#include <catch2/catch.hpp>
#include <string>

#include "blob_fixture.hpp"
#include "common/config/validate.hpp"

using namespace natsume::config;
using natsume::test::Blob;

namespace {

// The emulated machine of the integration tests: 3 cores, 256 MiB.
const uint32_t kApics[] = {0, 1, 2};
const Range kUsable[] = {{0x0, 0x9fc00}, {0x100000, 0xfef0000}};
const Range kReserved[] = {{0x100000, 0x200000}, {0x800000, 0x100000}};

Platform machine() { return Platform{kApics, 3, 0, kUsable, 2, kReserved, 2}; }

std::string run(Blob& b, const Platform& p) {
    Report r;
    REQUIRE(validate_blob(b.bytes(), b.size, r));
    return validate_platform(&b.header(), p, r) ? std::string("OK") : std::string(r.text);
}

}  // namespace

TEST_CASE("validate_platform accepts the default layout", "[config][platform]") {
    Blob b;
    CHECK(run(b, machine()) == "OK");
}

TEST_CASE("validate_platform refuses a core the MADT lacks", "[config][platform]") {
    Blob b;
    b.part(0).cores[0] = 7;
    b.seal();
    CHECK(run(b, machine()) == "partition 'rt0': core 7 is not in this machine's MADT (cores: 0 1 2)");
}

TEST_CASE("validate_platform keeps the boot core for the hypervisor", "[config][platform]") {
    Blob b;
    b.part(1).cores[0] = 0;
    b.seal();
    CHECK_THAT(run(b, machine()), Catch::Contains("partition 'gp0': core 0 is the boot core"));
    Blob fresh;
    Platform p = machine();
    p.bsp_apic_id = 2;
    CHECK_THAT(run(fresh, p), Catch::Contains("partition 'gp0': core 2 is the boot core"));
}

TEST_CASE("validate_platform refuses RAM outside usable memory", "[config][platform]") {
    Blob b;
    b.part(1).ram_base = 0x40000000;
    b.seal();
    CHECK(run(b, machine()) == "partition 'gp0': ram 0x40000000+0x2000000 is not inside one usable RAM range "
                               "(usable: 0x0+0x9fc00 0x100000+0xfef0000)");
    // Straddling the end of a usable range is refused too.
    b.part(1).ram_base = 0xe000000;
    b.part(1).ram_size = 0x2000000;
    b.seal();
    CHECK_THAT(run(b, machine()), Catch::Contains("is not inside one usable RAM range"));
    // Exactly the last whole 2 MiB pages of the range fit.
    b.part(1).ram_base = 0xde00000;
    b.seal();
    CHECK(run(b, machine()) == "OK");
}

TEST_CASE("validate_platform refuses RAM over hypervisor memory", "[config][platform]") {
    Blob b;
    b.part(0).ram_base = 0x400000;
    b.part(0).ram_size = 0x600000;
    b.seal();
    CHECK(run(b, machine()) == "partition 'rt0': ram 0x400000+0x600000 overlaps memory the hypervisor uses "
                               "(0x800000+0x100000: its image, heap or a boot module); move the RAM");
}

TEST_CASE("validate_platform with no usable memory names none", "[config][platform]") {
    Blob b;
    Platform p = machine();
    p.usable_count = 0;
    CHECK_THAT(run(b, p), Catch::EndsWith("is not inside one usable RAM range (usable:)"));
}
