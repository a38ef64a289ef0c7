#include "arch/paging.h"

#include <stdint.h>

#include "arch/cpu.h"
#include "arch/layout.h"

// arch/multiboot2.S reserves these pages; the native path already filled
// them with the same entries, so rewriting them is harmless there.
extern "C" uint64_t guest_page_tables[GUEST_PAGE_TABLE_PAGES][512];

namespace natsume::guest::paging {
namespace {
constexpr uint64_t TABLE       = PTE_P | PTE_RW;
constexpr uint64_t LARGE       = PTE_P | PTE_RW | PTE_PS;
constexpr unsigned DIRECTORIES = 4;
}  // namespace

void install() {
    uint64_t(*t)[512] = guest_page_tables;
    for (unsigned i = 0; i < 512; ++i) {
        t[0][i] = i == 0 ? reinterpret_cast<uintptr_t>(t[1]) | TABLE : 0;
        t[1][i] = i < DIRECTORIES ? reinterpret_cast<uintptr_t>(t[2 + i]) | TABLE : 0;
    }
    for (uint64_t page = 0; page < DIRECTORIES * 512; ++page) {
        uint64_t cache                = page >= UNCACHED_FIRST_2M_PAGE ? (PTE_PCD | PTE_PWT) : 0;
        t[2 + page / 512][page % 512] = (page << 21) | LARGE | cache;
    }
    cpu::write_cr3(reinterpret_cast<uintptr_t>(t[0]));
}

bool map_uncached(uint64_t base, uint64_t size) {
    constexpr uint64_t MAPPED = uint64_t{DIRECTORIES} << 30;
    if (size == 0 || base >= MAPPED || size > MAPPED - base) return false;
    for (uint64_t page = base >> 21; page <= (base + size - 1) >> 21; ++page) {
        uint64_t& e = guest_page_tables[2 + page / 512][page % 512];
        e |= PTE_PCD | PTE_PWT;  // one store: the entry stays valid throughout
        asm volatile("invlpg (%0)" ::"r"(page << 21) : "memory");
    }
    return true;
}

bool allow_user(uint64_t base, uint64_t size) {
    constexpr uint64_t MAPPED = uint64_t{DIRECTORIES} << 30;
    if (size == 0 || base >= MAPPED || size > MAPPED - base) return false;
    // U/S must be set at every level (SDM Vol. 3A 4.6.1); the upper levels
    // only open the way, each 2 MiB entry decides for its page.
    guest_page_tables[0][0] |= PTE_US;
    for (unsigned i = 0; i < DIRECTORIES; ++i) guest_page_tables[1][i] |= PTE_US;
    for (uint64_t page = base >> 21; page <= (base + size - 1) >> 21; ++page)
        guest_page_tables[2 + page / 512][page % 512] |= PTE_US;
    cpu::write_cr3(cpu::read_cr3());  // flush the TLB
    return true;
}

bool set_directory(unsigned gib, uint64_t directory) {
    if (gib < DIRECTORIES || gib >= 512 || (directory & 0xfff)) return false;
    guest_page_tables[1][gib] = directory ? directory | TABLE : 0;
    cpu::write_cr3(cpu::read_cr3());
    return true;
}

}  // namespace natsume::guest::paging
