#include "handoff.hpp"

extern "C" const uint8_t natsume_efi_trampoline[], natsume_efi_trampoline_end[];

namespace natsume::efi {

size_t handoff_size() { return static_cast<size_t>(natsume_efi_trampoline_end - natsume_efi_trampoline); }

void enter_hypervisor(uint8_t* page, uint64_t entry32, uint64_t info) {
    __builtin_memcpy(page, natsume_efi_trampoline, handoff_size());
    auto* jump = reinterpret_cast<void (*)(uint64_t, uint64_t)>(page);
    jump(entry32, info);
    __builtin_unreachable();
}

}  // namespace natsume::efi
