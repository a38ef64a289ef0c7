#include "acpi.hpp"

#include "drivers/acpi/tables.hpp"

#include "bytes.hpp"

namespace natsume::acpi {
namespace {

// Layouts of the RSDP, the table header, the MADT and the FADT: drivers/acpi/tables.hpp.
using drivers::acpi::FADT_DSDT;
using drivers::acpi::FADT_FACS;
using drivers::acpi::FADT_X_DSDT;
using drivers::acpi::FADT_X_FACS;
using drivers::acpi::HEADER_LENGTH;
using drivers::acpi::HEADER_SIZE;
using drivers::acpi::MADT_ENTRIES;
using drivers::acpi::RSDP_LENGTH;
using drivers::acpi::RSDP_OEM;
using drivers::acpi::RSDP_REVISION;
using drivers::acpi::RSDP_RSDT;
using drivers::acpi::RSDP_V1_SIZE;
using drivers::acpi::RSDP_V2_SIZE;
using drivers::acpi::RSDP_XSDT;
// Section 5.2.10, FACS: signature and length, no checksum.
constexpr size_t FACS_MIN_SIZE = 64;
// Section 5.2.5.1: where BIOS firmware places the RSDP.
constexpr uint64_t EBDA_SEGMENT_PTR = 0x40E;
constexpr size_t EBDA_SEARCH        = 1024;
constexpr uint64_t BIOS_AREA        = 0xE0000;
constexpr size_t BIOS_AREA_SIZE     = 0x20000;
constexpr size_t RSDP_ALIGN         = 16;

bool sum_is_zero(const uint8_t* p, size_t len) { return drivers::acpi::byte_sum(p, len) == 0; }

bool sig_is(const uint8_t* p, const char* sig, size_t n) { return __builtin_memcmp(p, sig, n) == 0; }

const uint8_t* map(const PhysMem& mem, uint64_t phys, size_t len) {
    if (mem.map == nullptr) return nullptr;
    return static_cast<const uint8_t*>(mem.map(mem.ctx, phys, len));
}

// Maps a whole table at phys after reading its length; checks nothing else.
Error map_table(const PhysMem& mem, uint64_t phys, const uint8_t*& table, uint32_t& len) {
    const uint8_t* hdr = map(mem, phys, HEADER_SIZE);
    if (hdr == nullptr) return Error::Unmapped;
    len = bytes::load<uint32_t>(hdr + HEADER_LENGTH);
    if (len < HEADER_SIZE) return Error::TableBadLength;
    table = map(mem, phys, len);
    return table == nullptr ? Error::Unmapped : Error::Ok;
}

Error map_checked(const PhysMem& mem, uint64_t phys, const uint8_t*& table, uint32_t& len) {
    if (Error e = map_table(mem, phys, table, len); e != Error::Ok) return e;
    return check_table(table, len);
}

// The RSDT or XSDT: an array of 32- or 64-bit table addresses after the header.
struct Root {
    const uint8_t* table;
    size_t entry_size;
    size_t count;
    uint64_t phys;
    uint32_t length;

    uint64_t entry(size_t i) const {
        const uint8_t* p = table + HEADER_SIZE + i * entry_size;
        return entry_size == 8 ? bytes::load<uint64_t>(p) : bytes::load<uint32_t>(p);
    }
};

Error open_root(const PhysMem& mem, const Tables& t, Root& root, bool check_sum) {
    const bool use_xsdt = t.revision >= 2 && t.xsdt != 0;
    root.phys           = use_xsdt ? t.xsdt : t.rsdt;
    root.entry_size     = use_xsdt ? 8 : 4;
    if (root.phys == 0) return Error::NoRootTable;
    Error e = map_table(mem, root.phys, root.table, root.length);
    if (e != Error::Ok) return e;
    if (!sig_is(root.table, use_xsdt ? "XSDT" : "RSDT", 4)) return Error::RootBadSignature;
    // Like most OSes, ignore a partial trailing entry rather than reject the root.
    root.count = (root.length - HEADER_SIZE) / root.entry_size;
    return check_sum ? check_table(root.table, root.length) : Error::Ok;
}

Error scan_for_rsdp(const PhysMem& mem, uint64_t base, size_t size, uint64_t& found) {
    const uint8_t* p = map(mem, base, size);
    if (p == nullptr) return Error::Unmapped;
    for (size_t off = 0; off + RSDP_V1_SIZE <= size; off += RSDP_ALIGN) {
        Tables t;
        if (parse_rsdp(p + off, size - off, t) == Error::Ok) {
            found = base + off;
            return Error::Ok;
        }
    }
    return Error::RsdpNotFound;
}

// Madt entry handlers; each gets an entry whose length is at least its minimum.
Error add_cpu(Madt& m, uint32_t apic_id, uint32_t uid, uint32_t flags) {
    for (size_t i = 0; i < m.cpu_count; ++i)
        if (m.cpus[i].apic_id == apic_id) return Error::Ok;  // x2APIC twin of a LAPIC entry
    if (m.cpu_count == MAX_CPUS) return Error::TooManyCpus;
    // Table 5.23: bit 0 enabled, bit 1 online capable.
    m.cpus[m.cpu_count++] = Lapic{apic_id, uid, (flags & 1) != 0, (flags & 2) != 0};
    return Error::Ok;
}

Error add_nmi(Madt& m, uint32_t uid, uint16_t flags, uint8_t lint) {
    if (m.nmi_count == MAX_NMIS) return Error::TooManyNmis;
    m.nmis[m.nmi_count++] = LapicNmi{uid, flags, lint};
    return Error::Ok;
}

Error madt_lapic(Madt& m, const uint8_t* e) {  // 5.2.12.2
    return add_cpu(m, e[3], e[2], bytes::load<uint32_t>(e + 4));
}

Error madt_ioapic(Madt& m, const uint8_t* e) {  // 5.2.12.3
    if (m.ioapic_count == MAX_IOAPICS) return Error::TooManyIoapics;
    m.ioapics[m.ioapic_count++] = Ioapic{e[2], bytes::load<uint32_t>(e + 4), bytes::load<uint32_t>(e + 8)};
    return Error::Ok;
}

Error madt_iso(Madt& m, const uint8_t* e) {  // 5.2.12.5
    if (m.override_count == MAX_OVERRIDES) return Error::TooManyOverrides;
    m.overrides[m.override_count++] = Override{e[2], e[3], bytes::load<uint32_t>(e + 4), bytes::load<uint16_t>(e + 8)};
    return Error::Ok;
}

Error madt_lapic_nmi(Madt& m, const uint8_t* e) {  // 5.2.12.7
    const uint32_t uid = e[2] == 0xFF ? ALL_PROCESSORS : e[2];
    return add_nmi(m, uid, bytes::load<uint16_t>(e + 3), e[5]);
}

Error madt_lapic_override(Madt& m, const uint8_t* e) {  // 5.2.12.8
    m.lapic_base = bytes::load<uint64_t>(e + 4);
    return Error::Ok;
}

Error madt_x2apic(Madt& m, const uint8_t* e) {  // 5.2.12.12
    return add_cpu(m, bytes::load<uint32_t>(e + 4), bytes::load<uint32_t>(e + 12), bytes::load<uint32_t>(e + 8));
}

Error madt_x2apic_nmi(Madt& m, const uint8_t* e) {  // 5.2.12.13
    return add_nmi(m, bytes::load<uint32_t>(e + 4), bytes::load<uint16_t>(e + 2), e[8]);
}

struct EntryKind {
    uint8_t type;
    uint8_t min_len;
    Error (*handle)(Madt&, const uint8_t*);
};

// Table 5.21 entry types with the length each structure has in ACPI 6.5.
constexpr EntryKind ENTRY_KINDS[] = {
    {0x0, 8, madt_lapic},           {0x1, 12, madt_ioapic}, {0x2, 10, madt_iso},        {0x4, 6, madt_lapic_nmi},
    {0x5, 12, madt_lapic_override}, {0x9, 16, madt_x2apic}, {0xA, 12, madt_x2apic_nmi},
};

Error madt_entry(Madt& m, const uint8_t* e, uint8_t len) {
    for (const EntryKind& k : ENTRY_KINDS) {
        if (k.type != e[0]) continue;
        if (len < k.min_len) return Error::MadtEntryTooShort;
        return k.handle(m, e);
    }
    return Error::Ok;  // a type this hypervisor does not use
}

using ReportFn = void (*)(void*, const char[4], uint64_t, uint32_t);

void report_fadt_children(const PhysMem& mem, const uint8_t* fadt, uint32_t len, Error& first, ReportFn fn, void* ctx);

void note(Error& first, Error e) {
    if (first == Error::Ok) first = e;
}

enum class Kind { Listed, FadtChild, Facs };

// Reports the table at phys by its header and verifies it. Only tables listed
// in the root are followed into, so a FADT pointing at itself cannot loop.
void report_table(const PhysMem& mem, uint64_t phys, Kind kind, Error& first, ReportFn fn, void* ctx) {
    const uint8_t* hdr = map(mem, phys, HEADER_SIZE);
    if (hdr == nullptr) return note(first, Error::Unmapped);
    const uint32_t len = bytes::load<uint32_t>(hdr + HEADER_LENGTH);
    fn(ctx, reinterpret_cast<const char*>(hdr), phys, len);
    if (kind == Kind::Facs) {
        if (len < FACS_MIN_SIZE) note(first, Error::TableBadLength);
        return;
    }
    const uint8_t* table;
    uint32_t mapped_len;
    if (Error e = map_checked(mem, phys, table, mapped_len); e != Error::Ok) return note(first, e);
    if (kind == Kind::Listed && sig_is(table, "FACP", 4)) report_fadt_children(mem, table, mapped_len, first, fn, ctx);
}

// The FADT points at the DSDT and the FACS; the 64-bit fields win when set.
uint64_t fadt_pointer(const uint8_t* fadt, uint32_t len, size_t off32, size_t off64) {
    if (len >= off64 + 8) {
        const uint64_t x = bytes::load<uint64_t>(fadt + off64);
        if (x != 0) return x;
    }
    return len >= off32 + 4 ? bytes::load<uint32_t>(fadt + off32) : 0;
}

void report_fadt_children(const PhysMem& mem, const uint8_t* fadt, uint32_t len, Error& first, ReportFn fn, void* ctx) {
    if (uint64_t dsdt = fadt_pointer(fadt, len, FADT_DSDT, FADT_X_DSDT); dsdt != 0)
        report_table(mem, dsdt, Kind::FadtChild, first, fn, ctx);
    if (uint64_t facs = fadt_pointer(fadt, len, FADT_FACS, FADT_X_FACS); facs != 0)
        report_table(mem, facs, Kind::Facs, first, fn, ctx);
}

}  // namespace

Error parse_rsdp(const uint8_t* rsdp, size_t len, Tables& out) {
    __builtin_memset(&out, 0, sizeof out);
    if (rsdp == nullptr) return Error::NullPointer;
    if (len < RSDP_V1_SIZE) return Error::RsdpTruncated;
    if (!sig_is(rsdp, "RSD PTR ", 8)) return Error::RsdpBadSignature;
    if (!sum_is_zero(rsdp, RSDP_V1_SIZE)) return Error::RsdpChecksum;
    out.revision = rsdp[RSDP_REVISION];
    out.rsdt     = bytes::load<uint32_t>(rsdp + RSDP_RSDT);
    __builtin_memcpy(out.oem, rsdp + RSDP_OEM, 6);
    if (out.revision >= 2) {
        if (len < RSDP_V2_SIZE) return Error::RsdpTruncated;
        const uint32_t length = bytes::load<uint32_t>(rsdp + RSDP_LENGTH);
        if (length < RSDP_V2_SIZE || length > len) return Error::RsdpBadLength;
        if (!sum_is_zero(rsdp, length)) return Error::RsdpExtendedChecksum;
        out.xsdt = bytes::load<uint64_t>(rsdp + RSDP_XSDT);
    }
    return out.rsdt == 0 && out.xsdt == 0 ? Error::NoRootTable : Error::Ok;
}

Error find_rsdp_in_bios(const PhysMem& mem, uint64_t& rsdp_phys) {
    if (const uint8_t* p = map(mem, EBDA_SEGMENT_PTR, 2); p != nullptr) {
        const uint64_t ebda = uint64_t{bytes::load<uint16_t>(p)} << 4;
        if (ebda != 0 && scan_for_rsdp(mem, ebda, EBDA_SEARCH, rsdp_phys) == Error::Ok) return Error::Ok;
    }
    const Error e = scan_for_rsdp(mem, BIOS_AREA, BIOS_AREA_SIZE, rsdp_phys);
    return e == Error::Unmapped ? Error::RsdpNotFound : e;
}

Error check_table(const uint8_t* table, size_t len) {
    if (table == nullptr) return Error::NullPointer;
    if (len < HEADER_SIZE) return Error::TableTruncated;
    const uint32_t length = bytes::load<uint32_t>(table + HEADER_LENGTH);
    if (length < HEADER_SIZE) return Error::TableBadLength;
    if (length > len) return Error::TableTruncated;
    return sum_is_zero(table, length) ? Error::Ok : Error::TableChecksum;
}

Error find_table(const PhysMem& mem, const Tables& t, const char sig[4], uint64_t& phys, size_t index) {
    if (sig == nullptr) return Error::NullPointer;
    Root root;
    if (Error e = open_root(mem, t, root, true); e != Error::Ok) return e;
    for (size_t i = 0; i < root.count; ++i) {
        const uint64_t p = root.entry(i);
        if (p == 0) continue;
        const uint8_t* hdr = map(mem, p, HEADER_SIZE);
        if (hdr == nullptr) return Error::Unmapped;
        if (!sig_is(hdr, sig, 4) || index-- != 0) continue;
        const uint8_t* table;
        uint32_t len;
        if (Error e = map_checked(mem, p, table, len); e != Error::Ok) return e;
        phys = p;
        return Error::Ok;
    }
    return Error::TableNotFound;
}

Error parse_mcfg(const uint8_t* table, size_t len, Mcfg& out) {
    using drivers::acpi::MCFG_ENTRIES;
    using drivers::acpi::MCFG_ENTRY_SIZE;
    __builtin_memset(&out, 0, sizeof out);
    if (Error e = check_table(table, len); e != Error::Ok) return e;
    if (!sig_is(table, "MCFG", 4)) return Error::TableBadSignature;
    const uint32_t length = bytes::load<uint32_t>(table + HEADER_LENGTH);
    if (length < MCFG_ENTRIES || (length - MCFG_ENTRIES) % MCFG_ENTRY_SIZE != 0) return Error::TableBadLength;
    for (size_t off = MCFG_ENTRIES; off + MCFG_ENTRY_SIZE <= length; off += MCFG_ENTRY_SIZE) {
        if (out.count == MAX_ECAM_WINDOWS) return Error::TooManyEcamWindows;
        EcamWindow& w = out.windows[out.count++];
        w.base        = bytes::load<uint64_t>(table + off);
        w.segment     = bytes::load<uint16_t>(table + off + 8);
        w.start_bus   = table[off + 10];
        w.end_bus     = table[off + 11];
        if (w.end_bus < w.start_bus) return Error::TableBadLength;
    }
    return Error::Ok;
}

Error parse_madt(const uint8_t* table, size_t len, Madt& out) {
    __builtin_memset(&out, 0, sizeof out);
    if (Error e = check_table(table, len); e != Error::Ok) return e;
    if (!sig_is(table, "APIC", 4)) return Error::TableBadSignature;
    const uint32_t length = bytes::load<uint32_t>(table + HEADER_LENGTH);
    if (length < MADT_ENTRIES) return Error::TableBadLength;
    out.lapic_address = bytes::load<uint32_t>(table + HEADER_SIZE);
    out.flags         = bytes::load<uint32_t>(table + HEADER_SIZE + 4);
    out.lapic_base    = out.lapic_address;
    for (size_t off = MADT_ENTRIES; off < length;) {
        if (length - off < 2) return Error::MadtEntryTruncated;
        const uint8_t entry_len = table[off + 1];
        if (entry_len == 0) return Error::MadtEntryZeroLength;
        if (entry_len < 2) return Error::MadtEntryTooShort;
        if (entry_len > length - off) return Error::MadtEntryTruncated;
        if (Error e = madt_entry(out, table + off, entry_len); e != Error::Ok) return e;
        off += entry_len;
    }
    return Error::Ok;
}

Error for_each_table(const PhysMem& mem, const Tables& t,
                     void (*fn)(void* ctx, const char sig[4], uint64_t phys, uint32_t len), void* ctx) {
    if (fn == nullptr) return Error::NullPointer;
    Root root;
    if (Error e = open_root(mem, t, root, false); e != Error::Ok) return e;
    fn(ctx, reinterpret_cast<const char*>(root.table), root.phys, root.length);
    Error first = check_table(root.table, root.length);
    for (size_t i = 0; i < root.count; ++i)
        if (const uint64_t p = root.entry(i); p != 0) report_table(mem, p, Kind::Listed, first, fn, ctx);
    return first;
}

const char* to_string(Error e) {
    switch (e) {
    case Error::Ok: return "The ACPI data is valid.";
    case Error::NullPointer: return "A null pointer was passed where ACPI data was expected.";
    case Error::RsdpTruncated:
        return "The RSDP is shorter than its revision requires (20 bytes, or 36 for revision 2).";
    case Error::RsdpBadSignature: return "The RSDP does not start with \"RSD PTR \".";
    case Error::RsdpChecksum: return "The RSDP checksum over its first 20 bytes is wrong.";
    case Error::RsdpExtendedChecksum: return "The RSDP extended checksum over its whole length is wrong.";
    case Error::RsdpBadLength: return "The RSDP length field is below 36 or runs past the available bytes.";
    case Error::NoRootTable: return "The RSDP names neither an RSDT nor an XSDT.";
    case Error::RsdpNotFound: return "No valid RSDP was found in the EBDA or the BIOS area 0xE0000-0xFFFFF.";
    case Error::Unmapped: return "An ACPI table lies in physical memory the hypervisor cannot access.";
    case Error::RootBadSignature: return "The RSDP's root table does not carry the RSDT or XSDT signature.";
    case Error::TableTruncated: return "An ACPI table is shorter than its header or its length field.";
    case Error::TableBadLength: return "An ACPI table's length field is smaller than the structure it must hold.";
    case Error::TableChecksum: return "An ACPI table's checksum is wrong.";
    case Error::TableBadSignature: return "An ACPI table has an unexpected signature.";
    case Error::TableNotFound: return "The requested ACPI table is not listed in the RSDT/XSDT.";
    case Error::MadtEntryZeroLength: return "A MADT entry has length 0, so the entries cannot be walked.";
    case Error::MadtEntryTruncated: return "A MADT entry runs past the end of the table.";
    case Error::MadtEntryTooShort: return "A MADT entry is shorter than its type requires.";
    case Error::TooManyCpus: return "The MADT lists more processors than the hypervisor can hold (256).";
    case Error::TooManyIoapics: return "The MADT lists more I/O APICs than the hypervisor can hold (16).";
    case Error::TooManyOverrides:
        return "The MADT lists more interrupt source overrides than the hypervisor can hold (32).";
    case Error::TooManyNmis: return "The MADT lists more local APIC NMI entries than the hypervisor can hold (32).";
    case Error::TooManyEcamWindows: return "The MCFG lists more ECAM windows than the hypervisor can hold (8).";
    }
    return "Unknown ACPI error.";
}

}  // namespace natsume::acpi
