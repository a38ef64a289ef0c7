// Thin wrappers around the x86 instructions the hypervisor, its self-test and
// the guest kernel use (CPUID, MSRs, TSC, control registers, port I/O,
// descriptor tables).
#pragma once
#include <stdint.h>

#include "drivers/x86/descriptors.hpp"

namespace natsume::drivers::x86 {

struct CpuidResult {
    uint32_t eax, ebx, ecx, edx;
};

inline CpuidResult cpuid(uint32_t leaf, uint32_t subleaf = 0) {
    CpuidResult r;
    asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}
inline uint64_t rdmsr(uint32_t msr) {
    uint32_t lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t(hi) << 32) | lo;
}
inline void wrmsr(uint32_t msr, uint64_t v) {
    asm volatile("wrmsr" ::"c"(msr), "a"(uint32_t(v)), "d"(uint32_t(v >> 32)) : "memory");
}
inline uint64_t rdtsc() {
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t(hi) << 32) | lo;
}
#define NATSUME_CR_ACCESSORS(n)                       \
    inline uint64_t read_cr##n() {                    \
        uint64_t v;                                   \
        asm volatile("mov %%cr" #n ", %0" : "=r"(v)); \
        return v;                                     \
    }                                                 \
    inline void write_cr##n(uint64_t v) { asm volatile("mov %0, %%cr" #n ::"r"(v) : "memory"); }
NATSUME_CR_ACCESSORS(0)
NATSUME_CR_ACCESSORS(2)
NATSUME_CR_ACCESSORS(3)
NATSUME_CR_ACCESSORS(4)
#undef NATSUME_CR_ACCESSORS

inline uint8_t inb(uint16_t port) {
    uint8_t v;
    asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
inline void outb(uint16_t port, uint8_t v) { asm volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
inline uint16_t inw(uint16_t port) {
    uint16_t v;
    asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
inline void outw(uint16_t port, uint16_t v) { asm volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
inline uint32_t inl(uint16_t port) {
    uint32_t v;
    asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
inline void outl(uint16_t port, uint32_t v) { asm volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
inline void pause() { asm volatile("pause" ::: "memory"); }
inline void cli() { asm volatile("cli" ::: "memory"); }
inline void halt_forever [[noreturn]] () {
    for (;;) asm volatile("cli; hlt" ::: "memory");
}
inline uint64_t read_rflags() {
    uint64_t f;
    asm volatile("pushfq; popq %0" : "=r"(f));
    return f;
}

inline DescriptorPointer sgdt() {
    DescriptorPointer p;
    asm volatile("sgdt %0" : "=m"(p));
    return p;
}
inline DescriptorPointer sidt() {
    DescriptorPointer p;
    asm volatile("sidt %0" : "=m"(p));
    return p;
}
inline uint16_t str() {
    uint16_t s;
    asm volatile("str %0" : "=r"(s));
    return s;
}

// Control-register bits (Intel SDM Vol. 3A 2.5); MSR numbers are in drivers/x86/msr.hpp.
namespace cr0 {
constexpr uint64_t PE = 1u << 0, MP = 1u << 1, NE = 1u << 5, WP = 1u << 16, PG = 1ull << 31;
}
namespace cr4 {
constexpr uint64_t PAE = 1u << 5, OSFXSR = 1u << 9, OSXMMEXCPT = 1u << 10, VMXE = 1u << 13, OSXSAVE = 1u << 18,
                   SMEP = 1u << 20, SMAP = 1u << 21, PKE = 1u << 22;
}

}  // namespace natsume::drivers::x86

// The hypervisor's x86 code (namespace natsume::x86) uses these unqualified.
namespace natsume::x86 {
using namespace drivers::x86;
}  // namespace natsume::x86
