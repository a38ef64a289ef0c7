// DMAR parsing on QEMU's real table and on a synthetic X58-like layout.
#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <tuple>
#include <vector>

#include "hypervisor/lib/dmar.hpp"

using namespace natsume::dmar;
using Bytes = std::vector<uint8_t>;

namespace {

Bytes load(const char* name) {
    std::ifstream f(std::string(NATSUME_PARSER_DATA_DIR) + "/" + name, std::ios::binary);
    REQUIRE(f.good());
    return Bytes(std::istreambuf_iterator<char>(f), {});
}

void put16(Bytes& b, size_t off, uint16_t v) {
    b[off]     = uint8_t(v);
    b[off + 1] = uint8_t(v >> 8);
}
void put32(Bytes& b, size_t off, uint32_t v) {
    put16(b, off, uint16_t(v));
    put16(b, off + 2, uint16_t(v >> 16));
}
void put64(Bytes& b, size_t off, uint64_t v) {
    put32(b, off, uint32_t(v));
    put32(b, off + 4, uint32_t(v >> 32));
}

void fix(Bytes& t) {
    put32(t, 4, uint32_t(t.size()));
    t[9]        = 0;
    uint8_t sum = 0;
    for (uint8_t c : t) sum = uint8_t(sum + c);
    t[9] = uint8_t(-sum);
}

Bytes header(uint8_t haw_minus_1, uint8_t flags) {
    Bytes t(48, 0);
    std::memcpy(t.data(), "DMAR", 4);
    t[8]  = 1;
    t[36] = haw_minus_1;
    t[37] = flags;
    return t;
}

Bytes scope(uint8_t type, uint8_t enum_id, uint8_t bus, std::vector<std::pair<uint8_t, uint8_t>> path) {
    Bytes s{type, uint8_t(6 + 2 * path.size()), 0, 0, enum_id, bus};
    for (auto [d, f] : path) {
        s.push_back(d);
        s.push_back(f);
    }
    return s;
}

void add_drhd(Bytes& t, uint8_t flags, uint64_t base, const std::vector<Bytes>& scopes) {
    Bytes s(16, 0);
    s[4] = flags;
    put64(s, 8, base);
    for (const Bytes& sc : scopes) s.insert(s.end(), sc.begin(), sc.end());
    put16(s, 2, uint16_t(s.size()));
    t.insert(t.end(), s.begin(), s.end());
}

void add_rmrr(Bytes& t, uint64_t base, uint64_t limit, const std::vector<Bytes>& scopes) {
    Bytes s(24, 0);
    put16(s, 0, 1);
    put64(s, 8, base);
    put64(s, 16, limit);
    for (const Bytes& sc : scopes) s.insert(s.end(), sc.begin(), sc.end());
    put16(s, 2, uint16_t(s.size()));
    t.insert(t.end(), s.begin(), s.end());
}

void add_other(Bytes& t, uint16_t type, uint16_t len) {
    Bytes s(len, 0xAA);
    put16(s, 0, type);
    put16(s, 2, len);
    t.insert(t.end(), s.begin(), s.end());
}

// X58-like: unit 0 names the graphics root port's subtree and an endpoint
// behind bridge 00:03.0 (secondary bus 2); unit 1 is INCLUDE_PCI_ALL with the
// IOAPIC; one RMRR for the USB controller 00:1a.0 (BIOS legacy keyboard DMA);
// an ATSR and an RHSA that must be skipped.
Bytes x58_table() {
    Bytes t = header(39, DMAR_INTR_REMAP);
    add_drhd(t, 0, 0xfbffe000, {scope(2, 0, 0, {{1, 0}}), scope(1, 0, 0, {{3, 0}, {0, 0}})});
    add_drhd(t, DRHD_INCLUDE_PCI_ALL, 0xfbfff000, {scope(3, 8, 0, {{0x13, 0}})});
    add_rmrr(t, 0x000e8000, 0x000e8fff, {scope(1, 0, 0, {{0x1a, 0}}), scope(1, 0, 0, {{0x1d, 7}})});
    add_other(t, 2, 16);  // ATSR
    add_other(t, 3, 20);  // RHSA
    fix(t);
    return t;
}

// Fake configuration space: bridge 00:03.0 with secondary bus 2.
struct FakePci {
    std::map<std::tuple<int, int, int, int>, uint8_t> bytes;
    static uint8_t read(void* ctx, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off) {
        auto* self = static_cast<FakePci*>(ctx);
        auto it    = self->bytes.find({bus, dev, fn, off});
        return it == self->bytes.end() ? 0xff : it->second;
    }
};
FakePci x58_pci() {
    FakePci p;
    p.bytes[{0, 3, 0, 0x0e}] = 0x01;
    p.bytes[{0, 3, 0, 0x18}] = 0;
    p.bytes[{0, 3, 0, 0x19}] = 2;
    return p;
}

}  // namespace

TEST_CASE("QEMU q35 DMAR: one unit at 0xfed90000 with explicit scopes", "[dmar]") {
    Bytes t = load("qemu-q35-4cpu-iommu-dmar.bin");
    Dmar d;
    REQUIRE(parse(t.data(), t.size(), d) == Error::Ok);
    CHECK(d.host_address_width == 39);
    CHECK((d.flags & DMAR_INTR_REMAP) != 0);
    REQUIRE(d.unit_count == 1);
    CHECK(d.units[0].base == 0xfed90000);
    CHECK(d.units[0].segment == 0);
    CHECK_FALSE(d.units[0].include_pci_all());
    REQUIRE(d.units[0].scope_count == 7);
    const Scope& ioapic = d.scopes[0];
    CHECK(ioapic.type == ScopeType::Ioapic);
    CHECK(ioapic.enumeration_id == 0);
    CHECK(ioapic.start_bus == 0xff);
    std::vector<std::pair<int, int>> endpoints;
    for (size_t i = 1; i < 7; i++) {
        CHECK(d.scopes[i].type == ScopeType::PciEndpoint);
        CHECK(d.scopes[i].depth == 1);
        endpoints.push_back({d.scopes[i].path[0].device, d.scopes[i].path[0].function});
    }
    CHECK(endpoints == std::vector<std::pair<int, int>>{{0, 0}, {1, 0}, {2, 0}, {0x1f, 0}, {0x1f, 2}, {0x1f, 3}});
    CHECK(d.rmrr_count == 0);
    CHECK(d.skipped == 0);
}

TEST_CASE("QEMU DMAR: endpoint 00:1f.2 belongs to the unit, an unlisted device to none", "[dmar]") {
    Bytes t = load("qemu-q35-4cpu-iommu-dmar.bin");
    Dmar d;
    REQUIRE(parse(t.data(), t.size(), d) == Error::Ok);
    FakePci none;
    CHECK(unit_for(d, 0, Bdf{0, 0x1f, 2}, FakePci::read, &none) == 0);
    CHECK(unit_for(d, 0, Bdf{0, 5, 0}, FakePci::read, &none) == -1);
    CHECK(unit_for(d, 1, Bdf{0, 0x1f, 2}, FakePci::read, &none) == -1);
}

TEST_CASE("X58-like DMAR: two units, RMRR for USB, other structures skipped", "[dmar]") {
    Bytes t = x58_table();
    Dmar d;
    REQUIRE(parse(t.data(), t.size(), d) == Error::Ok);
    CHECK(d.host_address_width == 40);
    REQUIRE(d.unit_count == 2);
    CHECK(d.units[0].base == 0xfbffe000);
    CHECK(d.units[0].scope_count == 2);
    CHECK(d.scopes[d.units[0].first_scope].type == ScopeType::PciSubHierarchy);
    const Scope& behind = d.scopes[d.units[0].first_scope + 1];
    CHECK(behind.depth == 2);
    CHECK(d.units[1].include_pci_all());
    CHECK(d.scopes[d.units[1].first_scope].type == ScopeType::Ioapic);
    CHECK(d.scopes[d.units[1].first_scope].enumeration_id == 8);
    REQUIRE(d.rmrr_count == 1);
    CHECK(d.rmrrs[0].base == 0xe8000);
    CHECK(d.rmrrs[0].limit == 0xe8fff);
    REQUIRE(d.rmrrs[0].scope_count == 2);
    const Scope& usb = d.scopes[d.rmrrs[0].first_scope];
    CHECK(usb.path[0].device == 0x1a);
    CHECK(d.scopes[d.rmrrs[0].first_scope + 1].path[0].function == 7);
    CHECK(d.skipped == 2);
    CHECK(d.scope_count == 5);
}

TEST_CASE("X58-like DMAR: paths resolve through bridges; the catch-all unit takes the rest", "[dmar]") {
    Bytes t = x58_table();
    Dmar d;
    REQUIRE(parse(t.data(), t.size(), d) == Error::Ok);
    FakePci pci = x58_pci();
    Bdf got{};
    REQUIRE(resolve_path(d.scopes[d.units[0].first_scope + 1], FakePci::read, &pci, got) == PathError::Ok);
    CHECK(got == Bdf{2, 0, 0});
    CHECK(got.raw() == 0x0200);
    CHECK(unit_for(d, 0, Bdf{2, 0, 0}, FakePci::read, &pci) == 0);
    CHECK(unit_for(d, 0, Bdf{0, 0x1a, 0}, FakePci::read, &pci) == 1);

    FakePci no_bridge;  // 00:03.0 absent: the path cannot be followed
    CHECK(resolve_path(d.scopes[d.units[0].first_scope + 1], FakePci::read, &no_bridge, got) == PathError::NotABridge);
    pci.bytes[{0, 3, 0, 0x19}] = 0;  // bridge not yet given a bus number
    CHECK(resolve_path(d.scopes[d.units[0].first_scope + 1], FakePci::read, &pci, got) == PathError::BridgeNoBus);
}

TEST_CASE("DMAR: malformed tables are rejected with the reason", "[dmar]") {
    Dmar d;
    Bytes good = x58_table();
    CHECK(parse(nullptr, 0, d) == Error::NullPointer);
    CHECK(parse(good.data(), 40, d) == Error::TooShort);

    Bytes sig = good;
    sig[0]    = 'X';
    CHECK(parse(sig.data(), sig.size(), d) == Error::BadSignature);

    CHECK(parse(good.data(), good.size() - 1, d) == Error::BadLength);

    Bytes sum = good;
    sum[40] ^= 1;
    CHECK(parse(sum.data(), sum.size(), d) == Error::Checksum);

    Bytes zero = header(38, 0);
    add_other(zero, 7, 8);
    put16(zero, 50, 0);  // structure length 0 would loop forever
    fix(zero);
    CHECK(parse(zero.data(), zero.size(), d) == Error::StructBadLength);

    Bytes trunc = header(38, 0);
    trunc.push_back(0);
    trunc.push_back(0);
    fix(trunc);
    CHECK(parse(trunc.data(), trunc.size(), d) == Error::StructTruncated);

    Bytes shortdrhd = header(38, 0);
    add_other(shortdrhd, 0, 12);
    fix(shortdrhd);
    CHECK(parse(shortdrhd.data(), shortdrhd.size(), d) == Error::StructBadLength);

    Bytes badscope = header(38, 0);
    add_drhd(badscope, 0, 0xfed90000, {scope(1, 0, 0, {{1, 0}})});
    badscope[48 + 16 + 1] = 9;  // odd path length
    fix(badscope);
    CHECK(parse(badscope.data(), badscope.size(), d) == Error::ScopeBadLength);

    Bytes overlong = header(38, 0);
    add_drhd(overlong, 0, 0xfed90000, {scope(1, 0, 0, {{1, 0}})});
    overlong[48 + 16 + 1] = 40;  // runs past its structure
    fix(overlong);
    CHECK(parse(overlong.data(), overlong.size(), d) == Error::ScopeBadLength);

    Bytes deep = header(38, 0);
    std::vector<std::pair<uint8_t, uint8_t>> path(MAX_PATH_DEPTH + 1, {1, 0});
    add_drhd(deep, 0, 0xfed90000, {scope(1, 0, 0, path)});
    fix(deep);
    CHECK(parse(deep.data(), deep.size(), d) == Error::PathTooDeep);

    Bytes rmrr = header(38, 0);
    add_rmrr(rmrr, 0xe8000, 0xe8ffe, {});
    fix(rmrr);
    CHECK(parse(rmrr.data(), rmrr.size(), d) == Error::RmrrBadRange);
    Bytes backwards = header(38, 0);
    add_rmrr(backwards, 0xe9000, 0xe7fff, {});
    fix(backwards);
    CHECK(parse(backwards.data(), backwards.size(), d) == Error::RmrrBadRange);
    // Up to the top of the address space: its size, limit - base + 1, would wrap to 0.
    Bytes top = header(38, 0);
    add_rmrr(top, 0, ~0ull, {});
    fix(top);
    CHECK(parse(top.data(), top.size(), d) == Error::RmrrBadRange);
}

TEST_CASE("DMAR: fixed capacities are enforced, not overrun", "[dmar]") {
    Dmar d;
    Bytes units = header(38, 0);
    for (size_t i = 0; i <= MAX_UNITS; i++) add_drhd(units, 0, 0xfed90000 + i * 0x1000, {});
    fix(units);
    CHECK(parse(units.data(), units.size(), d) == Error::TooManyUnits);

    Bytes scopes = header(38, 0);
    std::vector<Bytes> many(MAX_SCOPES + 1, scope(1, 0, 0, {{1, 0}}));
    add_drhd(scopes, 0, 0xfed90000, many);
    fix(scopes);
    CHECK(parse(scopes.data(), scopes.size(), d) == Error::TooManyScopes);
    CHECK(d.scope_count <= MAX_SCOPES);
}

TEST_CASE("DMAR: every prefix of a valid table fails cleanly", "[dmar]") {
    Bytes t = x58_table();
    Dmar d;
    for (size_t n = 0; n < t.size(); n++) CHECK(parse(t.data(), n, d) != Error::Ok);
    CHECK(std::string(to_string(Error::RmrrBadRange)).find("RMRR") != std::string::npos);
    CHECK(std::string(to_string(PathError::NotABridge)).find("bridge") != std::string::npos);
}
