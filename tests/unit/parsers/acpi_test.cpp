#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "acpi_fixtures.hpp"

using namespace natsume;
using namespace natsume::test;

namespace {

std::unique_ptr<acpi::Madt> new_madt() { return std::make_unique<acpi::Madt>(); }

acpi::Error parse(const Bytes& t, acpi::Madt& m) { return acpi::parse_madt(t.data(), t.size(), m); }

// A Bochs-like machine: RSDP in the BIOS area, RSDT -> FACP (-> DSDT, FACS), APIC, HPET.
struct BochsMachine {
    FakeMem mem;
    static constexpr uint64_t RSDP = 0xFBA10, RSDT = 0x7FFF0000, FACP = 0x7FFF0100, DSDT = 0x7FFF0400,
                              FACS = 0x7FFF0300, APIC = 0x7FFF1000, HPET = 0x7FFF2000;
    BochsMachine() {
        mem.place(0x40E, Bytes{0, 0});  // no EBDA
        Bytes bios(0x20000, 0);
        const Bytes r = rsdp_v0(RSDT);
        std::copy(r.begin(), r.end(), bios.begin() + (RSDP - 0xE0000));
        mem.place(0xE0000, bios);
        mem.place(RSDT, rsdt({FACP, APIC, HPET}));
        mem.place(FACP, fadt(FACS, DSDT));
        mem.place(FACS, facs());
        mem.place(DSDT, acpi_table("DSDT", Bytes(100, 0x5B)));
        mem.place(APIC, bochs_3cpu_madt());
        mem.place(HPET, acpi_table("HPET", Bytes(20, 0)));
    }
    acpi::Tables tables() {
        acpi::Tables t;
        REQUIRE(acpi::parse_rsdp(rsdp_v0(RSDT).data(), 20, t) == acpi::Error::Ok);
        return t;
    }
};

struct Seen {
    std::string sig;
    uint64_t phys;
    uint32_t len;
};

void record(void* ctx, const char sig[4], uint64_t phys, uint32_t len) {
    static_cast<std::vector<Seen>*>(ctx)->push_back({std::string(sig, 4), phys, len});
}

}  // namespace

TEST_CASE("acpi: RSDP revision 0 gives the RSDT", "[acpi]") {
    const Bytes r = rsdp_v0(0x7FFF0000);
    acpi::Tables t;
    REQUIRE(acpi::parse_rsdp(r.data(), r.size(), t) == acpi::Error::Ok);
    CHECK(t.revision == 0);
    CHECK(t.rsdt == 0x7FFF0000);
    CHECK(t.xsdt == 0);
    CHECK(std::string(t.oem) == "BOCHS ");
}

TEST_CASE("acpi: RSDP revision 2 gives the XSDT and checks the extended checksum", "[acpi]") {
    Bytes r = rsdp_v2(0x7FFE0000, 0x1'2345'6000ull, "OVMF  ");
    acpi::Tables t;
    REQUIRE(acpi::parse_rsdp(r.data(), r.size(), t) == acpi::Error::Ok);
    CHECK(t.revision == 2);
    CHECK(t.rsdt == 0x7FFE0000);
    CHECK(t.xsdt == 0x1'2345'6000ull);
    CHECK(std::string(t.oem) == "OVMF  ");

    Bytes ext = r;
    ext[33] ^= 1;  // reserved byte: only the extended checksum covers it
    CHECK(acpi::parse_rsdp(ext.data(), ext.size(), t) == acpi::Error::RsdpExtendedChecksum);
    CHECK(acpi::parse_rsdp(r.data(), 20, t) == acpi::Error::RsdpTruncated);
    Bytes long_len = r;
    put<uint32_t>(long_len, 20, 64);
    fix_checksum(long_len, 32, 0, 36);  // extended checksum cannot matter: 64 > 36 bytes given
    CHECK(acpi::parse_rsdp(long_len.data(), long_len.size(), t) == acpi::Error::RsdpBadLength);
    Bytes short_len = r;
    put<uint32_t>(short_len, 20, 20);
    CHECK(acpi::parse_rsdp(short_len.data(), short_len.size(), t) == acpi::Error::RsdpBadLength);
}

TEST_CASE("acpi: RSDP signature, checksum and root address are checked", "[acpi]") {
    acpi::Tables t;
    Bytes r = rsdp_v0(0x1000);
    CHECK(acpi::parse_rsdp(nullptr, 20, t) == acpi::Error::NullPointer);
    CHECK(acpi::parse_rsdp(r.data(), 19, t) == acpi::Error::RsdpTruncated);
    Bytes bad_sum = r;
    bad_sum[16] ^= 0x10;
    CHECK(acpi::parse_rsdp(bad_sum.data(), bad_sum.size(), t) == acpi::Error::RsdpChecksum);
    Bytes bad_sig = r;
    bad_sig[0]    = 'X';
    CHECK(acpi::parse_rsdp(bad_sig.data(), bad_sig.size(), t) == acpi::Error::RsdpBadSignature);
    const Bytes none = rsdp_v0(0);
    CHECK(acpi::parse_rsdp(none.data(), none.size(), t) == acpi::Error::NoRootTable);
}

TEST_CASE("acpi: the RSDP is found in the EBDA before the BIOS area", "[acpi]") {
    FakeMem mem;
    mem.place(0x40E, Bytes{0xC0, 0x9F});  // EBDA segment 0x9FC0
    Bytes ebda(1024, 0);
    const Bytes r = rsdp_v2(0x7FFE0000, 0x7FFE0100);
    std::copy(r.begin(), r.end(), ebda.begin() + 0x30);
    mem.place(0x9FC00, ebda);
    Bytes bios(0x20000, 0);
    const Bytes other = rsdp_v0(0x7FFF0000);
    std::copy(other.begin(), other.end(), bios.begin() + 0x15A10);
    mem.place(0xE0000, bios);
    uint64_t at = 0;
    REQUIRE(acpi::find_rsdp_in_bios(mem.phys(), at) == acpi::Error::Ok);
    CHECK(at == 0x9FC30);

    mem.regions.erase(0x9FC00);  // EBDA not mapped: fall back to the BIOS area
    REQUIRE(acpi::find_rsdp_in_bios(mem.phys(), at) == acpi::Error::Ok);
    CHECK(at == 0xF5A10);
}

TEST_CASE("acpi: the BIOS scan skips misplaced and broken RSDPs", "[acpi]") {
    FakeMem mem;
    mem.place(0x40E, Bytes{0, 0});
    Bytes bios(0x20000, 0);
    const Bytes good = rsdp_v0(0x7FFF0000);
    Bytes broken     = good;
    broken[16] ^= 1;
    std::copy(broken.begin(), broken.end(), bios.begin() + 0x1000);      // bad checksum
    std::copy(good.begin(), good.end(), bios.begin() + 0x2008);          // not 16-byte aligned
    std::copy(good.begin(), good.begin() + 16, bios.begin() + 0x1FFF0);  // cut by the area end
    mem.place(0xE0000, bios);
    uint64_t at = 0;
    CHECK(acpi::find_rsdp_in_bios(mem.phys(), at) == acpi::Error::RsdpNotFound);
    std::copy(good.begin(), good.end(), bios.begin() + 0x1FFE0);
    mem.place(0xE0000, bios);
    REQUIRE(acpi::find_rsdp_in_bios(mem.phys(), at) == acpi::Error::Ok);
    CHECK(at == 0xFFFE0);
    FakeMem empty;
    CHECK(acpi::find_rsdp_in_bios(empty.phys(), at) == acpi::Error::RsdpNotFound);
}

TEST_CASE("acpi: tables are found through the RSDT", "[acpi]") {
    BochsMachine m;
    const acpi::Tables t = m.tables();
    uint64_t at          = 0;
    REQUIRE(acpi::find_table(m.mem.phys(), t, "APIC", at) == acpi::Error::Ok);
    CHECK(at == BochsMachine::APIC);
    REQUIRE(acpi::find_table(m.mem.phys(), t, "HPET", at) == acpi::Error::Ok);
    CHECK(at == BochsMachine::HPET);
    CHECK(acpi::find_table(m.mem.phys(), t, "DMAR", at) == acpi::Error::TableNotFound);
    CHECK(acpi::find_table(m.mem.phys(), t, "APIC", at, 1) == acpi::Error::TableNotFound);

    // Found through the BIOS scan, end to end.
    uint64_t rsdp_at = 0;
    REQUIRE(acpi::find_rsdp_in_bios(m.mem.phys(), rsdp_at) == acpi::Error::Ok);
    CHECK(rsdp_at == BochsMachine::RSDP);
}

TEST_CASE("acpi: index selects among tables with the same signature", "[acpi]") {
    FakeMem mem;
    mem.place(0x1000, rsdt({0x2000, 0x3000, 0x4000}));
    mem.place(0x2000, acpi_table("SSDT", Bytes(8, 1)));
    mem.place(0x3000, acpi_table("APIC", MadtBuilder{}.body));
    mem.place(0x4000, acpi_table("SSDT", Bytes(8, 2)));
    acpi::Tables t{};
    t.rsdt      = 0x1000;
    uint64_t at = 0;
    REQUIRE(acpi::find_table(mem.phys(), t, "SSDT", at, 0) == acpi::Error::Ok);
    CHECK(at == 0x2000);
    REQUIRE(acpi::find_table(mem.phys(), t, "SSDT", at, 1) == acpi::Error::Ok);
    CHECK(at == 0x4000);
    CHECK(acpi::find_table(mem.phys(), t, "SSDT", at, 2) == acpi::Error::TableNotFound);
}

TEST_CASE("acpi: the XSDT is preferred and may point above 4 GiB", "[acpi]") {
    FakeMem mem;
    const uint64_t high = 0x1'0000'0000ull;
    mem.place(0x1000, rsdt({0x3000}));
    mem.place(0x2000, xsdt({high}));
    mem.place(0x3000, acpi_table("APIC", MadtBuilder{}.lapic(0, 7).body));
    mem.place(high, acpi_table("APIC", MadtBuilder{}.lapic(0, 9).body));
    acpi::Tables t;
    const Bytes r = rsdp_v2(0x1000, 0x2000);
    REQUIRE(acpi::parse_rsdp(r.data(), r.size(), t) == acpi::Error::Ok);
    uint64_t at = 0;
    REQUIRE(acpi::find_table(mem.phys(), t, "APIC", at) == acpi::Error::Ok);
    CHECK(at == high);
    t.revision = 0;  // an ACPI 1.0 RSDP has no XSDT: the RSDT is used
    REQUIRE(acpi::find_table(mem.phys(), t, "APIC", at) == acpi::Error::Ok);
    CHECK(at == 0x3000);
}

TEST_CASE("acpi: broken roots and tables are reported, not used", "[acpi]") {
    BochsMachine m;
    const acpi::Tables t = m.tables();
    uint64_t at          = 0;

    m.mem.regions[BochsMachine::APIC][40] ^= 1;  // MADT flags changed, checksum not
    CHECK(acpi::find_table(m.mem.phys(), t, "APIC", at) == acpi::Error::TableChecksum);
    // Other tables stay reachable.
    CHECK(acpi::find_table(m.mem.phys(), t, "HPET", at) == acpi::Error::Ok);

    Bytes& hpet = m.mem.regions[BochsMachine::HPET];
    put<uint32_t>(hpet, 4, 20);
    fix_checksum(hpet, 9, 0, 20);
    CHECK(acpi::find_table(m.mem.phys(), t, "HPET", at) == acpi::Error::TableBadLength);
    put<uint32_t>(hpet, 4, 0x10000);  // longer than what is mapped
    CHECK(acpi::find_table(m.mem.phys(), t, "HPET", at) == acpi::Error::Unmapped);

    Bytes& root = m.mem.regions[BochsMachine::RSDT];
    root[36] ^= 0x40;
    CHECK(acpi::find_table(m.mem.phys(), t, "HPET", at) == acpi::Error::TableChecksum);
    root[36] ^= 0x40;
    root[0] = 'X';
    CHECK(acpi::find_table(m.mem.phys(), t, "HPET", at) == acpi::Error::RootBadSignature);

    acpi::Tables nowhere = t;
    nowhere.rsdt         = 0x5000;
    CHECK(acpi::find_table(m.mem.phys(), nowhere, "APIC", at) == acpi::Error::Unmapped);
    nowhere.rsdt = 0;
    CHECK(acpi::find_table(m.mem.phys(), nowhere, "APIC", at) == acpi::Error::NoRootTable);
}

TEST_CASE("acpi: for_each_table walks root, listed tables, DSDT and FACS", "[acpi]") {
    BochsMachine m;
    const acpi::Tables t = m.tables();
    std::vector<Seen> seen;
    REQUIRE(acpi::for_each_table(m.mem.phys(), t, record, &seen) == acpi::Error::Ok);
    std::vector<std::string> sigs;
    for (const Seen& s : seen) sigs.push_back(s.sig);
    CHECK(sigs == std::vector<std::string>{"RSDT", "FACP", "DSDT", "FACS", "APIC", "HPET"});
    CHECK(seen[0].phys == BochsMachine::RSDT);
    CHECK(seen[0].len == 36 + 12);
    CHECK(seen[2].phys == BochsMachine::DSDT);
    CHECK(seen[2].len == 136);
    CHECK(seen[3].len == 64);
}

TEST_CASE("acpi: for_each_table keeps going past a broken table and reports it", "[acpi]") {
    BochsMachine m;
    const acpi::Tables t = m.tables();
    m.mem.regions[BochsMachine::APIC][50] ^= 1;
    // The FADT's X_DSDT points back at the FADT itself: must not loop.
    m.mem.place(BochsMachine::FACP, fadt(BochsMachine::FACS, BochsMachine::DSDT, BochsMachine::FACP));
    std::vector<Seen> seen;
    CHECK(acpi::for_each_table(m.mem.phys(), t, record, &seen) == acpi::Error::TableChecksum);
    std::vector<std::string> sigs;
    for (const Seen& s : seen) sigs.push_back(s.sig);
    CHECK(sigs == std::vector<std::string>{"RSDT", "FACP", "FACP", "FACS", "APIC", "HPET"});
}

TEST_CASE("acpi: MADT of a 3-CPU Bochs machine", "[acpi][madt]") {
    auto m = new_madt();
    REQUIRE(parse(bochs_3cpu_madt(), *m) == acpi::Error::Ok);
    CHECK(m->lapic_address == 0xFEE00000u);
    CHECK(m->lapic_base == 0xFEE00000u);
    CHECK(m->flags == 1);
    REQUIRE(m->cpu_count == 3);
    for (uint32_t i = 0; i < 3; ++i) {
        CHECK(m->cpus[i].apic_id == i);
        CHECK(m->cpus[i].acpi_uid == i);
        CHECK(m->cpus[i].enabled);
        CHECK_FALSE(m->cpus[i].online_capable);
    }
    REQUIRE(m->ioapic_count == 1);
    CHECK(m->ioapics[0].id == 1);
    CHECK(m->ioapics[0].address == 0xFEC00000u);
    CHECK(m->ioapics[0].gsi_base == 0);
    REQUIRE(m->override_count == 1);
    CHECK(m->overrides[0].bus == 0);
    CHECK(m->overrides[0].source == 0);
    CHECK(m->overrides[0].gsi == 2);
    CHECK(m->overrides[0].flags == 0);
    CHECK(m->nmi_count == 0);
}

TEST_CASE("acpi: MADT shaped like QEMU q35", "[acpi][madt]") {
    auto m = new_madt();
    REQUIRE(parse(q35_madt(), *m) == acpi::Error::Ok);
    REQUIRE(m->cpu_count == 1);
    CHECK(m->cpus[0].apic_id == 0);
    REQUIRE(m->ioapic_count == 1);
    CHECK(m->ioapics[0].id == 0);
    CHECK(m->ioapics[0].address == 0xFEC00000u);
    REQUIRE(m->override_count == 5);
    CHECK(m->overrides[0].source == 0);
    CHECK(m->overrides[0].gsi == 2);
    const uint8_t level_irqs[] = {5, 9, 10, 11};
    for (size_t i = 0; i < 4; ++i) {
        const acpi::Override& o = m->overrides[i + 1];
        CHECK(o.source == level_irqs[i]);
        CHECK(o.gsi == level_irqs[i]);
        CHECK((o.flags & acpi::TRIGGER_MASK) == acpi::TRIGGER_LEVEL);
        CHECK((o.flags & acpi::POLARITY_MASK) == acpi::POLARITY_HIGH);
    }
    REQUIRE(m->nmi_count == 1);
    CHECK(m->nmis[0].acpi_uid == acpi::ALL_PROCESSORS);
    CHECK(m->nmis[0].lint == 1);
    CHECK(m->nmis[0].flags == 0);
}

TEST_CASE("acpi: x2APIC entries, address override and unknown types", "[acpi][madt]") {
    const Bytes t = MadtBuilder{}
                        .lapic(0, 0)
                        .lapic(1, 1, 2)                      // not enabled, online capable
                        .raw(Bytes{0x7F, 7, 1, 2, 3, 4, 5})  // unknown type, odd length
                        .x2apic(0, 0)                        // twin of the first LAPIC entry
                        .x2apic(300, 300)
                        .x2apic_nmi(0xFFFFFFFFu, 0x5, 1)
                        .x2apic_nmi(300, 0, 0)
                        .lapic_override(0x1'FEE0'0000ull)
                        .raw(Bytes{0, 10, 2, 2, 1, 0, 0, 0, 0xEE, 0xEE})  // LAPIC entry longer than 8
                        .table();
    auto m = new_madt();
    REQUIRE(parse(t, *m) == acpi::Error::Ok);
    REQUIRE(m->cpu_count == 4);
    CHECK_FALSE(m->cpus[1].enabled);
    CHECK(m->cpus[1].online_capable);
    CHECK(m->cpus[2].apic_id == 300);
    CHECK(m->cpus[2].acpi_uid == 300);
    CHECK(m->cpus[3].apic_id == 2);
    REQUIRE(m->nmi_count == 2);
    CHECK(m->nmis[0].acpi_uid == acpi::ALL_PROCESSORS);
    CHECK(m->nmis[0].flags == 5);
    CHECK(m->nmis[0].lint == 1);
    CHECK(m->nmis[1].acpi_uid == 300);
    CHECK(m->lapic_address == 0xFEE00000u);
    CHECK(m->lapic_base == 0x1'FEE0'0000ull);
}

TEST_CASE("acpi: MADT header problems", "[acpi][madt]") {
    auto m  = new_madt();
    Bytes t = bochs_3cpu_madt();
    CHECK(acpi::parse_madt(nullptr, 100, *m) == acpi::Error::NullPointer);
    CHECK(acpi::parse_madt(t.data(), 30, *m) == acpi::Error::TableTruncated);
    CHECK(acpi::parse_madt(t.data(), t.size() - 1, *m) == acpi::Error::TableTruncated);
    Bytes sum = t;
    sum[36] ^= 1;
    CHECK(parse(sum, *m) == acpi::Error::TableChecksum);
    Bytes sig = t;
    sig[0]    = 'B';
    reseal(sig);
    CHECK(parse(sig, *m) == acpi::Error::TableBadSignature);
    Bytes short_madt(t.begin(), t.begin() + 40);
    reseal(short_madt);
    CHECK(parse(short_madt, *m) == acpi::Error::TableBadLength);
}

TEST_CASE("acpi: truncated and zero-length MADT entries fail cleanly", "[acpi][madt]") {
    auto m           = new_madt();
    const Bytes full = q35_madt();
    // Entry boundaries of q35_madt(): 44, then 8, 12, 10 x5, 6.
    std::vector<size_t> bounds{44};
    for (size_t len : {8, 12, 10, 10, 10, 10, 10, 6}) bounds.push_back(bounds.back() + len);
    REQUIRE(bounds.back() == full.size());
    // Shrink the table's own length (checksum kept valid) to every size: only
    // entry boundaries parse; anything else is a truncated entry.
    for (size_t n = 44; n <= full.size(); ++n) {
        Bytes cut(full.begin(), full.begin() + static_cast<long>(n));
        reseal(cut);
        const bool boundary = std::find(bounds.begin(), bounds.end(), n) != bounds.end();
        INFO("length " << n);
        CHECK(parse(cut, *m) == (boundary ? acpi::Error::Ok : acpi::Error::MadtEntryTruncated));
    }

    CHECK(parse(MadtBuilder{}.lapic(0, 0).raw(Bytes{0x7F, 0, 0, 0}).table(), *m) == acpi::Error::MadtEntryZeroLength);
    CHECK(parse(MadtBuilder{}.raw(Bytes{0, 0, 0, 0, 0, 0, 0, 0}).table(), *m) == acpi::Error::MadtEntryZeroLength);
    CHECK(parse(MadtBuilder{}.raw(Bytes{0x7F, 1, 0, 0}).table(), *m) == acpi::Error::MadtEntryTooShort);
    CHECK(parse(MadtBuilder{}.raw(Bytes{0, 6, 0, 0, 1, 0}).table(), *m) == acpi::Error::MadtEntryTooShort);
    CHECK(parse(MadtBuilder{}.raw(Bytes{1, 8, 0, 0, 0, 0, 0xC0, 0xFE}).table(), *m) == acpi::Error::MadtEntryTooShort);
    CHECK(parse(MadtBuilder{}.raw(Bytes{9, 12, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0}).table(), *m) ==
          acpi::Error::MadtEntryTooShort);
}

TEST_CASE("acpi: MADT capacity limits are errors, not silent truncation", "[acpi][madt]") {
    auto m = new_madt();
    MadtBuilder cpus;
    for (uint32_t i = 0; i < 256; ++i) cpus.x2apic(i, i);
    REQUIRE(parse(cpus.table(), *m) == acpi::Error::Ok);
    CHECK(m->cpu_count == 256);
    cpus.x2apic(256, 256);
    CHECK(parse(cpus.table(), *m) == acpi::Error::TooManyCpus);

    MadtBuilder io;
    for (uint8_t i = 0; i < 17; ++i) io.ioapic(i, 0xFEC00000u + i * 0x1000u, i * 24u);
    CHECK(parse(io.table(), *m) == acpi::Error::TooManyIoapics);
    MadtBuilder isos;
    for (uint8_t i = 0; i < 33; ++i) isos.iso(i, i, 0);
    CHECK(parse(isos.table(), *m) == acpi::Error::TooManyOverrides);
    MadtBuilder nmis;
    for (uint8_t i = 0; i < 33; ++i) nmis.lapic_nmi(i, 0, 1);
    CHECK(parse(nmis.table(), *m) == acpi::Error::TooManyNmis);
}

TEST_CASE("acpi: random MADT corruption never reads outside the table", "[acpi][madt][robust]") {
    auto m           = new_madt();
    const Bytes good = q35_madt();
    std::mt19937 rng(777);
    size_t ok = 0, failed = 0;
    for (int round = 0; round < 5000; ++round) {
        Bytes b         = good;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; ++f) b[44 + rng() % (b.size() - 44)] = static_cast<uint8_t>(rng());
        fix_checksum(b, 9, 0, b.size());
        if (parse(b, *m) == acpi::Error::Ok) {
            ++ok;
            REQUIRE(m->cpu_count <= acpi::MAX_CPUS);
        } else {
            ++failed;
        }
    }
    CHECK(ok > 0);
    CHECK(failed > 0);
}

TEST_CASE("acpi: every error has its own sentence", "[acpi]") {
    std::vector<std::string> seen;
    for (int i = 0; i <= static_cast<int>(acpi::Error::TooManyNmis); ++i) {
        const std::string s = acpi::to_string(static_cast<acpi::Error>(i));
        CHECK(s.size() > 10);
        CHECK(std::find(seen.begin(), seen.end(), s) == seen.end());
        seen.push_back(s);
    }
}
