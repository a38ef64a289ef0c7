// The probe's readers: numbers, /proc/cpuinfo, the memory map, sysfs names,
// interrupt routing, and each captured tree as a whole.
#include <catch2/catch.hpp>

#include "vmm-tools/probe/cpuinfo.hpp"
#include "vmm-tools/probe/intx_routing.hpp"
#include "vmm-tools/probe/memmap.hpp"
#include "vmm-tools/probe/pci_scan.hpp"
#include "vmm-tools/probe/probe.hpp"
#include "vmm-tools/probe/topology.hpp"
#include "vmm-tools/probe/tree.hpp"

using namespace natsume::probe;

namespace {

const std::filesystem::path TREES = NATSUME_PROBE_TREES;

ProbeResult probed(const char* name) {
    auto r = probe_machine(Tree(TREES / name));
    INFO(r.error());
    REQUIRE(r.ok());
    return *r;
}

const char* TWO_THREADS =
    "processor\t: 0\nmodel name\t: Test CPU\nphysical id\t: 0\nsiblings\t: 2\ncore id\t\t: 0\ncpu cores\t: 1\n"
    "apicid\t\t: 0\nflags\t\t: fpu vmx x2apic\nvmx flags\t: ept vpid unrestricted_guest\n\n"
    "processor\t: 1\nphysical id\t: 0\nsiblings\t: 2\ncore id\t\t: 0\ncpu cores\t: 1\napicid\t\t: 1\n"
    "flags\t\t: fpu vmx x2apic\n\n";

}  // namespace

TEST_CASE("numbers as sysfs writes them", "[probe]") {
    CHECK(parse_number("0x1f\n") == 31u);
    CHECK(parse_number(" 42 ") == 42u);
    CHECK(parse_number("0xffffffffffffffff") == UINT64_MAX);
    CHECK_FALSE(parse_number("0x10000000000000000"));
    CHECK_FALSE(parse_number("12a"));
    CHECK_FALSE(parse_number(""));
    CHECK_FALSE(parse_number("0x"));
}

TEST_CASE("cpuinfo: topology and features per processor", "[probe][cpuinfo]") {
    auto cpus = parse_cpuinfo(TWO_THREADS);
    REQUIRE(cpus.ok());
    REQUIRE(cpus->size() == 2);
    CHECK((*cpus)[1].apic_id == 1);
    CHECK((*cpus)[1].core_id == 0);
    CHECK((*cpus)[0].model == "Test CPU");
    CHECK((*cpus)[0].flags.count("vmx") == 1);
    CHECK((*cpus)[0].vmx_flags.count("unrestricted_guest") == 1);
    CHECK(smt_shift_of(*cpus) == 1);
}

TEST_CASE("cpuinfo: what is not an x86 cpuinfo is one sentence", "[probe][cpuinfo]") {
    auto no_apic = parse_cpuinfo("processor\t: 0\nflags\t: fpu\n");
    REQUIRE_FALSE(no_apic.ok());
    CHECK(no_apic.error() == "/proc/cpuinfo gives processor 0 no 'apicid' line: not an x86 Linux cpuinfo");
    CHECK(parse_cpuinfo("").error() == "/proc/cpuinfo lists no processor");
    CHECK_FALSE(parse_cpuinfo("model name : x\napicid : 1\n").ok());
}

TEST_CASE("memory map entries", "[probe][memmap]") {
    auto r = parse_memmap_entry("0x100000\n", "0x3ffdffff\n", "System RAM\n");
    REQUIRE(r.ok());
    CHECK(r->base == 0x100000);
    CHECK(r->size == 0x3fee0000);
    CHECK(r->usable());
    auto reserved = parse_memmap_entry("0x9fc00", "0x9ffff", "Reserved");
    REQUIRE(reserved.ok());
    CHECK_FALSE(reserved->usable());
    CHECK_FALSE(parse_memmap_entry("0x2000", "0x1000", "System RAM").ok());
    CHECK(parse_memmap_entry("x", "0x1000", "System RAM").error() ==
          "memory map entry 'x'-'0x1000' is not a range of addresses");
}

TEST_CASE("sysfs device names", "[probe][pci]") {
    uint16_t seg = 0, bdf = 0;
    REQUIRE(parse_sysfs_bdf("0000:00:1f.3", seg, bdf));
    CHECK(seg == 0);
    CHECK(bdf == 0x00fb);
    REQUIRE(parse_sysfs_bdf("0001:05:00.0", seg, bdf));
    CHECK(seg == 1);
    CHECK(bdf == 0x0500);
    CHECK_FALSE(parse_sysfs_bdf("0000:00:20.0", seg, bdf));
    CHECK_FALSE(parse_sysfs_bdf("pci0000:00", seg, bdf));
}

TEST_CASE("INTx routing: the hypervisor's rule and Linux's", "[probe][intx]") {
    std::vector<IsaOverride> iso = {{0, 2, 0}, {9, 9, 0xd}, {11, 20, 0xd}};
    CHECK(isa_gsi(0, iso) == 2);
    CHECK(isa_gsi(5, iso) == 5);
    CHECK(hypervisor_gsi(1, 11, iso) == 20u);
    CHECK_FALSE(hypervisor_gsi(0, 11, iso));    // no pin
    CHECK_FALSE(hypervisor_gsi(1, 0xff, iso));  // line unknown
    CHECK(linux_irq_gsi(11, iso) == 20u);
    CHECK(linux_irq_gsi(19, iso) == 19u);
    CHECK_FALSE(linux_irq_gsi(0, iso));

    PciFunction f;
    f.intx_gsi  = 11;
    f.linux_gsi = 19;
    CHECK(wired_gsi(f) == 19u);  // an IOAPIC input from the _PRT wins
    f.linux_gsi = 10;
    CHECK(wired_gsi(f) == 11u);  // a link Linux may have reprogrammed does not

    PciFunction a, b, c;
    a.intx_check = IntxCheck::StatusBit;
    b.intx_check = IntxCheck::Unknown;
    c.intx_check = IntxCheck::Unknown;
    CHECK(line_routable({&a, &b}));
    CHECK_FALSE(line_routable({&a, &b, &c}));
}

TEST_CASE("qemu-q35-iommu: a real q35 boot with VT-d", "[probe][tree]") {
    ProbeResult r    = probed("qemu-q35-iommu");
    const Machine& m = r.machine;
    CHECK(m.cores.size() == 4);
    CHECK(m.bsp == 0);
    CHECK(m.smt_shift == 1);
    CHECK_FALSE(m.cpu.vmx);  // TCG has no VT-x
    CHECK(m.vtd.present);
    CHECK(m.vtd.ir_usable);
    REQUIRE(m.vtd.units.size() == 1);
    CHECK(m.vtd.units[0].base == 0xfed90000);
    REQUIRE(m.ecam.size() == 1);
    const PciFunction* e1000e = m.function(0x0100);
    REQUIRE(e1000e);
    CHECK(e1000e->device == 0x10d3);
    CHECK(e1000e->behind == uint16_t{0x0018});  // the root port 00:03.0
    CHECK(e1000e->msix);
    CHECK(e1000e->pcie);
    CHECK(e1000e->intx_check == IntxCheck::StatusBit);
    const PciFunction* e1000 = m.function(0x0008);
    REQUIRE(e1000);
    CHECK(e1000->intx_check == IntxCheck::E1000Icr);
    CHECK(e1000->iommu_group.has_value());
    REQUIRE(m.function(0x0018));
    CHECK(m.function(0x0018)->bridge);
}

TEST_CASE("bochs-i440fx: a real Bochs boot, no DMAR", "[probe][tree]") {
    ProbeResult r    = probed("bochs-i440fx");
    const Machine& m = r.machine;
    CHECK(m.cores.size() == 2);
    CHECK(m.smt_shift == 0);
    CHECK(m.cpu.vmx);
    CHECK(m.cpu.ept);
    CHECK_FALSE(m.cpu.unrestricted_guest);  // Nehalem model
    CHECK_FALSE(m.vtd.present);
    const PciFunction* e1000 = m.function(0x0010);
    REQUIRE(e1000);
    CHECK(e1000->vendor == 0x8086);
    CHECK(e1000->device == 0x100e);
    CHECK_FALSE(e1000->msi);  // Bochs' e1000 has no MSI
    REQUIRE(m.function(0x0018));
    CHECK(m.function(0x0018)->vendor == 0xfefe);
    CHECK(e1000->intx_gsi.has_value());
}

TEST_CASE("synthetic-x58: topology, erratum, RMRR, bridges", "[probe][tree]") {
    ProbeResult r    = probed("synthetic-x58");
    const Machine& m = r.machine;
    CHECK(m.cores.size() == 8);
    CHECK(m.smt_shift == 1);
    CHECK_FALSE(m.cpu.x2apic);
    for (const Core& c : m.cores) {
        REQUIRE(c.siblings.size() == 1);
        CHECK((c.siblings[0] ^ c.apic_id) == 1);
    }
    CHECK(m.vtd.present);
    CHECK_FALSE(m.vtd.ir_usable);
    CHECK(m.vtd.ir_off_reason.find("erratum") != std::string::npos);
    REQUIRE(m.vtd.rmrrs.size() == 1);
    CHECK(m.vtd.rmrrs[0].devices.size() == 8);
    CHECK(m.ioapics.size() == 2);
    const PciFunction* behind_pci = m.function(0x0500);
    REQUIRE(behind_pci);
    CHECK(behind_pci->behind == uint16_t{0x00f0});  // the DMI-to-PCI bridge 00:1e.0
    CHECK(m.function(0x0508)->intx_check == IntxCheck::E1000Icr);
    CHECK(m.function(0x0520)->intx_check == IntxCheck::Unknown);
}
