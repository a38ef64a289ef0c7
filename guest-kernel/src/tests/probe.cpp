#include "tests/probe.h"

#include "arch/exceptions.h"
#include "arch/idt.h"
#include "arch/layout.h"
#include "arch/usermode.h"

// The fix-up address of the probe in flight (0: none). Referenced by name
// from the inline assembly below, hence C linkage.
extern "C" volatile uint64_t g_probe_fixup;
volatile uint64_t g_probe_fixup = 0;

namespace natsume::guest::probe {
namespace {

volatile int g_vector     = NONE;
volatile uint64_t g_error = 0;

// Every probe: arm the fix-up (label 1 after the instruction), run the
// instruction, disarm. A fault resumes at label 1 with the fix-up cleared by
// the handler.
#define PROBE_ARM    "leaq 1f(%%rip), %%r11\n\tmovq %%r11, g_probe_fixup(%%rip)\n\t"
#define PROBE_DISARM "\n\tmovq $0, g_probe_fixup(%%rip)\n1:\n\t"

void on_fault(idt::InterruptFrame& f) {
    if (f.cs & 3) {  // a fault in ring 3: back to the kernel that entered it
        usermode::on_user_fault(f);
        return;
    }
    if (g_probe_fixup == 0) exceptions::fatal(f);
    g_vector      = static_cast<int>(f.vector & 0xff);
    g_error       = f.error_code;
    f.rip         = g_probe_fixup;
    f.cs          = GUEST_SEL_CODE64;  // a fault in compatibility mode resumes in 64-bit code
    g_probe_fixup = 0;
}

void begin() {
    g_vector = NONE;
    g_error  = 0;
}

Fault result() { return Fault{g_vector, g_error}; }

alignas(4096) uint8_t g_zero_page[4096];
alignas(16) uint64_t g_descriptor[2];  // INVEPT/INVVPID descriptor, all zero

}  // namespace

const char* name(const Fault& f) {
    if (f.none()) return "none";
    return exceptions::mnemonic(static_cast<unsigned>(f.vector));
}

void install() {
    for (unsigned v = 0; v < 32; ++v)
        if (v != exceptions::NMI && v != exceptions::DOUBLE_FAULT && v != exceptions::MACHINE_CHECK)
            idt::set_handler(static_cast<uint8_t>(v), on_fault);
}

Fault rdmsr(uint32_t msr, uint64_t& out) {
    begin();
    uint32_t lo = 0, hi = 0;
    asm volatile(PROBE_ARM "rdmsr" PROBE_DISARM : "+a"(lo), "+d"(hi) : "c"(msr) : "r11", "memory");
    out = (uint64_t{hi} << 32) | lo;
    return result();
}

Fault wrmsr(uint32_t msr, uint64_t v) {
    begin();
    asm volatile(PROBE_ARM "wrmsr" PROBE_DISARM ::"c"(msr), "a"(static_cast<uint32_t>(v)),
                 "d"(static_cast<uint32_t>(v >> 32))
                 : "r11", "memory");
    return result();
}

Fault xgetbv(uint32_t index, uint64_t& out) {
    begin();
    uint32_t lo = 0, hi = 0;
    asm volatile(PROBE_ARM "xgetbv" PROBE_DISARM : "+a"(lo), "+d"(hi) : "c"(index) : "r11", "memory");
    out = (uint64_t{hi} << 32) | lo;
    return result();
}

Fault xsetbv(uint32_t index, uint64_t v) {
    begin();
    asm volatile(PROBE_ARM "xsetbv" PROBE_DISARM ::"c"(index), "a"(static_cast<uint32_t>(v)),
                 "d"(static_cast<uint32_t>(v >> 32))
                 : "r11", "memory");
    return result();
}

uint64_t read_cr0() {
    uint64_t v;
    asm volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}

uint64_t read_cr4() {
    uint64_t v;
    asm volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}

Fault write_cr0(uint64_t v) {
    begin();
    asm volatile(PROBE_ARM "mov %0, %%cr0" PROBE_DISARM ::"r"(v) : "r11", "memory");
    return result();
}

Fault write_cr4(uint64_t v) {
    begin();
    asm volatile(PROBE_ARM "mov %0, %%cr4" PROBE_DISARM ::"r"(v) : "r11", "memory");
    return result();
}

Fault load(uintptr_t addr, unsigned size, uint64_t& out) {
    begin();
    uint64_t v = 0;
    switch (size) {
    case 1: asm volatile(PROBE_ARM "movzbq (%1), %0" PROBE_DISARM : "+r"(v) : "r"(addr) : "r11", "memory"); break;
    case 2: asm volatile(PROBE_ARM "movzwq (%1), %0" PROBE_DISARM : "+r"(v) : "r"(addr) : "r11", "memory"); break;
    case 4: asm volatile(PROBE_ARM "movl (%1), %k0" PROBE_DISARM : "+r"(v) : "r"(addr) : "r11", "memory"); break;
    case 8: asm volatile(PROBE_ARM "movq (%1), %0" PROBE_DISARM : "+r"(v) : "r"(addr) : "r11", "memory"); break;
    default: return Fault{UD, 0};
    }
    out = v;
    return result();
}

Fault store(uintptr_t addr, unsigned size, uint64_t v) {
    begin();
    switch (size) {
    case 1: asm volatile(PROBE_ARM "movb %b1, (%0)" PROBE_DISARM ::"r"(addr), "r"(v) : "r11", "memory"); break;
    case 2: asm volatile(PROBE_ARM "movw %w1, (%0)" PROBE_DISARM ::"r"(addr), "r"(v) : "r11", "memory"); break;
    case 4: asm volatile(PROBE_ARM "movl %k1, (%0)" PROBE_DISARM ::"r"(addr), "r"(v) : "r11", "memory"); break;
    case 8: asm volatile(PROBE_ARM "movq %1, (%0)" PROBE_DISARM ::"r"(addr), "r"(v) : "r11", "memory"); break;
    default: return Fault{UD, 0};
    }
    return result();
}

Fault rep_movsl(uintptr_t dst, const void* src, uint64_t dwords) {
    begin();
    asm volatile(PROBE_ARM "cld\n\trep movsl" PROBE_DISARM : "+D"(dst), "+S"(src), "+c"(dwords) : : "r11", "memory");
    return result();
}

Fault rep_insb(uint16_t port, void* dst, uint64_t count) {
    begin();
    asm volatile(PROBE_ARM "cld\n\trep insb" PROBE_DISARM : "+D"(dst), "+c"(count) : "d"(port) : "r11", "memory");
    return result();
}

Fault in(uint16_t port, unsigned size, uint32_t& out) {
    begin();
    uint32_t v = 0;
    switch (size) {
    case 1: asm volatile(PROBE_ARM "inb %w1, %b0" PROBE_DISARM : "+a"(v) : "d"(port) : "r11", "memory"); break;
    case 2: asm volatile(PROBE_ARM "inw %w1, %w0" PROBE_DISARM : "+a"(v) : "d"(port) : "r11", "memory"); break;
    case 4: asm volatile(PROBE_ARM "inl %w1, %0" PROBE_DISARM : "+a"(v) : "d"(port) : "r11", "memory"); break;
    default: return Fault{UD, 0};
    }
    out = v;
    return result();
}

Fault out(uint16_t port, unsigned size, uint32_t v) {
    begin();
    switch (size) {
    case 1: asm volatile(PROBE_ARM "outb %b0, %w1" PROBE_DISARM ::"a"(v), "d"(port) : "r11", "memory"); break;
    case 2: asm volatile(PROBE_ARM "outw %w0, %w1" PROBE_DISARM ::"a"(v), "d"(port) : "r11", "memory"); break;
    case 4: asm volatile(PROBE_ARM "outl %0, %w1" PROBE_DISARM ::"a"(v), "d"(port) : "r11", "memory"); break;
    default: return Fault{UD, 0};
    }
    return result();
}

// Into 32-bit code with a far return, one store, back with a far jump to
// an absolute 32-bit address (the kernel is linked below 4 GiB). The
// fix-up label is in 64-bit code, so a fault resumes there.
Fault store32_compat(uint32_t addr, uint32_t v) {
    begin();
    static_assert(GUEST_SEL_CODE32 == 0x38 && GUEST_SEL_CODE64 == 0x08, "selectors in the asm below");
    asm volatile(PROBE_ARM
                 "pushq $0x38\n\t"
                 "leaq 2f(%%rip), %%r11\n\t"
                 "pushq %%r11\n\t"
                 "lretq\n\t"
                 ".code32\n"
                 "2:\n\t"
                 "movl %%esi, (%%edi)\n\t"
                 "ljmp $0x08, $3f\n\t"
                 ".code64\n"
                 "3:" PROBE_DISARM
                 :
                 : "D"(addr), "S"(v)
                 : "r11", "memory");
    return result();
}

Fault vmx(Vmx insn) {
    begin();
    uintptr_t page = reinterpret_cast<uintptr_t>(g_zero_page);
    uintptr_t desc = reinterpret_cast<uintptr_t>(g_descriptor);
    uint64_t field = 0, value = 0, type = 1;
    switch (insn) {
    case Vmx::Vmxon: asm volatile(PROBE_ARM "vmxon (%0)" PROBE_DISARM ::"r"(&page) : "r11", "memory", "cc"); break;
    case Vmx::Vmclear: asm volatile(PROBE_ARM "vmclear (%0)" PROBE_DISARM ::"r"(&page) : "r11", "memory", "cc"); break;
    case Vmx::Vmptrld: asm volatile(PROBE_ARM "vmptrld (%0)" PROBE_DISARM ::"r"(&page) : "r11", "memory", "cc"); break;
    case Vmx::Vmread:
        asm volatile(PROBE_ARM "vmread %1, %0" PROBE_DISARM : "+r"(value) : "r"(field) : "r11", "memory", "cc");
        break;
    case Vmx::Vmwrite:
        asm volatile(PROBE_ARM "vmwrite %0, %1" PROBE_DISARM ::"r"(value), "r"(field) : "r11", "memory", "cc");
        break;
    case Vmx::Vmlaunch: asm volatile(PROBE_ARM "vmlaunch" PROBE_DISARM ::: "r11", "memory", "cc"); break;
    case Vmx::Vmresume: asm volatile(PROBE_ARM "vmresume" PROBE_DISARM ::: "r11", "memory", "cc"); break;
    case Vmx::Vmxoff: asm volatile(PROBE_ARM "vmxoff" PROBE_DISARM ::: "r11", "memory", "cc"); break;
    case Vmx::Invept:
        asm volatile(PROBE_ARM "invept (%0), %1" PROBE_DISARM ::"r"(desc), "r"(type) : "r11", "memory", "cc");
        break;
    case Vmx::Invvpid:
        asm volatile(PROBE_ARM "invvpid (%0), %1" PROBE_DISARM ::"r"(desc), "r"(type) : "r11", "memory", "cc");
        break;
    }
    return result();
}

Fault invd() {
    begin();
    asm volatile(PROBE_ARM "invd" PROBE_DISARM ::: "r11", "memory");
    return result();
}

Fault wbinvd() {
    begin();
    asm volatile(PROBE_ARM "wbinvd" PROBE_DISARM ::: "r11", "memory");
    return result();
}

Fault vmcall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, int64_t& ret) {
    begin();
    uint64_t rax = nr;
    asm volatile(PROBE_ARM "vmcall" PROBE_DISARM : "+a"(rax) : "D"(a0), "S"(a1), "d"(a2) : "r11", "memory");
    ret = static_cast<int64_t>(rax);
    return result();
}

}  // namespace natsume::guest::probe
