#include "lib/dmar.hpp"

namespace natsume::dmar {
namespace {

// Table layout (VT-d spec 8.1): 36-byte ACPI header, HAW, flags, 10 reserved.
constexpr size_t HEADER_LEN = 48;
constexpr size_t HAW_OFFSET = 36, FLAGS_OFFSET = 37;
// Remapping structure types (8.2, Table 8-1) and their fixed part lengths.
constexpr uint16_t TYPE_DRHD = 0, TYPE_RMRR = 1;
constexpr size_t DRHD_FIXED = 16, RMRR_FIXED = 24;
constexpr size_t SCOPE_FIXED = 6;
constexpr uint64_t PAGE      = 4096;

uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
uint32_t le32(const uint8_t* p) { return le16(p) | static_cast<uint32_t>(le16(p + 2)) << 16; }
uint64_t le64(const uint8_t* p) { return le32(p) | static_cast<uint64_t>(le32(p + 4)) << 32; }

Error check_header(const uint8_t* t, size_t len) {
    if (t == nullptr) return Error::NullPointer;
    if (len < HEADER_LEN) return Error::TooShort;
    if (t[0] != 'D' || t[1] != 'M' || t[2] != 'A' || t[3] != 'R') return Error::BadSignature;
    uint32_t total = le32(t + 4);
    if (total < HEADER_LEN || total > len) return Error::BadLength;
    uint8_t sum = 0;
    for (uint32_t i = 0; i < total; i++) sum = static_cast<uint8_t>(sum + t[i]);
    return sum == 0 ? Error::Ok : Error::Checksum;
}

// Parses the device scopes in [p, end) into out.scopes; first/count returned.
Error parse_scopes(const uint8_t* p, const uint8_t* end, Dmar& out, size_t& first, size_t& count) {
    first = out.scope_count;
    count = 0;
    while (p < end) {
        if (end - p < 2) return Error::ScopeBadLength;
        uint8_t len = p[1];
        if (len < SCOPE_FIXED || (len - SCOPE_FIXED) % 2 != 0 || len > end - p) return Error::ScopeBadLength;
        size_t depth = (len - SCOPE_FIXED) / 2;
        if (depth > MAX_PATH_DEPTH) return Error::PathTooDeep;
        if (out.scope_count == MAX_SCOPES) return Error::TooManyScopes;
        Scope& s = out.scopes[out.scope_count++];
        s        = Scope{static_cast<ScopeType>(p[0]), p[4], p[5], static_cast<uint8_t>(depth), {}};
        for (size_t i = 0; i < depth; i++) s.path[i] = PathElement{p[6 + 2 * i], p[7 + 2 * i]};
        count++;
        p += len;
    }
    return Error::Ok;
}

Error parse_drhd(const uint8_t* p, size_t len, Dmar& out) {
    if (len < DRHD_FIXED) return Error::StructBadLength;
    if (out.unit_count == MAX_UNITS) return Error::TooManyUnits;
    Unit u{p[4], le16(p + 6), le64(p + 8), 0, 0};
    Error e = parse_scopes(p + DRHD_FIXED, p + len, out, u.first_scope, u.scope_count);
    if (e != Error::Ok) return e;
    out.units[out.unit_count++] = u;
    return Error::Ok;
}

Error parse_rmrr(const uint8_t* p, size_t len, Dmar& out) {
    if (len < RMRR_FIXED) return Error::StructBadLength;
    if (out.rmrr_count == MAX_RMRRS) return Error::TooManyRmrrs;
    Rmrr r{le16(p + 6), le64(p + 8), le64(p + 16), 0, 0};
    // 8.4: base is 4 KiB aligned and limit + 1 is a 4 KiB multiple. A limit at
    // the top of the address space would make the region's size (limit - base
    // + 1) wrap: 2^64 bytes from 0 read as an empty region.
    if (r.base % PAGE != 0 || (r.limit + 1) % PAGE != 0 || r.limit < r.base || r.limit == UINT64_MAX)
        return Error::RmrrBadRange;
    Error e = parse_scopes(p + RMRR_FIXED, p + len, out, r.first_scope, r.scope_count);
    if (e != Error::Ok) return e;
    out.rmrrs[out.rmrr_count++] = r;
    return Error::Ok;
}

}  // namespace

Error parse(const uint8_t* t, size_t len, Dmar& out) {
    out     = Dmar{};
    Error e = check_header(t, len);
    if (e != Error::Ok) return e;
    uint32_t total         = le32(t + 4);
    out.host_address_width = static_cast<uint8_t>(t[HAW_OFFSET] + 1);
    out.flags              = t[FLAGS_OFFSET];
    for (size_t off = HEADER_LEN; off < total;) {
        if (total - off < 4) return Error::StructTruncated;
        uint16_t type = le16(t + off), slen = le16(t + off + 2);
        if (slen < 4 || slen > total - off) return Error::StructBadLength;
        if (type == TYPE_DRHD)
            e = parse_drhd(t + off, slen, out);
        else if (type == TYPE_RMRR)
            e = parse_rmrr(t + off, slen, out);
        else
            out.skipped++;
        if (e != Error::Ok) return e;
        off += slen;
    }
    return Error::Ok;
}

namespace {
// PCI configuration header (PCI Local Bus 3.0, 6.1; PCI-to-PCI Bridge 1.2, 3.2).
constexpr uint16_t HEADER_TYPE = 0x0e, PRIMARY_BUS = 0x18, SECONDARY_BUS = 0x19;
constexpr uint8_t HEADER_TYPE_BRIDGE = 1;
}  // namespace

PathError resolve_path(const Scope& s, ConfigRead8 read, void* ctx, Bdf& out) {
    if (s.depth == 0) return PathError::EmptyPath;
    uint8_t bus = s.start_bus;
    for (size_t i = 0; i < s.depth; i++) {
        const PathElement& el = s.path[i];
        if (el.device > 31 || el.function > 7) return PathError::BadElement;
        if (i + 1 == s.depth) {
            out = Bdf{bus, el.device, el.function};
            return PathError::Ok;
        }
        if ((read(ctx, bus, el.device, el.function, HEADER_TYPE) & 0x7f) != HEADER_TYPE_BRIDGE)
            return PathError::NotABridge;
        uint8_t secondary = read(ctx, bus, el.device, el.function, SECONDARY_BUS);
        uint8_t primary   = read(ctx, bus, el.device, el.function, PRIMARY_BUS);
        if (secondary == 0 || secondary == 0xff || secondary <= primary) return PathError::BridgeNoBus;
        bus = secondary;
    }
    return PathError::EmptyPath;  // unreachable: the loop returns at the last element
}

int unit_for(const Dmar& d, uint16_t segment, Bdf bdf, ConfigRead8 read, void* ctx) {
    int catch_all = -1;
    for (size_t u = 0; u < d.unit_count; u++) {
        const Unit& unit = d.units[u];
        if (unit.segment != segment) continue;
        if (unit.include_pci_all()) {
            catch_all = static_cast<int>(u);
            continue;
        }
        for (size_t i = 0; i < unit.scope_count; i++) {
            const Scope& s = d.scopes[unit.first_scope + i];
            Bdf got{};
            if (s.type == ScopeType::PciEndpoint && resolve_path(s, read, ctx, got) == PathError::Ok && got == bdf)
                return static_cast<int>(u);
        }
    }
    return catch_all;
}

const char* to_string(Error e) {
    switch (e) {
    case Error::Ok: return "ok";
    case Error::NullPointer: return "no table";
    case Error::TooShort: return "shorter than the 48-byte DMAR header";
    case Error::BadSignature: return "signature is not DMAR";
    case Error::BadLength: return "header length below 48 or beyond the mapped table";
    case Error::Checksum: return "checksum does not sum to zero";
    case Error::StructTruncated: return "remapping structure header runs past the table";
    case Error::StructBadLength: return "remapping structure length too small or past the table";
    case Error::ScopeBadLength: return "device scope length malformed or past its structure";
    case Error::PathTooDeep: return "device scope path deeper than supported";
    case Error::RmrrBadRange:
        return "RMRR base/limit not 4 KiB aligned, limit below base, or limit at the top of the address space";
    case Error::TooManyUnits: return "more remapping units than supported";
    case Error::TooManyRmrrs: return "more RMRRs than supported";
    case Error::TooManyScopes: return "more device scopes than supported";
    }
    return "unknown DMAR error";
}

const char* to_string(PathError e) {
    switch (e) {
    case PathError::Ok: return "ok";
    case PathError::EmptyPath: return "device scope has no path";
    case PathError::BadElement: return "path element device > 31 or function > 7";
    case PathError::NotABridge: return "intermediate path element is not a PCI-to-PCI bridge";
    case PathError::BridgeNoBus: return "bridge has no valid secondary bus number";
    }
    return "unknown path error";
}

}  // namespace natsume::dmar
