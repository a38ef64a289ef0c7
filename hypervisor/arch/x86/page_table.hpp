// Four-level page tables for EPT and IA-32e paging: one-word entry value types and
// one walker/mapper templated on the entry format and on a memory policy.
//
// Every live entry is written with exactly one store of its final value, so the
// processor's page walker (or another core) never sees a half-built entry, and a
// host unit test can check the exact sequence of writes.
#pragma once

#include <concepts>
#include <stddef.h>
#include <stdint.h>

namespace natsume::x86 {

inline constexpr uint64_t PAGE_4K = uint64_t{1} << 12;
inline constexpr uint64_t PAGE_2M = uint64_t{1} << 21;
inline constexpr uint64_t PAGE_1G = uint64_t{1} << 30;
// 4-level paging translates 48-bit addresses (SDM Vol. 3A 4.5; EPT: SDM 28.2.2).
inline constexpr uint64_t VA_LIMIT = uint64_t{1} << 48;
// Architectural maximum of MAXPHYADDR (SDM Vol. 3A 4.1.4).
inline constexpr uint64_t PA_LIMIT = uint64_t{1} << 52;

enum class Cache : uint8_t { WB, UC };

// What a mapping allows, independent of the entry format. Each format says which
// combinations it can express (Format::valid).
struct Attr {
    bool read                                    = true;
    bool write                                   = false;
    bool execute                                 = false;
    bool user                                    = false;  // IA-32e U/S; EPT has no such notion and ignores it
    Cache cache                                  = Cache::WB;
    constexpr bool operator==(const Attr&) const = default;
};

enum class MapError : uint8_t {
    Ok,
    NoRoot,       // init() was not called or failed
    BadAttr,      // the format cannot express these permissions
    Unaligned,    // va, pa or size not 4 KiB aligned
    Overflow,     // va + size or pa + size wraps around
    OutOfRange,   // beyond 2^48 (va) or 2^52 (pa)
    Overlap,      // part of the range is mapped already
    OutOfMemory,  // the memory policy had no table left
};

constexpr const char* to_string(MapError e) {
    switch (e) {
    case MapError::Ok: return "ok";
    case MapError::NoRoot: return "page table has no root table";
    case MapError::BadAttr: return "permissions not expressible in this page-table format";
    case MapError::Unaligned: return "address or size not 4 KiB aligned";
    case MapError::Overflow: return "address range wraps around";
    case MapError::OutOfRange: return "address beyond the 4-level paging range";
    case MapError::Overlap: return "range overlaps an existing mapping";
    case MapError::OutOfMemory: return "out of page-table memory";
    }
    return "unknown map error";
}

// EPT paging-structure entry (SDM 28.2.2, Tables 28-1 to 28-6).
class EptEntry {
public:
    static constexpr uint64_t READ              = uint64_t{1} << 0;
    static constexpr uint64_t WRITE             = uint64_t{1} << 1;
    static constexpr uint64_t EXECUTE           = uint64_t{1} << 2;
    static constexpr unsigned MEMORY_TYPE_SHIFT = 3;  // leaf only
    static constexpr uint64_t MEMORY_TYPE_MASK  = uint64_t{7} << MEMORY_TYPE_SHIFT;
    static constexpr uint64_t IGNORE_PAT        = uint64_t{1} << 6;  // leaf only
    static constexpr uint64_t LARGE             = uint64_t{1} << 7;  // PDPTE/PDE: maps a 1 GiB / 2 MiB page
    static constexpr uint64_t ACCESSED          = uint64_t{1} << 8;
    static constexpr uint64_t DIRTY             = uint64_t{1} << 9;
    static constexpr uint64_t ADDRESS_MASK      = 0x000F'FFFF'FFFF'F000;
    // EPT memory types (SDM 28.3.7): only UC and WB are used.
    static constexpr uint64_t MEMORY_TYPE_UC = 0;
    static constexpr uint64_t MEMORY_TYPE_WB = 6;

    constexpr EptEntry() = default;
    constexpr explicit EptEntry(uint64_t raw) : raw_(raw) {}
    constexpr uint64_t raw() const { return raw_; }

    // Non-leaf entries grant everything; the leaf alone decides (permissions AND
    // across levels, SDM 28.2.3).
    static constexpr EptEntry table(uint64_t phys) { return EptEntry{(phys & ADDRESS_MASK) | READ | WRITE | EXECUTE}; }

    // Ignore-PAT stays clear: with WB the guest's PAT still refines the type (e.g. a
    // write-combining frame buffer); with UC the EPT type wins regardless (SDM 28.3.7.2).
    static constexpr EptEntry leaf(uint64_t pa, Attr a, bool large) {
        uint64_t type = a.cache == Cache::UC ? MEMORY_TYPE_UC : MEMORY_TYPE_WB;
        return EptEntry{(pa & ADDRESS_MASK) | (a.read ? READ : 0) | (a.write ? WRITE : 0) | (a.execute ? EXECUTE : 0) |
                        (type << MEMORY_TYPE_SHIFT) | (large ? LARGE : 0)};
    }

    // Write without read is an EPT misconfiguration (SDM 28.2.3.1); an entry with
    // no permission at all would be "not present" and map nothing.
    static constexpr bool valid(Attr a) { return (a.read || a.execute) && !(a.write && !a.read); }

    constexpr bool present() const { return (raw_ & (READ | WRITE | EXECUTE)) != 0; }
    constexpr bool large() const { return (raw_ & LARGE) != 0; }
    constexpr uint64_t address() const { return raw_ & ADDRESS_MASK; }
    constexpr Attr attr() const {
        uint64_t type = (raw_ & MEMORY_TYPE_MASK) >> MEMORY_TYPE_SHIFT;
        return Attr{(raw_ & READ) != 0, (raw_ & WRITE) != 0, (raw_ & EXECUTE) != 0, false,
                    type == MEMORY_TYPE_UC ? Cache::UC : Cache::WB};
    }

private:
    uint64_t raw_ = 0;
};

// IA-32e (4-level) paging-structure entry (SDM Vol. 3A 4.5, Tables 4-15 to 4-20).
class Pte {
public:
    static constexpr uint64_t PRESENT      = uint64_t{1} << 0;
    static constexpr uint64_t WRITABLE     = uint64_t{1} << 1;
    static constexpr uint64_t USER         = uint64_t{1} << 2;
    static constexpr uint64_t PWT          = uint64_t{1} << 3;
    static constexpr uint64_t PCD          = uint64_t{1} << 4;
    static constexpr uint64_t ACCESSED     = uint64_t{1} << 5;
    static constexpr uint64_t DIRTY        = uint64_t{1} << 6;
    static constexpr uint64_t LARGE        = uint64_t{1} << 7;  // PS in PDPTE/PDE; PAT in a PTE
    static constexpr uint64_t GLOBAL       = uint64_t{1} << 8;
    static constexpr uint64_t NO_EXECUTE   = uint64_t{1} << 63;  // needs IA32_EFER.NXE
    static constexpr uint64_t ADDRESS_MASK = 0x000F'FFFF'FFFF'F000;

    constexpr Pte() = default;
    constexpr explicit Pte(uint64_t raw) : raw_(raw) {}
    constexpr uint64_t raw() const { return raw_; }

    // Non-leaf entries are fully permissive so the leaf alone decides (SDM Vol. 3A 4.6).
    static constexpr Pte table(uint64_t phys) { return Pte{(phys & ADDRESS_MASK) | PRESENT | WRITABLE | USER}; }

    // UC is PCD|PWT, which selects PAT entry 3: UC in the power-on PAT (SDM Vol. 3A 11.12.4).
    static constexpr Pte leaf(uint64_t pa, Attr a, bool large) {
        return Pte{(pa & ADDRESS_MASK) | PRESENT | (a.write ? WRITABLE : 0) | (a.user ? USER : 0) |
                   (a.cache == Cache::UC ? PCD | PWT : 0) | (a.execute ? 0 : NO_EXECUTE) | (large ? LARGE : 0)};
    }

    // A present IA-32e mapping is always readable.
    static constexpr bool valid(Attr a) { return a.read; }

    constexpr bool present() const { return (raw_ & PRESENT) != 0; }
    constexpr bool large() const { return (raw_ & LARGE) != 0; }
    constexpr uint64_t address() const { return raw_ & ADDRESS_MASK; }
    constexpr Attr attr() const {
        return Attr{true, (raw_ & WRITABLE) != 0, (raw_ & NO_EXECUTE) == 0, (raw_ & USER) != 0,
                    (raw_ & PCD) != 0 ? Cache::UC : Cache::WB};
    }

private:
    uint64_t raw_ = 0;
};

// EPT pointer (SDM 24.6.11, Table 24-8): memory type WB (6) in bits 2:0, page-walk
// length minus one (3) in bits 5:3, accessed/dirty flags off (bit 6).
constexpr uint64_t make_eptp(uint64_t pml4_phys) {
    return (pml4_phys & EptEntry::ADDRESS_MASK) | EptEntry::MEMORY_TYPE_WB | (uint64_t{3} << 3);
}

template <typename F>
concept PageTableFormat = requires(uint64_t v, Attr a, F e) {
    { F{v}.raw() } -> std::same_as<uint64_t>;
    { F::table(v) } -> std::same_as<F>;
    { F::leaf(v, a, true) } -> std::same_as<F>;
    { F::valid(a) } -> std::same_as<bool>;
    { e.present() } -> std::same_as<bool>;
    { e.large() } -> std::same_as<bool>;
    { e.address() } -> std::same_as<uint64_t>;
    { e.attr() } -> std::same_as<Attr>;
};

// Memory policy:
//   uint64_t alloc_table();                 physical address of a zeroed 4 KiB table, 0 when out of memory
//   uint64_t* table(uint64_t phys);         pointer through which that table is accessed
//   void store(uint64_t* slot, uint64_t v); the one store per live entry
template <typename M>
concept PageTableMemory = requires(M& m, uint64_t* slot, uint64_t v) {
    { m.alloc_table() } -> std::same_as<uint64_t>;
    { m.table(v) } -> std::same_as<uint64_t*>;
    m.store(slot, v);
};

template <PageTableFormat Format, PageTableMemory Memory>
class PageTable {
public:
    explicit PageTable(Memory& memory) : mem_(memory) {}

    // Allocates the root table. Calling it again keeps the existing root.
    [[nodiscard]] MapError init() {
        if (root_ == 0) root_ = mem_.alloc_table();
        return root_ != 0 ? MapError::Ok : MapError::OutOfMemory;
    }

    // CR3 value (IA-32e) or input to make_eptp (EPT); 0 before init().
    uint64_t root() const { return root_; }

    // On by default. Turn off where the CPU lacks 2 MiB EPT pages
    // (IA32_VMX_EPT_VPID_CAP bit 16).
    void allow_large_pages(bool allow) { large_pages_ = allow; }

    // Maps [va, va+size) to [pa, pa+size) with 2 MiB pages where va, pa and the
    // remaining size allow it, else 4 KiB pages. Either every page is mapped or, on
    // error, none is: overlap and memory are checked for the whole range before the
    // first leaf is written. Tables allocated before running out of memory stay
    // linked (empty) and are reused by a later map() of the same range; a later
    // 2 MiB mapping over such an empty page table is refused with Overlap.
    [[nodiscard]] MapError map(uint64_t va, uint64_t pa, uint64_t size, Attr attr) {
        MapError e = check(va, pa, size, attr);
        if (e != MapError::Ok || size == 0) return e;
        for (uint64_t off = 0; off < size; off += chunk(va + off, pa + off, size - off)) {
            e = prepare(va + off, chunk_level(va + off, pa + off, size - off));
            if (e != MapError::Ok) return e;
        }
        for (uint64_t off = 0; off < size; off += chunk(va + off, pa + off, size - off)) {
            unsigned level = chunk_level(va + off, pa + off, size - off);
            uint64_t* slot = walk(va + off, level, false, e);
            if (slot == nullptr) return e;  // unreachable: prepare() built every table
            mem_.store(slot, Format::leaf(pa + off, attr, level > 0).raw());
        }
        return MapError::Ok;
    }

    // Leaf attributes (non-leaf entries grant everything) and the physical address
    // of va; false when va is not mapped.
    [[nodiscard]] bool translate(uint64_t va, uint64_t& pa, Attr& attr) const {
        if (root_ == 0 || va >= VA_LIMIT) return false;
        uint64_t table = root_;
        for (unsigned level = LEVELS; level-- > 0;) {
            Format e{mem_.table(table)[index(va, level)]};
            if (!e.present()) return false;
            if (level == 0 || (level <= 2 && e.large())) {
                uint64_t page = PAGE_4K << (9 * level);
                pa            = (e.address() & ~(page - 1)) | (va & (page - 1));
                attr          = e.attr();
                return true;
            }
            table = e.address();
        }
        return false;
    }

private:
    static constexpr unsigned LEVELS = 4;

    static constexpr size_t index(uint64_t va, unsigned level) {
        return static_cast<size_t>((va >> (12 + 9 * level)) & 511);
    }

    MapError check(uint64_t va, uint64_t pa, uint64_t size, Attr attr) const {
        if (root_ == 0) return MapError::NoRoot;
        if (!Format::valid(attr)) return MapError::BadAttr;
        if (((va | pa | size) & (PAGE_4K - 1)) != 0) return MapError::Unaligned;
        if (va + size < va || pa + size < pa) return MapError::Overflow;
        if (va + size > VA_LIMIT || pa + size > PA_LIMIT) return MapError::OutOfRange;
        return MapError::Ok;
    }

    unsigned chunk_level(uint64_t va, uint64_t pa, uint64_t remaining) const {
        bool big = large_pages_ && ((va | pa) & (PAGE_2M - 1)) == 0 && remaining >= PAGE_2M;
        return big ? 1 : 0;
    }

    uint64_t chunk(uint64_t va, uint64_t pa, uint64_t remaining) const {
        return chunk_level(va, pa, remaining) == 1 ? PAGE_2M : PAGE_4K;
    }

    // Builds the tables above `level` for va and checks the target slot is free.
    MapError prepare(uint64_t va, unsigned level) {
        MapError e     = MapError::Ok;
        uint64_t* slot = walk(va, level, true, e);
        if (slot == nullptr) return e;
        return Format{*slot}.present() ? MapError::Overlap : MapError::Ok;
    }

    // The slot for va in the table at `level` (0 = page table, 3 = PML4). With
    // `create`, missing tables are allocated and linked on the way down.
    uint64_t* walk(uint64_t va, unsigned level, bool create, MapError& error) {
        uint64_t table = root_;
        for (unsigned l = LEVELS - 1; l > level; --l) {
            uint64_t* slot = mem_.table(table) + index(va, l);
            Format e{*slot};
            if (e.present() && e.large()) {
                error = MapError::Overlap;
                return nullptr;
            }
            if (!e.present()) {
                if (!create) {
                    error = MapError::NoRoot;
                    return nullptr;
                }
                uint64_t fresh = mem_.alloc_table();
                if (fresh == 0) {
                    error = MapError::OutOfMemory;
                    return nullptr;
                }
                mem_.store(slot, Format::table(fresh).raw());
                e = Format::table(fresh);
            }
            table = e.address();
        }
        return mem_.table(table) + index(va, level);
    }

    Memory& mem_;
    uint64_t root_    = 0;
    bool large_pages_ = true;
};

}  // namespace natsume::x86
