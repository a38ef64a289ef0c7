// A DMA domain: second-level tables mapping IOVA (guest-physical) to host
// physical for every device attached to it (VT-d spec 3.6).
//
// The shared 4-level walker (page_table.hpp) builds the tables. For a 4-level
// unit (48-bit AGAW) the context entry points at the walker's root. For a
// 3-level unit (39-bit AGAW) it points at the level-3 table under root slot 0:
// every IOVA below 2^39 has PML4 index 0, so the hardware's 3-level walk from
// that table reaches exactly the entries the 4-level walker wrote. The slot-0
// table is created at init() so the pointer is stable before any mapping, and
// map() refuses IOVAs the hardware could not reach.
#pragma once
#include <stdint.h>

#include "arch/x86/page_table.hpp"
#include "arch/x86/vtd/caps.hpp"
#include "arch/x86/vtd/tables.hpp"

namespace natsume::x86::vtd {

template <PageTableMemory Memory>
class Domain {
public:
    Domain(Memory& memory, uint16_t id) : mem_(memory), pt_(memory), id_(id) {}

    [[nodiscard]] MapError init(unsigned levels) {
        if (levels != 3 && levels != 4) return MapError::BadAttr;
        levels_    = levels;
        MapError e = pt_.init();
        if (e != MapError::Ok || levels != 3) return e;
        uint64_t* slot0 = mem_.table(pt_.root());
        if (SlEntry{*slot0}.present()) return MapError::Ok;
        uint64_t l3 = mem_.alloc_table();
        if (l3 == 0) return MapError::OutOfMemory;
        mem_.store(slot0, SlEntry::table(l3).raw());
        return MapError::Ok;
    }

    // 2 MiB pages only where the unit has SLLPS bit 0.
    void allow_large_pages(bool allow) { pt_.allow_large_pages(allow); }

    [[nodiscard]] MapError map(uint64_t iova, uint64_t hpa, uint64_t size, Attr attr) {
        if (levels_ == 0) return MapError::NoRoot;
        uint64_t limit = uint64_t{1} << address_bits(levels_);
        if (iova >= limit || size > limit - iova) return MapError::OutOfRange;
        return pt_.map(iova, hpa, size, attr);
    }

    [[nodiscard]] bool translate(uint64_t iova, uint64_t& hpa, Attr& attr) const {
        return pt_.translate(iova, hpa, attr);
    }

    // The table the context entry points at (see the file comment).
    uint64_t slptptr() const {
        if (levels_ == 4) return pt_.root();
        return SlEntry{mem_.table(pt_.root())[0]}.address();
    }
    unsigned levels() const { return levels_; }
    uint16_t id() const { return id_; }

private:
    Memory& mem_;
    PageTable<SlEntry, Memory> pt_;
    uint16_t id_;
    unsigned levels_ = 0;
};

}  // namespace natsume::x86::vtd
