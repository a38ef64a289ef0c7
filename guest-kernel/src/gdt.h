#pragma once

namespace gdt {
// Loads the kernel's GDT (code 0x08, data 0x10, TSS 0x18) and TSS. The TSS
// gives #DF, NMI and #MC a known-good stack (IST1), so a kernel stack
// overflow is still reported.
void install();
inline constexpr unsigned kIstFault = 1;
}  // namespace gdt
