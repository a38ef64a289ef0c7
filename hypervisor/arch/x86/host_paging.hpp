// The hypervisor's own page tables after boot. The boot tables map the low
// 64 GiB with 2 MiB pages, all writable and executable; these keep the same
// identity map and memory types but: the image is W^X in 4 KiB pages (text
// read-only and executable, rodata read-only, data and bss non-executable),
// every other page is non-executable, and the guard page under each per-core
// stack is not mapped. Built once by the boot core while the APs wait, then
// loaded by each core before it enables VMX (HOST_CR3 is read then).
#pragma once
#include <stddef.h>

namespace natsume::x86::host_paging {

// Boot core, once every AP is online. False with a sentence on failure.
[[nodiscard]] bool build(char* why, size_t why_size);
// Every core (the boot core included): switch CR3 to the hardened tables.
void load_on_this_core();
// After load_on_this_core on the boot core: a store to the image's text and
// to a stack guard page must fault. False with a sentence when one does not.
[[nodiscard]] bool verify(char* why, size_t why_size);
// Every core, early: EFER.NXE, CR0.WP, CR4.SMEP and CR4.SMAP where the CPU has them.
void enable_protections_on_this_core();

}  // namespace natsume::x86::host_paging
