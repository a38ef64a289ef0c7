#pragma once
#include <stdint.h>

namespace natsume::guest::gdt {
// Loads the kernel's GDT (code 0x08, data 0x10, TSS 0x18, user data 0x28
// and user code 0x30 with DPL 3, 32-bit code 0x38) and TSS. The TSS
// gives #DF, NMI and #MC a known-good stack (IST1), so a kernel stack
// overflow is still reported.
void install();
inline constexpr unsigned IST_FAULT = 1;
// The stack the CPU switches to on an interrupt or exception from ring 3.
void set_rsp0(uint64_t rsp);
}  // namespace natsume::guest::gdt
