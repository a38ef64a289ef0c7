#include "idt.h"

#include "exceptions.h"
#include "gdt.h"

extern "C" const uint64_t isr_stub_table[256];
extern "C" volatile uint64_t isr_entry_tsc;

namespace idt {
namespace {

// 64-bit interrupt gate (SDM Vol. 3A 6.14.1, figure 6-8).
struct Gate {
    uint64_t lo, hi;
};
constexpr uint64_t kInterruptGate = 0xe;  // clears IF on entry
constexpr uint64_t kPresent = 1ull << 47;

alignas(16) Gate g_idt[256];
Handler g_handlers[256];

struct [[gnu::packed]] Pointer {
    uint16_t limit;
    uint64_t base;
};

Gate make_gate(uint64_t target, unsigned ist)
{
    Gate g;
    g.lo = (target & 0xffff) | (uint64_t{GUEST_SEL_CODE64} << 16) | (uint64_t{ist} << 32) | (kInterruptGate << 40) |
           kPresent | (((target >> 16) & 0xffff) << 48);
    g.hi = target >> 32;
    return g;
}

bool uses_fault_stack(unsigned vector)
{
    return vector == exceptions::kNmi || vector == exceptions::kDoubleFault || vector == exceptions::kMachineCheck;
}

void load(const Pointer& p) { asm volatile("lidt %0" ::"m"(p) : "memory"); }

}  // namespace

void install()
{
    for (unsigned v = 0; v < 256; ++v)
        g_idt[v] = make_gate(isr_stub_table[v], uses_fault_stack(v) ? gdt::kIstFault : 0);
    load(Pointer{sizeof g_idt - 1, reinterpret_cast<uintptr_t>(g_idt)});
}

void set_handler(uint8_t vector, Handler h) { g_handlers[vector] = h; }

// DPL 3 (bits 46:45 of the gate): INT n from ring 3 may use the gate.
void set_user_gate(uint8_t vector) { g_idt[vector].lo |= 3ull << 45; }

uint64_t last_entry_tsc() { return isr_entry_tsc; }

void load_empty() { load(Pointer{0, 0}); }

}  // namespace idt

extern "C" void isr_dispatch(idt::InterruptFrame* f)
{
    if (idt::Handler h = idt::g_handlers[f->vector & 0xff]) {
        h(*f);
        return;
    }
    // The spurious vector needs no EOI (SDM Vol. 3A 11.9); any other vector
    // without a handler is a fault or an interrupt nobody asked for.
    if (f->vector != idt::kVectorSpurious)
        exceptions::fatal(*f);
}
