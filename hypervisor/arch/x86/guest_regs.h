/*
 * Offsets of struct natsume::x86::GuestRegs (percpu.hpp), one macro per
 * register, for vmx_entry.S: percpu.hpp asserts every one against the
 * struct, so the assembly and C++ cannot disagree.
 */
#pragma once

#define GR_RAX  0x00
#define GR_RCX  0x08
#define GR_RDX  0x10
#define GR_RBX  0x18
#define GR_RBP  0x20
#define GR_RSI  0x28
#define GR_RDI  0x30
#define GR_R8   0x38
#define GR_R9   0x40
#define GR_R10  0x48
#define GR_R11  0x50
#define GR_R12  0x58
#define GR_R13  0x60
#define GR_R14  0x68
#define GR_R15  0x70
#define GR_SIZE 0x78
