/*
 * The hypervisor's own selectors, vectors and fixed addresses: plain macros
 * included by the assembly (boot/entry.S, isr.S) and by C++ alike, so the
 * two can never disagree.
 */
#pragma once

/* Boot GDT (boot/entry.S): 64-bit code, data, and the 32-bit code the AP
 * trampoline jumps through. */
#define BOOT_SEL_CODE64 0x08
#define BOOT_SEL_DATA   0x10
#define BOOT_SEL_CODE32 0x18

/* Per-core GDT (descriptors.cpp): null, code, data, TSS (two slots). */
#define HOST_SEL_CODE64 0x08
#define HOST_SEL_DATA   0x10
#define HOST_SEL_TSS    0x18

/* Interrupt stack table slot for NMI and double fault. */
#define HOST_IST_NMI_DF 1

/* The boot core's interrupt vectors. */
#define HOST_VECTOR_SHARED_FIRST 224 /* one per shared INTx line */
#define HOST_SHARED_LINES        8
#define HOST_VECTOR_VTD_FAULT    232 /* VT-d fault events */
#define HOST_VECTOR_WAKE         240 /* console wake-up IPI */
#define HOST_VECTOR_SPURIOUS     255 /* local APIC spurious vector, and any unexpected one */

/* The boot identity map (boot/entry.S): the low 64 GiB, 2 MiB pages. */
#define HOST_MAPPED_GIB 64

/* Below 1 MiB, page-aligned: the SIPI vector is its page number. */
#define AP_TRAMPOLINE_PHYS 0x8000
