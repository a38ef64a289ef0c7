// machine.toml: written and read back to the same description.
#include <catch2/catch.hpp>

#include "vmm-tools/probe/machine_toml.hpp"
#include "vmm-tools/probe/probe.hpp"

using namespace natsume::probe;

namespace {

const std::filesystem::path TREES = NATSUME_PROBE_TREES;

}  // namespace

TEST_CASE("machine.toml round trip on every captured tree", "[probe][machine-toml]") {
    for (const char* name : {"qemu-q35-iommu", "bochs-i440fx", "synthetic-x58"}) {
        INFO(name);
        auto r = probe_machine(Tree(TREES / name));
        REQUIRE(r.ok());
        std::string text = machine_toml(r->machine);
        auto back        = parse_machine_toml(text, "machine.toml");
        INFO(back.error());
        REQUIRE(back.ok());
        back->source = r->machine.source;
        CHECK(machine_toml(*back) == text);
        CHECK(back->pci.size() == r->machine.pci.size());
        CHECK(back->vtd.rmrrs.size() == r->machine.vtd.rmrrs.size());
    }
}

TEST_CASE("machine.toml refusals name the place", "[probe][machine-toml]") {
    auto no_version = parse_machine_toml("bsp = 0\n", "m.toml");
    REQUIRE_FALSE(no_version.ok());
    CHECK(no_version.error() == "m.toml:1:1: error: missing key 'version' in the top level");

    auto future = parse_machine_toml("version = 2\nbsp = 0\n", "m.toml");
    CHECK(future.error() ==
          "m.toml:1:11: error: machine description version 2 is not supported; this natsume-config "
          "reads version 1");

    std::string base =
        "version = 1\nbsp = 0\n[[core]]\napic_id = 0\n[[memory]]\nbase = 0\nsize = 0x1000\ntype = "
        "\"System RAM\"\n";
    CHECK(parse_machine_toml(base, "m.toml").ok());
    auto bad_bdf =
        parse_machine_toml(base + "[[pci]]\nbdf = \"00:2g.0\"\nid = \"8086:100e\"\nclass = \"020000\"\n", "m.toml");
    REQUIRE_FALSE(bad_bdf.ok());
    CHECK(bad_bdf.error().rfind("m.toml:10:7: error: ", 0) == 0);

    auto syntax = parse_machine_toml("version = \n", "m.toml");
    CHECK(syntax.error().rfind("m.toml:1:", 0) == 0);
    CHECK(syntax.error().find("invalid TOML") != std::string::npos);

    auto no_cores = parse_machine_toml("version = 1\nbsp = 0\n", "m.toml");
    CHECK(no_cores.error() == "m.toml: error: no [[core]] table: a machine description lists its cores");
}
