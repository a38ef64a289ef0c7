#include "gdt.h"

#include <stdint.h>

#include "layout.h"

namespace gdt {
namespace {

// 64-bit TSS (SDM Vol. 3A 8.7, figure 8-11).
struct [[gnu::packed]] Tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
};
static_assert(sizeof(Tss) == 104);

struct [[gnu::packed]] Pointer {
    uint16_t limit;
    uint64_t base;
};

constexpr uint64_t kCode64 = 0x00af9a000000ffff;  // present, DPL 0, L=1
constexpr uint64_t kData = 0x00cf92000000ffff;    // present, DPL 0, writable
constexpr uint64_t kUserData = 0x00cff2000000ffff;    // present, DPL 3, writable
constexpr uint64_t kUserCode64 = 0x00affa000000ffff;  // present, DPL 3, L=1
constexpr uint64_t kCode32 = 0x00cf9a000000ffff;      // present, DPL 0, D=1 L=0: compatibility mode
constexpr uint64_t kTssAvailable = 0x9;           // SDM Vol. 3A table 3-2
constexpr uint64_t kPresent = 1ull << 47;

alignas(16) uint8_t g_fault_stack[8192];
Tss g_tss;
alignas(8) uint64_t g_gdt[8];

// A system descriptor takes two GDT slots in 64-bit mode (SDM Vol. 3A 8.2.3).
void set_tss_descriptor(uint64_t* slot, uint64_t base, uint32_t limit)
{
    slot[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (kTssAvailable << 40) | kPresent |
              (uint64_t{(limit >> 16) & 0xf} << 48) | (((base >> 24) & 0xff) << 56);
    slot[1] = base >> 32;
}

}  // namespace

void install()
{
    static_assert(GUEST_SEL_CODE64 == 1 * 8 && GUEST_SEL_DATA == 2 * 8 && GUEST_SEL_TSS == 3 * 8);
    static_assert(GUEST_SEL_USER_DATA == 5 * 8 && GUEST_SEL_USER_CODE64 == 6 * 8 && GUEST_SEL_CODE32 == 7 * 8);
    g_tss.ist[kIstFault - 1] = reinterpret_cast<uintptr_t>(g_fault_stack + sizeof g_fault_stack);
    g_tss.iomap_base = sizeof(Tss);  // no I/O permission bitmap
    g_gdt[0] = 0;
    g_gdt[1] = kCode64;
    g_gdt[2] = kData;
    set_tss_descriptor(&g_gdt[3], reinterpret_cast<uintptr_t>(&g_tss), sizeof(Tss) - 1);
    g_gdt[5] = kUserData;
    g_gdt[6] = kUserCode64;
    g_gdt[7] = kCode32;
    Pointer p{sizeof g_gdt - 1, reinterpret_cast<uintptr_t>(g_gdt)};
    // Reload CS with a far return, then the data segments and the task register.
    asm volatile(
        "lgdt %0\n"
        "pushq %1\n"
        "leaq 1f(%%rip), %%rax\n"
        "pushq %%rax\n"
        "lretq\n"
        "1:\n"
        "movw %w2, %%ax\n"
        "movw %%ax, %%ds\n"
        "movw %%ax, %%es\n"
        "movw %%ax, %%ss\n"
        "xorl %%eax, %%eax\n"
        "movw %%ax, %%fs\n"
        "movw %%ax, %%gs\n"
        "ltr %w3\n"
        :
        : "m"(p), "i"(GUEST_SEL_CODE64), "r"(GUEST_SEL_DATA), "r"(GUEST_SEL_TSS)
        : "rax", "memory");
}

void set_rsp0(uint64_t rsp) { g_tss.rsp[0] = rsp; }

}  // namespace gdt
