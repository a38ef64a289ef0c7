// Layout facts shared by the assembly entry code and C++.
#pragma once

#define GUEST_SEL_CODE64      0x08
#define GUEST_SEL_DATA        0x10
#define GUEST_SEL_TSS         0x18  // two slots: 0x18 and 0x20
#define GUEST_SEL_USER_DATA   0x28  // DPL 3, for the ring-3 trampoline (usermode.cpp)
#define GUEST_SEL_USER_CODE64 0x30
#define GUEST_SEL_CODE32      0x38  // DPL 0 compatibility-mode code, for probes (probe.cpp)

// How the kernel was entered (first argument of kernel_early).
#define GUEST_ENTRY_MULTIBOOT2 1
#define GUEST_ENTRY_64BIT      2

// multiboot2 spec 3.3: EAX on entry from a multiboot2 loader.

#define GUEST_BOOT_STACK_SIZE  0x4000
#define GUEST_PAGE_TABLE_PAGES 6  // PML4, PDPT, 4 page directories: 4 GiB of 2 MiB pages

// Interrupt frame built by arch/isr.S: 15 general registers, vector, error code,
// then the CPU's 5-word frame (SDM Vol. 3A 6.14.1, 64-bit mode stack frame).
#define ISR_FRAME_GPRS  15
#define ISR_FRAME_WORDS (ISR_FRAME_GPRS + 2 + 5)

// Page-table entry bits (SDM Vol. 3A 4.5, tables 4-15 and 4-17).
#define PTE_P                  0x001
#define PTE_RW                 0x002
#define PTE_US                 0x004
#define PTE_PWT                0x008
#define PTE_PCD                0x010
#define PTE_PS                 0x080
// 2 MiB pages from 0xFE000000 up (LAPIC, IOAPIC, firmware) are mapped uncached.
#define UNCACHED_FIRST_2M_PAGE (0xfe000000 >> 21)
