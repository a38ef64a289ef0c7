#include "arch/gdt.h"

#include <stdint.h>

#include <natsume/bootinfo.h>

#include "drivers/x86/descriptors.hpp"

#include "arch/layout.h"

namespace natsume::guest::gdt {
namespace {

// The TSS, descriptor values and the GDTR image: drivers/x86/descriptors.hpp.
namespace hw = natsume::drivers::x86;
using hw::Tss;
using Pointer = hw::DescriptorPointer;

alignas(16) uint8_t g_fault_stack[8192];
Tss g_tss;
alignas(8) uint64_t g_gdt[8];

}  // namespace

void install() {
    static_assert(GUEST_SEL_CODE64 == 1 * 8 && GUEST_SEL_DATA == 2 * 8 && GUEST_SEL_TSS == 3 * 8);
    // The hypervisor's boot GDT uses the same selectors (natsume/bootinfo.h).
    static_assert(GUEST_SEL_CODE64 == NATSUME_GUEST_SEL_CODE64 && GUEST_SEL_DATA == NATSUME_GUEST_SEL_DATA &&
                  GUEST_SEL_TSS == NATSUME_GUEST_SEL_TSS);
    static_assert(GUEST_SEL_USER_DATA == 5 * 8 && GUEST_SEL_USER_CODE64 == 6 * 8 && GUEST_SEL_CODE32 == 7 * 8);
    g_tss.ist[IST_FAULT - 1] = reinterpret_cast<uintptr_t>(g_fault_stack + sizeof g_fault_stack);
    g_tss.iomap_base         = sizeof(Tss);  // no I/O permission bitmap
    g_gdt[0]                 = 0;
    g_gdt[1]                 = hw::GDT_CODE64;
    g_gdt[2]                 = hw::GDT_DATA;
    hw::tss_descriptor(&g_gdt[3], reinterpret_cast<uintptr_t>(&g_tss), sizeof(Tss) - 1);
    g_gdt[5] = hw::GDT_USER_DATA;
    g_gdt[6] = hw::GDT_USER_CODE64;
    g_gdt[7] = hw::GDT_CODE32;
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

}  // namespace natsume::guest::gdt
