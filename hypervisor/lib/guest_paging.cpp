#include "guest_paging.hpp"

namespace natsume::gpt {
namespace {

// Paging-structure entry bits (SDM Vol. 3A 4.5.4, tables 4-15 to 4-20).
constexpr uint64_t PRESENT         = 1ull << 0;
constexpr uint64_t WRITABLE        = 1ull << 1;
constexpr uint64_t USER            = 1ull << 2;
constexpr uint64_t PAGE_SIZE       = 1ull << 7;
constexpr uint64_t EXECUTE_DISABLE = 1ull << 63;
// Bits 51:12 hold a physical address; bits 62:52 are ignored (or protection
// keys), so only 51:MAXPHYADDR are reserved in every entry.
constexpr unsigned ADDRESS_TOP = 52;
constexpr uint64_t PAGE4_K = 1ull << 12, PAGE2_M = 1ull << 21, PAGE1_G = 1ull << 30;

constexpr uint64_t bits(unsigned hi, unsigned lo) {
    return ((hi >= 63 ? ~0ull : (1ull << (hi + 1)) - 1)) & ~((1ull << lo) - 1);
}

bool canonical(uint64_t linear) {
    const uint64_t top = linear >> 47;  // bits 63:47 must all equal bit 47
    return top == 0 || top == 0x1FFFF;
}

uint64_t reserved_address_bits(uint8_t maxphyaddr) {
    if (maxphyaddr >= ADDRESS_TOP) return 0;
    return bits(ADDRESS_TOP - 1, maxphyaddr);
}

unsigned index_at(uint64_t linear, unsigned level) {
    // level 4 = PML4 (bits 47:39) ... level 1 = PT (bits 20:12)
    return static_cast<unsigned>((linear >> (12 + 9 * (level - 1))) & 0x1FF);
}

// What one level contributes: the next table or the final frame.
struct Step {
    uint64_t entry;
    bool leaf;
    uint64_t page_size;
};

Error check_entry(uint64_t entry, unsigned level, uint64_t reserved, Step& s) {
    if ((entry & PRESENT) == 0) return Error::NotPresent;
    if (entry & reserved) return Error::ReservedBit;
    s.entry = entry;
    s.leaf  = level == 1 || (level <= 3 && (entry & PAGE_SIZE));
    if (level == 4 && (entry & PAGE_SIZE)) return Error::ReservedBit;
    s.page_size = level == 3 ? PAGE1_G : level == 2 ? PAGE2_M : PAGE4_K;
    if (!s.leaf || level == 1) return Error::Ok;
    // Between PAT (bit 12) and the frame: 20:13 for 2 MiB, 29:13 for 1 GiB.
    const uint64_t large_reserved = bits(level == 3 ? 29 : 20, 13);
    return (entry & large_reserved) ? Error::ReservedBit : Error::Ok;
}

uint64_t frame(const Step& s) {
    const uint64_t addr = s.entry & bits(ADDRESS_TOP - 1, 12);
    // Large-page entries keep PAT in bit 12, below the frame, so it drops out here.
    return s.leaf ? addr & ~(s.page_size - 1) : addr;
}

}  // namespace

Error walk(uint64_t cr3, uint64_t linear, const PhysRead& mem, Walk& out, uint8_t maxphyaddr) {
    out = {};
    if (!canonical(linear)) return Error::NonCanonical;
    if (mem.read64 == nullptr) return Error::ReadFailed;
    const uint64_t reserved = reserved_address_bits(maxphyaddr);
    uint64_t table          = cr3 & bits(ADDRESS_TOP - 1, 12);
    bool writable = true, user = true, executable = true;
    for (unsigned level = 4; level >= 1; --level) {
        uint64_t entry = 0;
        if (!mem.read64(mem.ctx, table + 8ull * index_at(linear, level), entry)) return Error::ReadFailed;
        Step s{};
        if (Error e = check_entry(entry, level, reserved, s); e != Error::Ok) return e;
        writable   = writable && (entry & WRITABLE);
        user       = user && (entry & USER);
        executable = executable && !(entry & EXECUTE_DISABLE);
        if (s.leaf) {
            out = {frame(s) | (linear & (s.page_size - 1)), s.page_size, writable, user, executable};
            return Error::Ok;
        }
        table = frame(s);
    }
    return Error::NotPresent;  // not reached: level 1 is always a leaf
}

Error translate(uint64_t cr3, uint64_t linear, const PhysRead& mem, uint64_t& gpa, uint8_t maxphyaddr) {
    Walk w{};
    const Error e = walk(cr3, linear, mem, w, maxphyaddr);
    gpa           = w.gpa;
    return e;
}

namespace {

// Copies len bytes starting at gpa (all inside one 4 KiB page) using aligned
// 8-byte reads, so a read never crosses a page. Returns the bytes copied.
size_t copy_phys(const PhysRead& mem, uint64_t gpa, uint8_t* out, size_t len) {
    size_t done = 0;
    while (done < len) {
        const uint64_t at = gpa + done;
        uint64_t q        = 0;
        if (!mem.read64(mem.ctx, at & ~7ull, q)) break;
        for (size_t off = at & 7; off < 8 && done < len; ++off) out[done++] = static_cast<uint8_t>(q >> (8 * off));
    }
    return done;
}

}  // namespace

Error fetch(uint64_t cr3, uint64_t linear, uint8_t* out, size_t len, const PhysRead& mem, size_t& fetched,
            uint8_t maxphyaddr) {
    fetched = 0;
    while (fetched < len) {
        const uint64_t at = linear + fetched;
        uint64_t gpa      = 0;
        if (Error e = translate(cr3, at, mem, gpa, maxphyaddr); e != Error::Ok) return e;
        const size_t in_page = static_cast<size_t>(PAGE4_K - (at & (PAGE4_K - 1)));
        const size_t chunk   = len - fetched < in_page ? len - fetched : in_page;
        const size_t copied  = copy_phys(mem, gpa, out + fetched, chunk);
        fetched += copied;
        if (copied != chunk) return Error::ReadFailed;
    }
    return Error::Ok;
}

const char* to_string(Error e) {
    switch (e) {
    case Error::Ok: return "ok";
    case Error::NonCanonical: return "non-canonical linear address";
    case Error::NotPresent: return "page not present";
    case Error::ReservedBit: return "reserved bit set in a paging entry";
    case Error::ReadFailed: return "paging structure outside guest memory";
    }
    return "unknown error";
}

}  // namespace natsume::gpt
