// The ACPI tables a Linux partition gets, read back by the hypervisor's own
// ACPI parser (checksums, the XSDT, the MADT) and, when NATSUME_ACPI_DUMP_DIR
// is set, written out for iasl (tests/unit/parsers/check_acpi_iasl.sh).
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "drivers/acpi/tables.hpp"

#include "hypervisor/lib/acpi.hpp"
#include "hypervisor/lib/acpi_build.hpp"
#include "hypervisor/lib/aml.hpp"

using namespace natsume;

namespace {

constexpr uint64_t GPA = 0x9a000;

struct Guest {
    std::vector<uint8_t> mem = std::vector<uint8_t>(0x6000, 0xee);
    static const void* map(void* ctx, uint64_t phys, size_t len) {
        auto* g = static_cast<Guest*>(ctx);
        if (phys < GPA || phys - GPA > g->mem.size() || len > g->mem.size() - (phys - GPA)) return nullptr;
        return g->mem.data() + (phys - GPA);
    }
};

const uint32_t CPUS[] = {2, 3};
// The last: an IDE channel's ISA line 15, through an interrupt link.
const acpi_build::IntxRoute ROUTES[] = {{2, 0, 11}, {3, 0, 9}, {4, 1, 10}, {1, 0, 15, true}};
const acpi_build::Window WINDOWS[]   = {
      {0xfebc0000, 0x20000, false}, {0xc000, 0x40, true}, {0x800000000ull, 0x100000, false}};
const acpi_build::IsaOverride ISO[] = {{14, 14, 0x5}};
acpi_build::Spec spec() {
    return {CPUS, 2, 1, 0xfec00000, 0, ISO, 1, ROUTES, 4, WINDOWS, 3, true, 0x600, 0x601, 0x604, 0x0e, 0x1000};
}

uint8_t sum(const uint8_t* p, size_t n) {
    uint8_t s = 0;
    for (size_t i = 0; i < n; ++i) s = static_cast<uint8_t>(s + p[i]);
    return s;
}

void dump(const Guest& g, uint64_t phys, const char* sig) {
    const char* dir = std::getenv("NATSUME_ACPI_DUMP_DIR");
    if (!dir) return;
    uint32_t len;
    std::memcpy(&len, g.mem.data() + (phys - GPA) + 4, 4);
    std::ofstream(std::string(dir) + "/" + sig + ".dat", std::ios::binary)
        .write(reinterpret_cast<const char*>(g.mem.data() + (phys - GPA)), len);
}

}  // namespace

TEST_CASE("aml: EISA ids and package lengths") {
    CHECK(aml::eisa_id("PNP0A08") == 0x080ad041);
    CHECK(aml::eisa_id("PNP0501") == 0x0105d041);
    uint8_t buf[0x2000];
    aml::Writer w(buf, sizeof buf);
    size_t m = w.begin(aml::PACKAGE_OP);
    for (int i = 0; i < 10; ++i) w.byte(0x42);
    w.end(m);
    CHECK(w.size() == 1 + 1 + 10);
    CHECK(buf[1] == 11);  // one-byte PkgLength counts itself
    aml::Writer w2(buf, sizeof buf);
    m = w2.begin(aml::BUFFER_OP);
    for (int i = 0; i < 100; ++i) w2.byte(0x42);
    w2.end(m);
    CHECK(w2.size() == 1 + 2 + 100);
    CHECK(buf[1] == (0x40 | (102 & 0xf)));  // two bytes: lead byte with the low nibble
    CHECK(buf[2] == (102 >> 4));
    CHECK(buf[3] == 0x42);
    aml::Writer small(buf, 3);
    small.integer(0x12345678);
    CHECK(small.overflowed());
}

TEST_CASE("acpi build: the hypervisor's parser reads back RSDP, XSDT, FADT and MADT") {
    Guest g;
    acpi_build::Built built;
    REQUIRE(acpi_build::build(spec(), g.mem.data(), g.mem.size(), GPA, built) == acpi_build::Error::Ok);
    CHECK(built.rsdp_gpa == GPA);
    CHECK(built.size < g.mem.size());
    acpi::Tables tables{};
    REQUIRE(acpi::parse_rsdp(g.mem.data(), 36, tables) == acpi::Error::Ok);
    CHECK(tables.revision == 2);
    CHECK(tables.xsdt != 0);
    acpi::PhysMem mem{Guest::map, &g};
    uint64_t madt = 0, fadt = 0, dsdt = 0;
    REQUIRE(acpi::find_table(mem, tables, "APIC", madt) == acpi::Error::Ok);
    REQUIRE(acpi::find_table(mem, tables, "FACP", fadt) == acpi::Error::Ok);
    acpi::Madt m;
    REQUIRE(acpi::parse_madt(g.mem.data() + (madt - GPA), g.mem.size() - (madt - GPA), m) == acpi::Error::Ok);
    REQUIRE(m.cpu_count == 2);
    CHECK(m.cpus[0].apic_id == 2);
    CHECK(m.cpus[1].apic_id == 3);
    CHECK(m.cpus[1].enabled);
    REQUIRE(m.ioapic_count == 1);
    CHECK(m.ioapics[0].address == 0xfec00000);
    REQUIRE(m.override_count == 1);
    CHECK(m.overrides[0].source == 14);
    CHECK(m.flags == 0);  // no 8259 pair
    // The wake-up structure (type 0x10) names the mailbox, after the other entries.
    const uint8_t* mt = g.mem.data() + (madt - GPA);
    uint32_t madt_len;
    std::memcpy(&madt_len, mt + 4, 4);
    CHECK(sum(mt, madt_len) == 0);
    const uint8_t* wake = mt + madt_len - drivers::acpi::MADT_MP_WAKEUP_SIZE;
    CHECK(wake[0] == drivers::acpi::MADT_MP_WAKEUP);
    CHECK(wake[1] == drivers::acpi::MADT_MP_WAKEUP_SIZE);
    uint64_t mailbox;
    std::memcpy(&mailbox, wake + drivers::acpi::MADT_MP_WAKEUP_MAILBOX, 8);
    CHECK(mailbox == 0x1000);
    const uint8_t* f = g.mem.data() + (fadt - GPA);
    uint32_t flags, fadt_len;
    std::memcpy(&fadt_len, f + 4, 4);
    std::memcpy(&flags, f + drivers::acpi::FADT_FLAGS, 4);
    CHECK(fadt_len == drivers::acpi::FADT_SIZE);
    CHECK(sum(f, fadt_len) == 0);
    CHECK((flags & drivers::acpi::FADT_HW_REDUCED) != 0);
    CHECK((flags & drivers::acpi::FADT_APIC_PHYSICAL) != 0);  // Linux uses physical destinations
    std::memcpy(&dsdt, f + drivers::acpi::FADT_X_DSDT, 8);
    const uint8_t* d = g.mem.data() + (dsdt - GPA);
    uint32_t dsdt_len;
    std::memcpy(&dsdt_len, d + 4, 4);
    CHECK(std::memcmp(d, "DSDT", 4) == 0);
    CHECK(sum(d, dsdt_len) == 0);
    CHECK(dsdt - GPA + dsdt_len <= built.size);
    // The names Linux looks for are in the AML.
    std::string aml(reinterpret_cast<const char*>(d), dsdt_len);
    for (const char* name : {"PCI0", "_PRT", "_CRS", "COM1", "_S5_", "_HID", "LK03", "_PRS", "_SRS"})
        CHECK(aml.find(name) != std::string::npos);
    // The link's resources: an Extended Interrupt descriptor for GSI 15,
    // consumer and edge (flags 0x03: active high, exclusive).
    const uint8_t ext_irq[] = {0x89, 6, 0, 0x03, 1, 15, 0, 0, 0};
    CHECK(aml.find(std::string(reinterpret_cast<const char*>(ext_irq), sizeof ext_irq)) != std::string::npos);
    dump(g, dsdt, "dsdt");
    dump(g, fadt, "facp");
    dump(g, madt, "apic");
    dump(g, tables.xsdt, "xsdt");
}

TEST_CASE("acpi build: one core, no wake-up structure") {
    Guest g;
    acpi_build::Built built;
    auto s        = spec();
    s.cpu_count   = 1;
    s.mailbox_gpa = 0;
    REQUIRE(acpi_build::build(s, g.mem.data(), g.mem.size(), GPA, built) == acpi_build::Error::Ok);
    acpi::Tables tables{};
    REQUIRE(acpi::parse_rsdp(g.mem.data(), 36, tables) == acpi::Error::Ok);
    acpi::PhysMem mem{Guest::map, &g};
    uint64_t madt = 0;
    REQUIRE(acpi::find_table(mem, tables, "APIC", madt) == acpi::Error::Ok);
    const uint8_t* mt = g.mem.data() + (madt - GPA);
    uint32_t madt_len;
    std::memcpy(&madt_len, mt + 4, 4);
    CHECK(madt_len == drivers::acpi::MADT_ENTRIES + 8 + 12 + 10);  // one LAPIC, the IOAPIC, one override
    for (uint32_t off = drivers::acpi::MADT_ENTRIES; off + 1 < madt_len; off += mt[off + 1])
        CHECK(mt[off] != drivers::acpi::MADT_MP_WAKEUP);
}

TEST_CASE("acpi build: what does not fit is refused") {
    Guest g;
    acpi_build::Built built;
    auto s = spec();
    CHECK(acpi_build::build(s, g.mem.data(), 200, GPA, built) == acpi_build::Error::NoSpace);
    CHECK(acpi_build::build(s, g.mem.data(), 700, GPA, built) == acpi_build::Error::NoSpace);
    s.cpu_count = 0;
    CHECK(acpi_build::build(s, g.mem.data(), g.mem.size(), GPA, built) == acpi_build::Error::TooManyCpus);
    s              = spec();
    s.window_count = acpi_build::MAX_WINDOWS + 1;
    CHECK(acpi_build::build(s, g.mem.data(), g.mem.size(), GPA, built) == acpi_build::Error::TooMany);
}
