#include "arch/exceptions.h"

#include "arch/cpu.h"
#include "kernel/kprint.h"
#include "kernel/machine.h"

namespace natsume::guest::exceptions {
namespace {

struct Name {
    const char* mnemonic;
    const char* description;
};

// SDM Vol. 3A table 6-1.
constexpr Name NAMES[32] = {
    {"#DE", "divide error"},
    {"#DB", "debug"},
    {"NMI", "non-maskable interrupt"},
    {"#BP", "breakpoint"},
    {"#OF", "overflow"},
    {"#BR", "bound range exceeded"},
    {"#UD", "invalid opcode"},
    {"#NM", "device not available"},
    {"#DF", "double fault"},
    {"#CSO", "coprocessor segment overrun"},
    {"#TS", "invalid TSS"},
    {"#NP", "segment not present"},
    {"#SS", "stack-segment fault"},
    {"#GP", "general protection"},
    {"#PF", "page fault"},
    {"#15", "reserved"},
    {"#MF", "x87 floating-point error"},
    {"#AC", "alignment check"},
    {"#MC", "machine check"},
    {"#XM", "SIMD floating-point exception"},
    {"#VE", "virtualization exception"},
    {"#CP", "control protection"},
    {"#22", "reserved"},
    {"#23", "reserved"},
    {"#24", "reserved"},
    {"#25", "reserved"},
    {"#26", "reserved"},
    {"#27", "reserved"},
    {"#HV", "hypervisor injection"},
    {"#VC", "VMM communication"},
    {"#SX", "security exception"},
    {"#31", "reserved"},
};

constexpr unsigned EXIT_CODE_BASE = 0x100;

void reg(kprint::Line& l, const char* name, uint64_t v) { l.str(" ").str(name).str("=").hex(v); }

}  // namespace

const char* mnemonic(unsigned vector) { return vector < 32 ? NAMES[vector].mnemonic : "INT"; }
const char* description(unsigned vector) { return vector < 32 ? NAMES[vector].description : "unexpected interrupt"; }

void fatal(const idt::InterruptFrame& f) {
    unsigned v = static_cast<unsigned>(f.vector & 0xff);
    kprint::Line()
        .str("natsume-guest: EXCEPTION ")
        .str(mnemonic(v))
        .str(" vector=")
        .dec(v)
        .str(" (")
        .str(description(v))
        .str(") error=")
        .hex(f.error_code)
        .str(" rip=")
        .hex(f.rip)
        .str(" cr2=")
        .hex(cpu::read_cr2())
        .emit();
    kprint::Line l1;
    l1.str("natsume-guest:");
    reg(l1, "rax", f.rax), reg(l1, "rbx", f.rbx), reg(l1, "rcx", f.rcx), reg(l1, "rdx", f.rdx);
    reg(l1, "rsi", f.rsi), reg(l1, "rdi", f.rdi), reg(l1, "rbp", f.rbp), reg(l1, "rsp", f.rsp);
    l1.emit();
    kprint::Line l2;
    l2.str("natsume-guest:");
    reg(l2, "r8", f.r8), reg(l2, "r9", f.r9), reg(l2, "r10", f.r10), reg(l2, "r11", f.r11);
    reg(l2, "r12", f.r12), reg(l2, "r13", f.r13), reg(l2, "r14", f.r14), reg(l2, "r15", f.r15);
    l2.emit();
    kprint::Line l3;
    l3.str("natsume-guest:");
    reg(l3, "cs", f.cs), reg(l3, "ss", f.ss), reg(l3, "rflags", f.rflags), reg(l3, "cr3", cpu::read_cr3());
    l3.emit();
    machine::stop(EXIT_CODE_BASE + v);
}

}  // namespace natsume::guest::exceptions
