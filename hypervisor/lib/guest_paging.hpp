// Walks a guest's own IA-32e 4-level page tables (Intel SDM Vol. 3A 4.5) to
// turn a guest linear address into a guest-physical one, e.g. to fetch the
// instruction at RIP after an MMIO EPT violation.
//
// Guest memory is read through PhysRead, so the walker runs on the
// hypervisor's view of partition RAM and on fake memory in host tests.
// 5-level paging (CR4.LA57) is not supported: Natsume builds its guests'
// first page tables and never enables it.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume::gpt {

enum class [[nodiscard]] Error : uint8_t{
    Ok,
    NonCanonical,  // bits 63:47 of the linear address are not all equal
    NotPresent,    // an entry on the walk has P = 0
    ReservedBit,   // an entry sets a reserved bit (SDM Vol. 3A 4.5.4, table 4-20)
    ReadFailed,    // PhysRead refused a guest-physical address (outside partition RAM)
};

// Reads the naturally aligned 8 bytes at gpa; false if gpa is not readable.
struct PhysRead {
    bool (*read64)(void* ctx, uint64_t gpa, uint64_t& value);
    void* ctx;
};

// MAXPHYADDR when the caller does not know better (SDM Vol. 3A 4.1.4: at most 52).
inline constexpr uint8_t DEFAULT_MAX_PHYS_ADDR = 52;

struct Walk {
    uint64_t gpa;
    uint64_t page_size;  // 4 KiB, 2 MiB or 1 GiB
    bool writable;       // R/W set at every level
    bool user;           // U/S set at every level
    bool executable;     // XD clear at every level
};

// cr3: the guest's CR3 (PCID bits 11:0 and bit 63 are ignored).
// maxphyaddr: entry address bits at or above it are reserved.
[[nodiscard]] Error walk(uint64_t cr3, uint64_t linear, const PhysRead& mem, Walk& out,
                         uint8_t maxphyaddr = DEFAULT_MAX_PHYS_ADDR);

[[nodiscard]] Error translate(uint64_t cr3, uint64_t linear, const PhysRead& mem, uint64_t& gpa,
                              uint8_t maxphyaddr = DEFAULT_MAX_PHYS_ADDR);

// Copies len bytes at guest linear address `linear` into out, translating
// every page the range touches. `fetched` is how many bytes were copied: on
// error it is the prefix that was readable, so an instruction that ends
// before an unmapped page can still be decoded from it.
[[nodiscard]] Error fetch(uint64_t cr3, uint64_t linear, uint8_t* out, size_t len, const PhysRead& mem, size_t& fetched,
                          uint8_t maxphyaddr = DEFAULT_MAX_PHYS_ADDR);

const char* to_string(Error);

}  // namespace natsume::gpt
