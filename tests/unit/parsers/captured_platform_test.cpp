// The MADTs the hypervisor itself dumped (`acpi-dump`) on the two emulated
// platforms the tests boot: what the parser must find there is what the boot
// log and the partition validator rely on.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "hypervisor/lib/acpi.hpp"

namespace {
std::vector<uint8_t> read_capture(const char* name) {
    std::ifstream f(std::filesystem::path(NATSUME_PARSER_DATA_DIR) / name, std::ios::binary);
    REQUIRE(f.good());
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}
}  // namespace

TEST_CASE("captured: Bochs 3-CPU MADT", "[acpi][captured]") {
    auto t = read_capture("bochs-3cpu-apic.bin");
    natsume::acpi::Madt m{};
    REQUIRE(natsume::acpi::parse_madt(t.data(), t.size(), m) == natsume::acpi::Error::Ok);
    REQUIRE(m.cpu_count == 3);
    for (uint32_t i = 0; i < 3; i++) {
        CHECK(m.cpus[i].apic_id == i);
        CHECK(m.cpus[i].enabled);
    }
    REQUIRE(m.ioapic_count == 1);
    CHECK(m.ioapics[0].address == 0xfec00000u);
    CHECK(m.ioapics[0].gsi_base == 0);
    CHECK(m.lapic_base == 0xfee00000u);
    REQUIRE(m.override_count >= 1);
    CHECK(m.overrides[0].source == 0);
    CHECK(m.overrides[0].gsi == 2);
}

TEST_CASE("captured: QEMU q35 4-CPU MADT with intel-iommu", "[acpi][captured]") {
    auto t = read_capture("qemu-q35-4cpu-iommu-apic.bin");
    natsume::acpi::Madt m{};
    REQUIRE(natsume::acpi::parse_madt(t.data(), t.size(), m) == natsume::acpi::Error::Ok);
    REQUIRE(m.cpu_count == 4);
    CHECK(m.cpus[3].apic_id == 3);
    REQUIRE(m.ioapic_count == 1);
    CHECK(m.ioapics[0].id == 0);
    REQUIRE(m.override_count == 5);
    // IRQ 9 is the ACPI SCI: level-triggered, active high.
    CHECK(m.overrides[2].source == 9);
    CHECK((m.overrides[2].flags & natsume::acpi::TRIGGER_MASK) == natsume::acpi::TRIGGER_LEVEL);
}

TEST_CASE("captured: QEMU q35 DMAR table is intact", "[acpi][captured]") {
    auto t = read_capture("qemu-q35-4cpu-iommu-dmar.bin");
    CHECK(natsume::acpi::check_table(t.data(), t.size()) == natsume::acpi::Error::Ok);
    CHECK(std::string(reinterpret_cast<const char*>(t.data()), 4) == "DMAR");
}

TEST_CASE("captured: QEMU q35 MCFG gives the ECAM window", "[acpi][captured]") {
    auto t = read_capture("qemu-q35-4cpu-iommu-mcfg.bin");
    natsume::acpi::Mcfg m{};
    REQUIRE(natsume::acpi::parse_mcfg(t.data(), t.size(), m) == natsume::acpi::Error::Ok);
    REQUIRE(m.count == 1);
    CHECK(m.windows[0].base == 0xb0000000u);
    CHECK(m.windows[0].segment == 0);
    CHECK(m.windows[0].start_bus == 0);
    CHECK(m.windows[0].end_bus == 0xff);
    // A table cut inside its entry is refused.
    auto cut = t;
    cut.resize(50);
    CHECK(natsume::acpi::parse_mcfg(cut.data(), cut.size(), m) != natsume::acpi::Error::Ok);
}
