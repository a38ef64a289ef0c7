// Memory the hypervisor keeps for itself, as far as it is known before boot.
// At boot it refuses partition RAM over the first MiB (AP trampoline, BIOS
// data), over its image (loaded by GRUB at 2 MiB: code, data, per-core
// stacks and the 4 MiB page pool; about 6 MiB today, hypervisor/linker.ld)
// and over every boot module (the compiled partition file and the guest
// images, which GRUB places just above the image). Their exact addresses
// are known only at boot, so the draft and `check --machine` keep the first
// 64 MiB free for them (docs/real-hardware.md says the same), and keep
// partition RAM inside the low 64 GiB the hypervisor maps.
#pragma once
#include <cstdint>

namespace natsume::probe {

inline constexpr uint64_t MIB                 = 1024 * 1024;
inline constexpr uint64_t REAL_MODE_END       = 1 * MIB;
inline constexpr uint64_t IMAGE_BASE          = 2 * MIB;
inline constexpr uint64_t HYPERVISOR_ZONE_END = 64 * MIB;
inline constexpr uint64_t MAPPED_LIMIT        = 64ull << 30;  // HOST_MAPPED_GIB (arch/x86/host_layout.h)
inline constexpr uint64_t RAM_ALIGN           = 2 * MIB;      // NATSUME_CONFIG_RAM_ALIGN: 2 MiB EPT pages

}  // namespace natsume::probe
