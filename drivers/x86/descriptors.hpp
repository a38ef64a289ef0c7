// x86-64 descriptor layouts (Intel SDM Vol. 3A 3.4.5 segment descriptors,
// 6.14.1 64-bit interrupt gates, 8.2.3 and Figure 8-11 the 64-bit TSS and
// its 16-byte system descriptor): one definition for the hypervisor's and
// the guest kernel's GDT, TSS and IDT.
#pragma once
#include <stdint.h>

#include "drivers/x86/segments.h"

namespace natsume::drivers::x86 {

// Flat code and data segments: drivers/x86/segments.h (shared with assembly).
inline constexpr uint64_t GDT_CODE64      = X86_GDT_CODE64;
inline constexpr uint64_t GDT_DATA        = X86_GDT_DATA;
inline constexpr uint64_t GDT_CODE32      = X86_GDT_CODE32;
inline constexpr uint64_t GDT_USER_CODE64 = X86_GDT_USER_CODE64;
inline constexpr uint64_t GDT_USER_DATA   = X86_GDT_USER_DATA;

struct [[gnu::packed]] Tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
};
static_assert(sizeof(Tss) == 104, "64-bit TSS is 104 bytes (SDM Vol. 3A 8.7)");

// A 64-bit TSS, available (type 9) or busy (type 11, as a loaded TR is),
// present: two GDT slots.
inline constexpr uint64_t TSS_AVAILABLE = 0x9, TSS_BUSY = 0xB, DESCRIPTOR_PRESENT = 1ull << 47;
constexpr void tss_descriptor(uint64_t slot[2], uint64_t base, uint32_t limit, bool busy = false) {
    slot[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) | ((busy ? TSS_BUSY : TSS_AVAILABLE) << 40) |
              DESCRIPTOR_PRESENT | (uint64_t{(limit >> 16) & 0xf} << 48) | (((base >> 24) & 0xff) << 56);
    slot[1] = base >> 32;
}

// A 64-bit interrupt gate (type 0xE), present, DPL 0.
struct IdtEntry {
    uint64_t lo, hi;
};
constexpr IdtEntry interrupt_gate(uint64_t handler, uint16_t code_selector, uint8_t ist) {
    return {(handler & 0xffff) | (uint64_t{code_selector} << 16) | (uint64_t{ist} << 32) | (0x8eull << 40) |
                (((handler >> 16) & 0xffff) << 48),
            handler >> 32};
}

struct [[gnu::packed]] DescriptorPointer {
    uint16_t limit;
    uint64_t base;
};

}  // namespace natsume::drivers::x86
