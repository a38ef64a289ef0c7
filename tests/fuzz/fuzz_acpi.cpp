// ACPI: RSDP, RSDT/XSDT walk, MADT and MCFG (hypervisor/lib/acpi.cpp), and the
// DMAR the walk finds (hypervisor/lib/dmar.cpp).
//
// The input is a physical memory image: physical address p is input byte p.
// It is parsed as it is and once more with every checksum on the walk fixed
// (RSDP, root, each listed table, the FADT's DSDT), so mutations get past the
// checksums into the parsers. The input is also parsed directly as one MADT
// and one MCFG, and as the FADT and the HPET table the TSC is calibrated
// against (hypervisor/lib/tsc_sources.cpp). Asserts: no out-of-bounds read
// (ASan), counts within their arrays, every reported table header lies inside
// the image, a PM timer is 24 or 32 bits wide.
#include <vector>

#include "fuzz_util.hpp"
#include "hypervisor/lib/acpi.hpp"
#include "hypervisor/lib/dmar.hpp"
#include "hypervisor/lib/tsc_sources.hpp"

using namespace natsume;
using natsume::fuzz::load;

namespace {

struct Image {
    const uint8_t* data;
    size_t size;
};

const void* map(void* ctx, uint64_t phys, size_t len) {
    const Image& m = *static_cast<const Image*>(ctx);
    if (phys > m.size || len > m.size - phys) return nullptr;
    return m.data + phys;
}

void check_madt(const acpi::Madt& m) {
    FUZZ_CHECK(m.cpu_count <= acpi::MAX_CPUS);
    FUZZ_CHECK(m.ioapic_count <= acpi::MAX_IOAPICS);
    FUZZ_CHECK(m.override_count <= acpi::MAX_OVERRIDES);
    FUZZ_CHECK(m.nmi_count <= acpi::MAX_NMIS);
    for (size_t i = 0; i < m.cpu_count; ++i)
        for (size_t j = 0; j < i; ++j) FUZZ_CHECK(m.cpus[i].apic_id != m.cpus[j].apic_id);
}

void check_mcfg(const acpi::Mcfg& m) {
    FUZZ_CHECK(m.count <= acpi::MAX_ECAM_WINDOWS);
    for (size_t i = 0; i < m.count; ++i) FUZZ_CHECK(m.windows[i].start_bus <= m.windows[i].end_bus);
}

struct Seen {
    size_t size;
    size_t tables;
};

void on_table(void* ctx, const char sig[4], uint64_t phys, uint32_t len) {
    Seen& s = *static_cast<Seen*>(ctx);
    // Reported by its header, so at least the header was mapped; len is what
    // the header says, checked by the walker afterwards.
    (void)sig;
    (void)len;
    FUZZ_CHECK(phys <= s.size && s.size - phys >= 36);
    ++s.tables;
}

void walk(const uint8_t* data, size_t size) {
    Image img{data, size};
    const acpi::PhysMem mem{&map, &img};
    acpi::Tables t{};
    if (acpi::parse_rsdp(data, size, t) != acpi::Error::Ok) return;
    FUZZ_CHECK(t.oem[6] == 0);
    Seen seen{size, 0};
    (void)acpi::for_each_table(mem, t, &on_table, &seen);

    static acpi::Madt madt;  // large: keep it off the stack
    uint64_t phys = 0;
    for (size_t i = 0; i < 2; ++i) {
        if (acpi::find_table(mem, t, "APIC", phys, i) != acpi::Error::Ok) break;
        FUZZ_CHECK(phys < size);
        const uint32_t len = load<uint32_t>(data + phys + 4);
        if (acpi::parse_madt(data + phys, size - phys, madt) == acpi::Error::Ok) {
            FUZZ_CHECK(len <= size - phys);
            check_madt(madt);
        }
    }
    acpi::Mcfg mcfg;
    if (acpi::find_table(mem, t, "MCFG", phys) == acpi::Error::Ok &&
        acpi::parse_mcfg(data + phys, size - phys, mcfg) == acpi::Error::Ok)
        check_mcfg(mcfg);
    static dmar::Dmar d;
    if (acpi::find_table(mem, t, "DMAR", phys) == acpi::Error::Ok) (void)dmar::parse(data + phys, size - phys, d);
}

// Fixes the checksums of everything the walk will look at.
FUZZ_MODEL void fix_walk(uint8_t* b, size_t size) {
    using fuzz::fix_table_checksum;
    if (size < 20 || std::memcmp(b, "RSD PTR ", 8) != 0) return;
    fuzz::fix_checksum(b, 20, 8);
    const bool v2 = b[15] >= 2 && size >= 36;
    if (v2) {
        const uint32_t len = load<uint32_t>(b + 20);
        if (len >= 36 && len <= size) fuzz::fix_checksum(b, len, 32);
    }
    const uint64_t xsdt     = v2 ? load<uint64_t>(b + 24) : 0;
    const uint64_t root     = xsdt != 0 ? xsdt : load<uint32_t>(b + 16);
    const size_t entry      = xsdt != 0 ? 8 : 4;
    const uint32_t root_len = fix_table_checksum(b, size, root);
    for (size_t off = 36; root_len != 0 && off + entry <= root_len; off += entry) {
        const uint64_t at  = entry == 8 ? load<uint64_t>(b + root + off) : load<uint32_t>(b + root + off);
        const uint32_t len = fix_table_checksum(b, size, at);
        if (len >= 44 && std::memcmp(b + at, "FACP", 4) == 0) {
            const uint64_t x_dsdt = len >= 148 ? load<uint64_t>(b + at + 140) : 0;
            fix_table_checksum(b, size, x_dsdt != 0 ? x_dsdt : load<uint32_t>(b + at + 40));
        }
        fix_table_checksum(b, size, root);  // a listed table may overlap the root
    }
    fuzz::fix_checksum(b, 20, 8);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    walk(data, size);

    std::vector<uint8_t> fixed(data, data + size);
    fix_walk(fixed.data(), fixed.size());
    walk(fixed.data(), fixed.size());

    // The input as one MADT and as one MCFG, checksum fixed.
    static acpi::Madt madt;
    acpi::Mcfg mcfg;
    if (size >= 36) fuzz::fix_checksum(fixed.data(), std::min<size_t>(size, load<uint32_t>(data + 4)), 9);
    if (acpi::parse_madt(fixed.data(), size, madt) == acpi::Error::Ok) check_madt(madt);
    if (acpi::parse_mcfg(fixed.data(), size, mcfg) == acpi::Error::Ok) check_mcfg(mcfg);
    (void)acpi::parse_madt(data, size, madt);
    tsc_sources::PmTimer pm = tsc_sources::pm_timer_from_fadt(data, size);
    FUZZ_CHECK(pm.bits == 24 || pm.bits == 32);
    (void)tsc_sources::hpet_base_from_table(data, size);
    return 0;
}
