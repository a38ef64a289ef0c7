// The hand-over from UEFI's 64-bit long mode to the hypervisor's 32-bit
// multiboot2 entry (Intel SDM Vol. 3A 9.8.5.4, "Switching Out of IA-32e Mode
// Operation"): compatibility mode on an identity-mapped page below 4 GiB,
// paging off, IA32_EFER.LME off, then the entry with EAX = the multiboot2
// magic and EBX = the boot information.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume::efi {

size_t handoff_size();
// Copies the trampoline to `page` (executable, below 4 GiB) and jumps through it.
[[noreturn]] void enter_hypervisor(uint8_t* page, uint64_t entry32, uint64_t info);

}  // namespace natsume::efi
