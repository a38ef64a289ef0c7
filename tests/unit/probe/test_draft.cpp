// The draft partition file: cores, RAM, devices, and every warning kind.
#include <algorithm>
#include <catch2/catch.hpp>
#include <set>

#include "scratch_tree.hpp"
#include "vmm-tools/probe/draft.hpp"
#include "vmm-tools/probe/draft_toml.hpp"
#include "vmm-tools/probe/hypervisor_zone.hpp"
#include "vmm-tools/probe/probe.hpp"

using namespace natsume::probe;
using probe_test::read_text;
using probe_test::scratch_tree;
using probe_test::write_text;

namespace {

const std::filesystem::path TREES = NATSUME_PROBE_TREES;

ProbeResult probed(const std::filesystem::path& root) {
    auto r = probe_machine(Tree(root));
    INFO(r.error());
    REQUIRE(r.ok());
    return *r;
}

std::set<WarningKind> kinds(const std::vector<Warning>& w) {
    std::set<WarningKind> k;
    for (const Warning& x : w) k.insert(x.kind);
    return k;
}

// Probe warnings and draft warnings of one tree.
std::set<WarningKind> all_kinds(const std::filesystem::path& root) {
    ProbeResult r = probed(root);
    Draft d       = make_draft(r.machine, "t");
    auto k        = kinds(r.warnings);
    for (WarningKind x : kinds(d.warnings)) k.insert(x);
    return k;
}

std::vector<uint16_t> bdfs(const DraftPartition& p) {
    std::vector<uint16_t> out;
    for (const DraftDevice& d : p.devices) out.push_back(d.fn->bdf);
    return out;
}

Machine plain_machine(std::vector<uint32_t> apics) {
    Machine m;
    for (uint32_t a : apics) m.cores.push_back({a, true, 0u, a, {}});
    m.memory = {{0, 0x9fc00, "System RAM"}, {0x100000, 0x3ff00000, "System RAM"}};
    return m;
}

}  // namespace

TEST_CASE("free memory starts above the hypervisor zone and skips RMRRs", "[probe][draft]") {
    Machine m = plain_machine({0});
    m.vtd.rmrrs.push_back({0x10000000, 0x10000fff, {}});
    auto free = free_memory(m);
    REQUIRE(free.size() == 2);
    CHECK(free[0].base == HYPERVISOR_ZONE_END);
    CHECK(free[0].base + free[0].size == 0x10000000);
    CHECK(free[1].base == 0x10200000);  // the RMRR's 2 MiB page is out
    CHECK(free[1].base + free[1].size == 0x40000000);
    auto a = take(free, 8 * MIB, 0x20000000);
    REQUIRE(a);
    CHECK(a->base == 0x20000000);
    auto b = take(free, 16 * MIB);
    REQUIRE(b);
    CHECK(b->base == HYPERVISOR_ZONE_END);
    CHECK_FALSE(take(free, 2ull << 30));
}

TEST_CASE("cores: whole physical cores, the boot core's kept", "[probe][draft]") {
    std::vector<Warning> w;
    CoreChoice four = choose_cores(plain_machine({0, 1, 2, 3}), w);
    CHECK(four.rt == 1u);
    CHECK(four.gp == 2u);
    CHECK(w.empty());
    CoreChoice one = choose_cores(plain_machine({0}), w);
    CHECK_FALSE(one.rt);
    REQUIRE(w.size() == 1);
    CHECK(w[0].kind == WarningKind::TooFewCores);
}

TEST_CASE("draft: qemu-q35-iommu", "[probe][draft]") {
    ProbeResult r = probed(TREES / "qemu-q35-iommu");
    Draft d       = make_draft(r.machine, "qemu-q35-iommu");
    REQUIRE(d.partitions.size() == 2);
    const DraftPartition &rt = d.partitions[0], &gp = d.partitions[1];
    CHECK(rt.core == 2);                               // the second physical core
    CHECK(bdfs(rt) == std::vector<uint16_t>{0x0100});  // e1000e: MSI-X, PCI Express
    CHECK(gp.core == 1);                               // the boot core's sibling
    CHECK(gp.allow_smt_sharing);
    CHECK_FALSE(rt.allow_unisolated_dma);  // VT-d with interrupt remapping
    CHECK_FALSE(rt.dma);
    CHECK(rt.ram.base >= HYPERVISOR_ZONE_END);
    CHECK(gp.ram.base >= rt.ram.base + rt.ram.size);
}

TEST_CASE("draft: bochs-i440fx", "[probe][draft]") {
    ProbeResult r = probed(TREES / "bochs-i440fx");
    Draft d       = make_draft(r.machine, "bochs-i440fx");
    REQUIRE(d.partitions.size() == 1);  // 2 CPUs: the boot core and rt0
    const DraftPartition& rt = d.partitions[0];
    CHECK(rt.core == 1);
    CHECK(bdfs(rt) == std::vector<uint16_t>{0x0010});  // the e1000
    CHECK(rt.allow_unisolated_dma);
    REQUIRE(rt.dma);
    CHECK(rt.dma->base >= rt.ram.size);  // the window may not hide guest RAM
}

TEST_CASE("draft: synthetic-x58", "[probe][draft]") {
    ProbeResult r = probed(TREES / "synthetic-x58");
    Draft d       = make_draft(r.machine, "Synthetic X58!");
    CHECK(d.name == "synthetic-x58");
    REQUIRE(d.partitions.size() == 2);
    const DraftPartition &rt = d.partitions[0], &gp = d.partitions[1];
    CHECK(rt.core == 2);
    CHECK(gp.core == 4);
    CHECK(bdfs(rt) == std::vector<uint16_t>{0x0200});  // 82574L behind the ICH10 root port
    REQUIRE(rt.devices[0].intx_gsi);
    CHECK(*rt.devices[0].intx_gsi == 17);  // Linux's _PRT routing, not the Interrupt Line register
    CHECK(bdfs(gp) == std::vector<uint16_t>{0x00c8, 0x00d8, 0x00fa});
    CHECK(rt.allow_unisolated_dma);  // the IOH erratum
    CHECK(gp.allow_unisolated_dma);
    auto left = [&](const char* bdf) {
        return std::any_of(d.left_out.begin(), d.left_out.end(),
                           [&](const std::string& s) { return s.rfind(bdf, 0) == 0; });
    };
    CHECK(left("00:1a.0"));  // RMRR
    CHECK(left("05:01.0"));  // goes with its requester-id group
    std::string toml = draft_toml(d, r.warnings);
    CHECK(toml.find("[ioh-erratum]") != std::string::npos);
    CHECK(toml.find("intx_gsi = 17") != std::string::npos);
}

TEST_CASE("every warning kind is raised where it should be", "[probe][warnings]") {
    std::set<WarningKind> seen;
    for (const char* t : {"qemu-q35-iommu", "bochs-i440fx", "synthetic-x58"})
        for (WarningKind k : all_kinds(TREES / t)) seen.insert(k);
    for (WarningKind k : {WarningKind::NoVmx, WarningKind::NoIommu, WarningKind::IohErratum, WarningKind::Rmrr,
                          WarningKind::BehindBridge, WarningKind::SharedIntx, WarningKind::UnroutableLine,
                          WarningKind::GsiDisagrees, WarningKind::TooFewCores, WarningKind::SmtShared}) {
        INFO(kind_name(k));
        CHECK(seen.count(k) == 1);
    }

    SECTION("no EPT") {
        auto root           = scratch_tree("bochs-i440fx", "no-ept");
        std::string cpuinfo = read_text(root / "proc/cpuinfo");
        for (size_t at; (at = cpuinfo.find(" ept")) != std::string::npos;) cpuinfo.erase(at, 4);
        write_text(root / "proc/cpuinfo", cpuinfo);
        CHECK(all_kinds(root).count(WarningKind::NoEpt) == 1);
    }
    SECTION("interrupt remapping unusable without an erratum") {
        auto root = scratch_tree("qemu-q35-iommu", "no-ir");
        write_text(root / "sys/class/iommu/dmar0/intel-iommu/ecap", "0\n");
        ProbeResult r = probed(root);
        CHECK(kinds(r.warnings).count(WarningKind::IrUnusable) == 1);
        CHECK(r.machine.vtd.ir_off_reason == "VT-d unit 0 lacks interrupt remapping or queued invalidation");
    }
    SECTION("config space read without root") {
        auto root = scratch_tree("bochs-i440fx", "not-root");
        for (auto& e : std::filesystem::directory_iterator(root / "sys/bus/pci/devices"))
            std::filesystem::resize_file(e.path() / "config", 64);
        CHECK(all_kinds(root).count(WarningKind::TruncatedConfig) == 1);
    }
    SECTION("a function the hypervisor's enumeration does not reach") {
        auto root = scratch_tree("bochs-i440fx", "not-scanned");
        std::filesystem::copy(root / "sys/bus/pci/devices/0000:00:02.0", root / "sys/bus/pci/devices/0000:07:00.0");
        ProbeResult r = probed(root);
        CHECK(kinds(r.warnings).count(WarningKind::NotScanned) == 1);
        CHECK_FALSE(r.machine.function(0x0700)->in_scan);
    }
    SECTION("a core Linux did not start") {
        auto root           = scratch_tree("bochs-i440fx", "no-topology");
        std::string cpuinfo = read_text(root / "proc/cpuinfo");
        write_text(root / "proc/cpuinfo", cpuinfo.substr(0, cpuinfo.find("\n\n") + 2));
        CHECK(all_kinds(root).count(WarningKind::NoTopology) == 1);
    }
    SECTION("little memory") {
        Machine m = probed(TREES / "qemu-q35-iommu").machine;
        m.memory  = {{0, 80 * MIB, "System RAM"}};
        Draft d   = make_draft(m, "small");
        CHECK(kinds(d.warnings).count(WarningKind::SmallMemory) == 1);
    }
}

TEST_CASE("machine names as a partition file allows them", "[probe][draft]") {
    CHECK(machine_name("My Box (X58)") == "my-box-x58");
    CHECK(machine_name("") == "machine");
    CHECK(machine_name(std::string(40, 'a')).size() == 31);
}
