// What the multiboot2 loader and the boot identity map hand the C++ code
// (boot/entry.S): shared by the hypervisor's boot flow and its self-test.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/host_layout.h"
#include "lib/multiboot2.hpp"

namespace natsume::x86::boot_info {

inline constexpr uint64_t MAPPED = uint64_t{HOST_MAPPED_GIB} << 30;

// acpi::PhysMem / lib callers: physical memory below MAPPED is identity-mapped.
const void* phys_map(void*, uint64_t phys, size_t len);

// Checks the loader's magic and parses its information into out; stops the
// boot with the reason when either is wrong.
void read_multiboot(uint32_t magic, uint64_t info, mb2::Info& out);

}  // namespace natsume::x86::boot_info
