#include "arch/idt.h"

#include "drivers/x86/descriptors.hpp"

#include "arch/exceptions.h"
#include "arch/gdt.h"

extern "C" const uint64_t isr_stub_table[256];
extern "C" volatile uint64_t isr_entry_tsc;

namespace natsume::guest::idt {
namespace {

// 64-bit interrupt gates and the IDTR image: drivers/x86/descriptors.hpp.
namespace hw  = natsume::drivers::x86;
using Gate    = hw::IdtEntry;
using Pointer = hw::DescriptorPointer;

alignas(16) Gate g_idt[256];
Handler g_handlers[256];

Gate make_gate(uint64_t target, unsigned ist) {
    return hw::interrupt_gate(target, GUEST_SEL_CODE64, static_cast<uint8_t>(ist));
}

bool uses_fault_stack(unsigned vector) {
    return vector == exceptions::NMI || vector == exceptions::DOUBLE_FAULT || vector == exceptions::MACHINE_CHECK;
}

void load(const Pointer& p) { asm volatile("lidt %0" ::"m"(p) : "memory"); }

}  // namespace

void install() {
    for (unsigned v = 0; v < 256; ++v)
        g_idt[v] = make_gate(isr_stub_table[v], uses_fault_stack(v) ? gdt::IST_FAULT : 0);
    load(Pointer{sizeof g_idt - 1, reinterpret_cast<uintptr_t>(g_idt)});
}

void set_handler(uint8_t vector, Handler h) { g_handlers[vector] = h; }

// DPL 3 (bits 46:45 of the gate): INT n from ring 3 may use the gate.
void set_user_gate(uint8_t vector) { g_idt[vector].lo |= 3ull << 45; }

uint64_t last_entry_tsc() { return isr_entry_tsc; }

void load_empty() { load(Pointer{0, 0}); }

}  // namespace natsume::guest::idt

extern "C" void isr_dispatch(natsume::guest::idt::InterruptFrame* f) {
    using namespace natsume::guest;
    if (idt::Handler h = idt::g_handlers[f->vector & 0xff]) {
        h(*f);
        return;
    }
    // The spurious vector needs no EOI (SDM Vol. 3A 11.9); any other vector
    // without a handler is a fault or an interrupt nobody asked for.
    if (f->vector != idt::VECTOR_SPURIOUS) exceptions::fatal(*f);
}
