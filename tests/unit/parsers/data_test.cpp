// Runs the parsers over captured files in data/ (see data/README.md).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>

#include "bytes.hpp"
#include "hypervisor/lib/acpi.hpp"
#include "hypervisor/lib/elf.hpp"
#include "hypervisor/lib/multiboot2.hpp"

using namespace natsume;
using test::Bytes;

namespace {

namespace fs = std::filesystem;

bool ends_with(const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Parses one captured file by its content (or mb2- prefix) and returns a
// description of the result: "ok" or the parser's error sentence.
std::string parse_capture(const std::string& name, const Bytes& b) {
    auto starts = [&](const char* magic, size_t n) { return b.size() >= n && std::memcmp(b.data(), magic, n) == 0; };
    if (name.rfind("mb2-", 0) == 0) {
        // mb2::parse wants an 8-byte aligned block; vector storage is.
        auto info          = std::make_unique<mb2::Info>();
        const mb2::Error e = mb2::parse(b.data(), b.size(), *info);
        return e == mb2::Error::Ok ? "ok" : mb2::to_string(e);
    }
    if (starts("\x7f"
               "ELF",
               4)) {
        elf::Image img;
        const elf::Error e = elf::parse(b.data(), b.size(), img);
        return e == elf::Error::Ok ? "ok" : elf::to_string(e);
    }
    if (starts("RSD PTR ", 8)) {
        acpi::Tables t;
        const acpi::Error e = acpi::parse_rsdp(b.data(), b.size(), t);
        return e == acpi::Error::Ok ? "ok" : acpi::to_string(e);
    }
    if (starts("APIC", 4)) {
        auto madt           = std::make_unique<acpi::Madt>();
        const acpi::Error e = acpi::parse_madt(b.data(), b.size(), *madt);
        return e == acpi::Error::Ok ? "ok" : acpi::to_string(e);
    }
    if (starts("FACS", 4))  // the one table without a checksum (ACPI 6.5 section 5.2.10)
        return b.size() >= 64 && test::get<uint32_t>(b, 4) == b.size() ? "ok" : "bad FACS length";
    const acpi::Error e = acpi::check_table(b.data(), b.size());  // any other ACPI table
    return e == acpi::Error::Ok ? "ok" : acpi::to_string(e);
}

}  // namespace

TEST_CASE("data: captured files parse as their names promise", "[data]") {
    const fs::path dir = NATSUME_PARSER_DATA_DIR;
    size_t files       = 0;
    if (fs::is_directory(dir)) {
        for (const auto& entry : fs::directory_iterator(dir)) {
            const std::string name = entry.path().filename().string();
            if (!entry.is_regular_file() || !ends_with(name, ".bin")) continue;
            std::ifstream f(entry.path(), std::ios::binary);
            const Bytes b{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
            const bool expect_ok     = !ends_with(name, ".bad.bin");
            const std::string result = parse_capture(name, b);
            INFO(name << ": " << result);
            CHECK((result == "ok") == expect_ok);
            ++files;
        }
    }
    // Nothing captured yet is not a failure; the count shows up with -s.
    INFO(files << " captured files checked");
    SUCCEED();
}

namespace {

Bytes read_capture(const char* name) {
    std::ifstream f(fs::path(NATSUME_PARSER_DATA_DIR) / name, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

const char* const Q35_TABLES[] = {"facp", "dsdt", "apic", "hpet", "mcfg", "waet"};
// The order in which the captured RSDT lists its tables.
const char* const Q35_RSDT_ORDER[] = {"FACP", "APIC", "HPET", "MCFG", "WAET"};

// Guest RAM of the captured q35 machine, rebuilt from the table files at the
// addresses the captured RSDP, RSDT and FADT name.
struct CapturedQ35 {
    std::map<uint64_t, Bytes> at;
    std::map<std::string, uint64_t> where;
    Bytes bios = Bytes(0x20000, 0);

    CapturedQ35() {
        const Bytes rsdp = read_capture("qemu-q35-2cpu-rsdp.bin");
        const Bytes rsdt = read_capture("qemu-q35-2cpu-rsdt.bin");
        REQUIRE(rsdp.size() == 20);
        REQUIRE(rsdt.size() == 36 + 4 * std::size(Q35_RSDT_ORDER));
        std::copy(rsdp.begin(), rsdp.end(), bios.begin() + (0xF59E0 - 0xE0000));
        place("RSDT", test::get<uint32_t>(rsdp, 16), rsdt);
        std::map<std::string, Bytes> by_sig;
        for (const char* n : Q35_TABLES) {
            Bytes t = read_capture((std::string("qemu-q35-2cpu-") + n + ".bin").c_str());
            REQUIRE(t.size() >= 36);
            by_sig[std::string(t.begin(), t.begin() + 4)] = t;
        }
        for (size_t i = 0; i < std::size(Q35_RSDT_ORDER); ++i)
            place(Q35_RSDT_ORDER[i], test::get<uint32_t>(rsdt, 36 + 4 * i), by_sig[Q35_RSDT_ORDER[i]]);
        place("DSDT", test::get<uint32_t>(by_sig["FACP"], 40), by_sig["DSDT"]);
        place("FACS", test::get<uint32_t>(by_sig["FACP"], 36), read_capture("qemu-q35-2cpu-facs.bin"));
    }
    void place(const std::string& sig, uint64_t phys, const Bytes& t) {
        at[phys]   = t;
        where[sig] = phys;
    }
    static const void* map(void* ctx, uint64_t phys, size_t len) {
        auto* self = static_cast<CapturedQ35*>(ctx);
        if (phys >= 0xE0000 && phys - 0xE0000 + len <= self->bios.size()) return self->bios.data() + (phys - 0xE0000);
        for (auto& [base, t] : self->at)
            if (phys >= base && phys - base + len <= t.size()) return t.data() + (phys - base);
        return nullptr;
    }
};

}  // namespace

TEST_CASE("data: captured QEMU q35 MADT", "[data][acpi]") {
    const Bytes t = read_capture("qemu-q35-2cpu-apic.bin");
    auto m        = std::make_unique<acpi::Madt>();
    REQUIRE(acpi::parse_madt(t.data(), t.size(), *m) == acpi::Error::Ok);
    CHECK(m->lapic_address == 0xFEE00000u);
    REQUIRE(m->cpu_count == 2);
    CHECK(m->cpus[1].apic_id == 1);
    CHECK(m->cpus[1].enabled);
    REQUIRE(m->ioapic_count == 1);
    CHECK(m->ioapics[0].id == 0);
    CHECK(m->ioapics[0].address == 0xFEC00000u);
    REQUIRE(m->override_count == 5);
    CHECK(m->overrides[0].gsi == 2);
    CHECK(m->overrides[4].source == 11);
    CHECK(m->overrides[4].flags == (acpi::TRIGGER_LEVEL | acpi::POLARITY_HIGH));
    REQUIRE(m->nmi_count == 1);
    CHECK(m->nmis[0].acpi_uid == acpi::ALL_PROCESSORS);
    CHECK(m->nmis[0].lint == 1);
}

TEST_CASE("data: captured QEMU q35 tables walked end to end", "[data][acpi]") {
    CapturedQ35 q;
    const acpi::PhysMem mem{&CapturedQ35::map, &q};
    uint64_t rsdp_at = 0;
    REQUIRE(acpi::find_rsdp_in_bios(mem, rsdp_at) == acpi::Error::Ok);
    CHECK(rsdp_at == 0xF59E0);
    acpi::Tables t;
    REQUIRE(acpi::parse_rsdp(static_cast<const uint8_t*>(CapturedQ35::map(&q, rsdp_at, 20)), 20, t) == acpi::Error::Ok);
    CHECK(t.revision == 0);
    CHECK(std::string(t.oem) == "BOCHS ");
    for (const char* sig : Q35_RSDT_ORDER) {
        uint64_t at = 0;
        INFO(sig);
        REQUIRE(acpi::find_table(mem, t, sig, at) == acpi::Error::Ok);
        CHECK(at == q.where[sig]);
    }
    uint64_t at = 0;
    CHECK(acpi::find_table(mem, t, "DMAR", at) == acpi::Error::TableNotFound);

    std::vector<std::string> sigs;
    auto record = [](void* ctx, const char sig[4], uint64_t, uint32_t) {
        static_cast<std::vector<std::string>*>(ctx)->emplace_back(sig, 4);
    };
    CHECK(acpi::for_each_table(mem, t, record, &sigs) == acpi::Error::Ok);
    CHECK(sigs == std::vector<std::string>{"RSDT", "FACP", "DSDT", "FACS", "APIC", "HPET", "MCFG", "WAET"});

    // Without the FACS mapped, the walk still lists everything else and says why it failed.
    q.at.erase(q.where["FACS"]);
    sigs.clear();
    CHECK(acpi::for_each_table(mem, t, record, &sigs) == acpi::Error::Unmapped);
    CHECK(sigs == std::vector<std::string>{"RSDT", "FACP", "DSDT", "APIC", "HPET", "MCFG", "WAET"});
}
