/*
 * Flat x86-64 segment descriptors (Intel SDM Vol. 3A 3.4.5): base 0, limit
 * 4 GiB, G=1. Plain macros so that assembly (boot GDTs) and C++
 * (drivers/x86/descriptors.hpp) share one definition.
 */
#pragma once

#define X86_GDT_CODE64      0x00af9a000000ffff /* present, DPL 0, L=1 */
#define X86_GDT_DATA        0x00cf92000000ffff /* present, DPL 0, writable */
#define X86_GDT_CODE32      0x00cf9a000000ffff /* present, DPL 0, D=1 L=0 */
#define X86_GDT_USER_CODE64 0x00affa000000ffff /* present, DPL 3, L=1 */
#define X86_GDT_USER_DATA   0x00cff2000000ffff /* present, DPL 3, writable */
