// Synthetic ACPI tables and a fake physical memory for the ACPI tests.
#pragma once
#include <cstring>
#include <map>
#include <string>

#include "bytes.hpp"
#include "hypervisor/lib/acpi.hpp"

namespace natsume::test {

// Header (ACPI 6.5 section 5.2.6) + body, with length and checksum filled in.
inline Bytes acpi_table(const char* sig, const Bytes& body, uint8_t revision = 1) {
    Bytes t(36, 0);
    std::memcpy(t.data(), sig, 4);
    t[8] = revision;
    std::memcpy(t.data() + 10, "NATSUM", 6);
    std::memcpy(t.data() + 16, "TESTTABL", 8);
    t.insert(t.end(), body.begin(), body.end());
    put<uint32_t>(t, 4, static_cast<uint32_t>(t.size()));
    fix_checksum(t, 9, 0, t.size());
    return t;
}

// Recomputes length and checksum after a test edited a table.
inline void reseal(Bytes& t) {
    put<uint32_t>(t, 4, static_cast<uint32_t>(t.size()));
    fix_checksum(t, 9, 0, t.size());
}

inline Bytes rsdp_v0(uint32_t rsdt, const char* oem = "BOCHS ") {
    Bytes r(20, 0);
    std::memcpy(r.data(), "RSD PTR ", 8);
    std::memcpy(r.data() + 9, oem, 6);
    put<uint32_t>(r, 16, rsdt);
    fix_checksum(r, 8, 0, 20);
    return r;
}

inline Bytes rsdp_v2(uint32_t rsdt, uint64_t xsdt, const char* oem = "BOCHS ") {
    Bytes r(36, 0);
    std::memcpy(r.data(), "RSD PTR ", 8);
    std::memcpy(r.data() + 9, oem, 6);
    r[15] = 2;
    put<uint32_t>(r, 16, rsdt);
    put<uint32_t>(r, 20, 36);
    put<uint64_t>(r, 24, xsdt);
    fix_checksum(r, 8, 0, 20);
    fix_checksum(r, 32, 0, 36);
    return r;
}

// MADT (section 5.2.12) built entry by entry.
struct MadtBuilder {
    Bytes body;
    explicit MadtBuilder(uint32_t lapic = 0xFEE00000u, uint32_t flags = 1) {
        append<uint32_t>(body, lapic);
        append<uint32_t>(body, flags);
    }
    MadtBuilder& raw(const Bytes& e) {
        body.insert(body.end(), e.begin(), e.end());
        return *this;
    }
    MadtBuilder& lapic(uint8_t uid, uint8_t id, uint32_t flags = 1) {
        Bytes e{0, 8, uid, id};
        append<uint32_t>(e, flags);
        return raw(e);
    }
    MadtBuilder& ioapic(uint8_t id, uint32_t addr, uint32_t gsi_base) {
        Bytes e{1, 12, id, 0};
        append<uint32_t>(e, addr);
        append<uint32_t>(e, gsi_base);
        return raw(e);
    }
    MadtBuilder& iso(uint8_t source, uint32_t gsi, uint16_t flags) {
        Bytes e{2, 10, 0, source};
        append<uint32_t>(e, gsi);
        append<uint16_t>(e, flags);
        return raw(e);
    }
    MadtBuilder& lapic_nmi(uint8_t uid, uint16_t flags, uint8_t lint) {
        Bytes e{4, 6, uid};
        append<uint16_t>(e, flags);
        e.push_back(lint);
        return raw(e);
    }
    MadtBuilder& lapic_override(uint64_t addr) {
        Bytes e{5, 12, 0, 0};
        append<uint64_t>(e, addr);
        return raw(e);
    }
    MadtBuilder& x2apic(uint32_t id, uint32_t uid, uint32_t flags = 1) {
        Bytes e{9, 16, 0, 0};
        append<uint32_t>(e, id);
        append<uint32_t>(e, flags);
        append<uint32_t>(e, uid);
        return raw(e);
    }
    MadtBuilder& x2apic_nmi(uint32_t uid, uint16_t flags, uint8_t lint) {
        Bytes e{0xA, 12};
        append<uint16_t>(e, flags);
        append<uint32_t>(e, uid);
        e.push_back(lint);
        e.resize(12, 0);
        return raw(e);
    }
    Bytes table() const { return acpi_table("APIC", body, 3); }
};

// Laid out like the MADT Bochs' BIOS builds for 3 CPUs (synthetic, not a capture).
inline Bytes bochs_3cpu_madt() {
    return MadtBuilder{}.lapic(0, 0).lapic(1, 1).lapic(2, 2).ioapic(1, 0xFEC00000u, 0).iso(0, 2, 0).table();
}

// Shaped like the MADT QEMU builds for -M q35 with one CPU.
inline Bytes q35_madt() {
    const uint16_t level_high = acpi::TRIGGER_LEVEL | acpi::POLARITY_HIGH;
    return MadtBuilder{}
        .lapic(0, 0)
        .ioapic(0, 0xFEC00000u, 0)
        .iso(0, 2, 0)
        .iso(5, 5, level_high)
        .iso(9, 9, level_high)
        .iso(10, 10, level_high)
        .iso(11, 11, level_high)
        .lapic_nmi(0xFF, 0, 1)
        .table();
}

// Physical memory made of separate regions; map() succeeds only inside one.
struct FakeMem {
    std::map<uint64_t, Bytes> regions;
    size_t maps = 0;

    void place(uint64_t phys, const Bytes& b) { regions[phys] = b; }
    static const void* map(void* ctx, uint64_t phys, size_t len) {
        auto* self = static_cast<FakeMem*>(ctx);
        ++self->maps;
        for (auto& [base, bytes] : self->regions)
            if (phys >= base && phys - base <= bytes.size() && len <= bytes.size() - (phys - base))
                return bytes.data() + (phys - base);
        return nullptr;
    }
    acpi::PhysMem phys() { return acpi::PhysMem{&FakeMem::map, this}; }
};

inline Bytes rsdt(const std::vector<uint32_t>& entries) {
    Bytes body;
    for (uint32_t e : entries) append<uint32_t>(body, e);
    return acpi_table("RSDT", body);
}

inline Bytes xsdt(const std::vector<uint64_t>& entries) {
    Bytes body;
    for (uint64_t e : entries) append<uint64_t>(body, e);
    return acpi_table("XSDT", body);
}

// A FADT long enough to hold X_DSDT (ACPI 2.0+ layout).
inline Bytes fadt(uint32_t facs, uint32_t dsdt, uint64_t x_dsdt = 0) {
    Bytes body(244 - 36, 0);
    put<uint32_t>(body, 36 - 36, facs);
    put<uint32_t>(body, 40 - 36, dsdt);
    put<uint64_t>(body, 140 - 36, x_dsdt);
    return acpi_table("FACP", body, 4);
}

inline Bytes facs() {
    Bytes f(64, 0);
    std::memcpy(f.data(), "FACS", 4);
    put<uint32_t>(f, 4, 64);
    return f;
}

}  // namespace natsume::test
