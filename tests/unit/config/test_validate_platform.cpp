#include <catch2/catch.hpp>
#include <initializer_list>
#include <string>

#include "blob_fixture.hpp"
#include "common/config/validate.hpp"

using namespace natsume::config;
using natsume::test::Blob;

namespace {

// The emulated machine of the integration tests: 3 cores, 256 MiB.
const uint32_t APICS[] = {0, 1, 2};
const Range USABLE[]   = {{0x0, 0x9fc00}, {0x100000, 0xfef0000}};
const Range RESERVED[] = {{0x100000, 0x200000}, {0x800000, 0x100000}};

Platform machine() { return Platform{APICS, 3, 0, USABLE, 2, RESERVED, 2}; }

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

namespace {
// gp0 as a Linux partition (64 MiB of RAM) on `cores`, its first the boot CPU.
void make_linux(Blob& b, std::initializer_list<uint32_t> cores) {
    auto& p      = b.part(1);
    p.kind       = NATSUME_KIND_LINUX;
    p.ram_size   = NATSUME_LINUX_RAM_MIN;
    p.core_count = 0;
    for (uint32_t c : cores) p.cores[p.core_count++] = c;
    b.seal();
}
}  // namespace

TEST_CASE("validate_platform checks every core of a multi-core partition", "[config][platform][smp]") {
    const uint32_t four[] = {0, 1, 2, 3};
    Platform p            = machine();
    p.apic_ids            = four;
    p.apic_count          = 4;
    Blob ok;
    make_linux(ok, {2, 3});
    CHECK(run(ok, p) == "OK");
    // Its second core is not on the 3-core machine.
    Blob missing;
    make_linux(missing, {2, 7});
    CHECK(run(missing, machine()) == "partition 'gp0': core 7 is not in this machine's MADT (cores: 0 1 2)");
    Blob boot;
    make_linux(boot, {2, 0});
    CHECK_THAT(run(boot, machine()), Catch::Contains("partition 'gp0': core 0 is the boot core"));
}

TEST_CASE("validate_platform keeps the boot core for the hypervisor", "[config][platform]") {
    Blob b;
    b.part(1).cores[0] = 0;
    b.seal();
    CHECK_THAT(run(b, machine()), Catch::Contains("partition 'gp0': core 0 is the boot core"));
    Blob fresh;
    Platform p    = machine();
    p.bsp_apic_id = 2;
    CHECK_THAT(run(fresh, p), Catch::Contains("partition 'gp0': core 2 is the boot core"));
}

TEST_CASE("validate_platform refuses RAM outside usable memory", "[config][platform]") {
    Blob b;
    b.part(1).ram_base = 0x40000000;
    b.seal();
    CHECK(run(b, machine()) ==
          "partition 'gp0': ram 0x40000000+0x2000000 is not inside one usable RAM range "
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
    CHECK(run(b, machine()) ==
          "partition 'rt0': ram 0x400000+0x600000 overlaps memory the hypervisor uses "
          "(0x800000+0x100000: its image, heap or a boot module); move the RAM");
}

TEST_CASE("validate_platform with no usable memory names none", "[config][platform]") {
    Blob b;
    Platform p     = machine();
    p.usable_count = 0;
    CHECK_THAT(run(b, p), Catch::EndsWith("is not inside one usable RAM range (usable:)"));
}

namespace {

// Bochs i440fx with slot1 = e1000 and slot2 = pcipnic; 00:01.0 is the PIIX3
// ISA bridge (a function, not a PCI-to-PCI bridge) and 00:1e.0 a made-up
// PCI-to-PCI bridge.
const PlatformDevice DEVICES[] = {
    {NATSUME_BDF(0, 0, 0), 0x8086, 0x1237, NATSUME_GSI_AUTO, false},
    {NATSUME_BDF(0, 1, 0), 0x8086, 0x7000, NATSUME_GSI_AUTO, false},
    {NATSUME_BDF(0, 1, 1), 0x8086, 0x7010, NATSUME_GSI_AUTO, false},
    {NATSUME_BDF(0, 2, 0), 0x8086, 0x100e, 11, false},
    {NATSUME_BDF(0, 3, 0), 0xfefe, 0xefef, 9, false},
    {NATSUME_BDF(0, 6, 0), 0x8086, 0x100e, 11, false},
    {NATSUME_BDF(0, 0x1e, 0), 0x8086, 0x244e, NATSUME_GSI_AUTO, true},
};

Platform pci_machine(bool iommu = false) {
    Platform p     = machine();
    p.devices      = DEVICES;
    p.device_count = sizeof DEVICES / sizeof DEVICES[0];
    p.iommu        = iommu;
    return p;
}

// rt0 owns the e1000, gp0 the pcipnic, each with a DMA window.
Blob passthrough() {
    Blob b;
    b.part(0).dma_base = 0x8000000;
    b.part(0).dma_size = 0x800000;
    b.part(1).dma_base = 0x8800000;
    b.part(1).dma_size = 0x800000;
    b.part(0).flags = b.part(1).flags = NATSUME_PARTITION_UNISOLATED_DMA;  // as configs/passthrough.toml
    b.add_device(0, NATSUME_BDF(0, 2, 0), NATSUME_GSI_AUTO, 0x8086, 0x100e);
    b.add_device(1, NATSUME_BDF(0, 3, 0));
    b.seal();
    return b;
}

}  // namespace

TEST_CASE("validate_platform accepts assigned devices with DMA windows", "[config][platform][devices]") {
    Blob b = passthrough();
    CHECK(run(b, pci_machine()) == "OK");
    CHECK(run(b, pci_machine(true)) == "OK");
}

TEST_CASE("validate_platform needs the new Platform fields only for devices", "[config][platform][devices]") {
    Blob plain;
    Platform p{APICS, 3, 0, USABLE, 2, RESERVED, 2};  // the pre-device aggregate form
    CHECK(p.devices == nullptr);
    CHECK(p.device_count == 0);
    CHECK_FALSE(p.iommu);
    CHECK(run(plain, p) == "OK");
    Blob b = passthrough();
    CHECK(run(b, p) == "partition 'rt0': device 00:02.0 is not on this machine (bus 00 has no functions)");
}

TEST_CASE("validate_platform refuses a device that is not there", "[config][platform][devices]") {
    Blob b                   = passthrough();
    b.part(1).devices[0].bdf = NATSUME_BDF(0, 4, 0);
    b.seal();
    CHECK(run(b, pci_machine()) ==
          "partition 'gp0': device 00:04.0 is not on this machine (bus 00 has: 00:00.0 "
          "00:01.0 00:01.1 00:02.0 00:03.0 00:06.0 00:1e.0)");
    b.part(1).devices[0].bdf = NATSUME_BDF(2, 0, 0);
    b.seal();
    CHECK(run(b, pci_machine()) ==
          "partition 'gp0': device 02:00.0 is not on this machine (bus 02 has no "
          "functions)");
}

TEST_CASE("validate_platform catches a wrong slot by vendor:device", "[config][platform][devices]") {
    Blob b                         = passthrough();
    b.part(0).devices[0].device_id = 0x100f;
    b.seal();
    CHECK(run(b, pci_machine()) ==
          "partition 'rt0': device 00:02.0 is 8086:100e, the partition file expects "
          "8086:100f");
    b.part(0).devices[0].device_id = 0x100e;
    b.part(0).devices[0].vendor_id = 0x10ec;
    b.seal();
    CHECK_THAT(run(b, pci_machine()), Catch::EndsWith("the partition file expects 10ec:100e"));
    // The same device ID in another slot is a different device.
    b.part(0).devices[0].vendor_id = 0xfefe;
    b.part(0).devices[0].device_id = 0xefef;
    b.seal();
    CHECK(run(b, pci_machine()) ==
          "partition 'rt0': device 00:02.0 is 8086:100e, the partition file expects "
          "fefe:efef");
}

TEST_CASE("validate_platform refuses to assign a bridge", "[config][platform][devices]") {
    Blob b                   = passthrough();
    b.part(1).devices[0].bdf = NATSUME_BDF(0, 0x1e, 0);
    b.seal();
    CHECK(run(b, pci_machine(true)) ==
          "partition 'gp0': device 00:1e.0 is a PCI bridge, which cannot be assigned; "
          "assign the devices behind it");
}

TEST_CASE("without an IOMMU a DMA-capable device needs a DMA window", "[config][platform][devices]") {
    Blob b             = passthrough();
    b.part(0).dma_base = 0;
    b.part(0).dma_size = 0;
    b.seal();
    CHECK(run(b, pci_machine()) ==
          "partition 'rt0' owns DMA-capable device 00:02.0 but this machine has no IOMMU: "
          "give it a dma window (identity-mapped RAM) for its DMA buffers");
    // With DMA remapping the window is not needed.
    CHECK(run(b, pci_machine(true)) == "OK");
    // A device that never masters the bus needs none either.
    b.part(0).devices[0].flags = NATSUME_DEVICE_NO_DMA;
    b.seal();
    CHECK(run(b, pci_machine()) == "OK");
    // The first DMA-capable device is named.
    b.add_device(0, NATSUME_BDF(0, 6, 0));
    b.seal();
    CHECK_THAT(run(b, pci_machine()), Catch::StartsWith("partition 'rt0' owns DMA-capable device 00:06.0 but"));
}

TEST_CASE("without an IOMMU a DMA-capable device needs the file's acknowledgement", "[config][platform][devices]") {
    Blob b          = passthrough();
    b.part(0).flags = 0;
    b.seal();
    CHECK(run(b, pci_machine()) ==
          "partition 'rt0' owns DMA-capable device 00:02.0 but this machine has no IOMMU: "
          "the device could write any memory and send any interrupt; set "
          "allow_unisolated_dma = true to accept that");
    CHECK(run(b, pci_machine(true)) == "OK");  // DMA remapping isolates it
    b.part(0).devices[0].flags = NATSUME_DEVICE_NO_DMA;
    b.seal();
    CHECK(run(b, pci_machine()) == "OK");  // nothing to isolate
}

TEST_CASE("validate_platform places the DMA window in free usable RAM", "[config][platform][devices]") {
    Blob b             = passthrough();
    b.part(1).dma_base = 0x10000000;  // just past the 256 MiB machine
    b.seal();
    CHECK(run(b, pci_machine()) ==
          "partition 'gp0': dma window 0x10000000+0x800000 is not inside one usable RAM "
          "range (usable: 0x0+0x9fc00 0x100000+0xfef0000)");
    Platform p             = pci_machine();
    const Range reserved[] = {{0x100000, 0x200000}, {0x8a00000, 0x1000}};
    p.reserved             = reserved;
    b.part(1).dma_base     = 0x8800000;
    b.seal();
    CHECK(run(b, p) ==
          "partition 'gp0': dma window 0x8800000+0x800000 overlaps memory the hypervisor uses "
          "(0x8a00000+0x1000: its image, heap or a boot module); move the window");
}

TEST_CASE("validate_platform keeps partitions out of RMRRs", "[config][platform][rmrr]") {
    Blob b     = passthrough();
    Platform p = pci_machine(true);
    CHECK(p.rmrr == nullptr);  // left out of the aggregate: no RMRRs
    // A USB-style RMRR of three pages inside rt0's RAM.
    const Range inside[] = {{0x4100000, 0x3000}};
    p.rmrr               = inside;
    p.rmrr_count         = 1;
    CHECK(run(b, p) ==
          "partition 'rt0': ram 0x4000000+0x2000000 overlaps the firmware's reserved DMA region (RMRR) "
          "0x4100000+0x3000, which devices keep writing to; move the ram");
    // Only the RMRR's first page is in gp0's DMA window (its last page).
    const Range edge[] = {{0x9fc000, 0x1000}, {0x8fff000, 0x2000}};
    p.rmrr             = edge;
    p.rmrr_count       = 2;
    CHECK(run(b, p) ==
          "partition 'gp0': dma window 0x8800000+0x800000 overlaps the firmware's reserved DMA region "
          "(RMRR) 0x8fff000+0x2000, which devices keep writing to; move the dma window");
    // Next to partition memory but not in it: fine, with or without an IOMMU.
    const Range beside[] = {{0x9000000, 0x1000}, {0x3ffc000, 0x4000}};
    p.rmrr               = beside;
    CHECK(run(b, p) == "OK");
    p.iommu = false;
    CHECK(run(b, p) == "OK");
}

// A 2-core, 4-thread machine: APIC IDs 0/1 are one core's threads, 2/3 the
// other's (SMT shift 1). Default blob: rt0 on APIC 1, gp0 on APIC 2.
namespace {
const uint32_t SMT_APICS[] = {0, 1, 2, 3};
Platform smt_machine() {
    Platform p{SMT_APICS, 4, 0, USABLE, 2, RESERVED, 2};
    p.smt_shift = 1;
    return p;
}
}  // namespace

TEST_CASE("validate_platform refuses SMT siblings shared with the hypervisor or another partition",
          "[config][platform][smt]") {
    Blob b;  // rt0 on APIC 1: the boot core's sibling
    CHECK(run(b, smt_machine()) ==
          "partition 'rt0': core 1 is an SMT sibling of core 0 (the hypervisor's boot core): siblings share caches "
          "and execution units; use whole physical cores or set allow_smt_sharing = true on every partition involved");
    b.part(0).cores[0] = 3;  // rt0 on 3, gp0 on 2: the same core
    b.seal();
    CHECK_THAT(run(b, smt_machine()),
               Catch::Contains("partition 'rt0': core 3 is an SMT sibling of core 2 of partition 'gp0'"));
    // One partition's consent is not enough; both partitions' is.
    b.part(0).flags = NATSUME_PARTITION_SHARE_SMT;
    b.seal();
    CHECK_THAT(run(b, smt_machine()),
               Catch::Contains("partition 'rt0': core 3 is an SMT sibling of core 2 of partition 'gp0'"));
    b.part(1).flags = NATSUME_PARTITION_SHARE_SMT;
    b.seal();
    CHECK(run(b, smt_machine()) == "OK");
    // Without SMT (shift 0) the same layout never conflicts.
    Blob plain;
    plain.part(0).cores[0] = 3;
    plain.seal();
    Platform p  = smt_machine();
    p.smt_shift = 0;
    CHECK(run(plain, p) == "OK");
}

TEST_CASE("validate_platform accepts a partition whose SMT sibling is parked", "[config][platform][smt]") {
    Blob b;
    b.part(0).cores[0] = 3;
    b.part(1).cores[0] = 1;  // rt0 on 3 (sibling 2 unowned), gp0 on 1 (sibling: the boot core)
    b.part(1).flags    = NATSUME_PARTITION_SHARE_SMT;
    b.seal();
    CHECK(run(b, smt_machine()) == "OK");
}

// A 3-core, 6-thread machine (SMT shift 1): 0/1, 2/3 and 4/5 are siblings.
TEST_CASE("validate_platform applies the SMT rule to every core of a multi-core partition",
          "[config][platform][smt][smp]") {
    const uint32_t six[] = {0, 1, 2, 3, 4, 5};
    Platform p{six, 6, 0, USABLE, 2, RESERVED, 2};
    p.smt_shift = 1;
    // gp0 owns both threads of a core: its own siblings are no conflict.
    Blob whole;
    whole.part(0).cores[0] = 4;
    make_linux(whole, {2, 3});
    CHECK(run(whole, p) == "OK");
    // gp0's second core is the sibling of rt0's core.
    Blob split;
    split.part(0).cores[0] = 2;
    make_linux(split, {4, 3});
    CHECK_THAT(run(split, p), Catch::Contains("partition 'rt0': core 2 is an SMT sibling of core 3 of partition "
                                              "'gp0'"));
    // gp0's second core is the boot core's sibling.
    Blob hv;
    hv.part(0).cores[0] = 4;
    make_linux(hv, {2, 3, 1});
    CHECK_THAT(run(hv, p), Catch::Contains("partition 'gp0': core 1 is an SMT sibling of core 0 (the hypervisor's boot "
                                           "core)"));
}
