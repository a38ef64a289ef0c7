// GDT, TSS and IDT of the hypervisor (SDM Vol. 3A 3.4.5, 6.14, 8.2.3).
#include "drivers/x86/descriptors.hpp"

#include "drivers/x86/cpu.hpp"

#include "arch/x86/host_layout.h"
#include "arch/x86/host_paging.hpp"
#include "arch/x86/percpu.hpp"
#include "arch/x86/vmx_defs.hpp"

extern "C" const uint64_t isr_table[33];
extern "C" void isr_wake();
extern "C" const uint64_t shared_isr_table[HOST_SHARED_LINES];
extern "C" const uint64_t vtd_fault_isr[1];

namespace natsume::x86 {

constinit PerCpu cpus[MAX_CPUS]{};  // constant-initialized: the image runs no constructors
uint32_t cpu_count;

namespace {
using drivers::x86::IdtEntry;
IdtEntry idt[256] __attribute__((aligned(16)));
bool idt_built;

constexpr uint16_t KERNEL_CS = HOST_SEL_CODE64, KERNEL_DS = HOST_SEL_DATA, TSS_SEL = HOST_SEL_TSS;
constexpr uint8_t IST_NMI_DF = HOST_IST_NMI_DF;

IdtEntry gate(uint64_t handler, uint8_t ist) { return drivers::x86::interrupt_gate(handler, KERNEL_CS, ist); }

void build_idt() {
    for (auto& e : idt) e = gate(isr_table[32], 0);
    for (unsigned v = 0; v < 32; v++) {
        bool nmi_or_df = v == 2 || v == 8;
        idt[v]         = gate(isr_table[v], nmi_or_df ? IST_NMI_DF : 0);
    }
    idt[HOST_VECTOR_WAKE] = gate(reinterpret_cast<uint64_t>(&isr_wake), 0);
    for (unsigned i = 0; i < HOST_SHARED_LINES; i++) idt[HOST_VECTOR_SHARED_FIRST + i] = gate(shared_isr_table[i], 0);
    idt[HOST_VECTOR_VTD_FAULT] = gate(vtd_fault_isr[0], 0);
    idt_built                  = true;
}

void tss_descriptor(uint64_t* slot, const Tss* tss) {
    drivers::x86::tss_descriptor(slot, reinterpret_cast<uint64_t>(tss), sizeof(Tss) - 1);
}
}  // namespace

uint64_t stack_top(uint8_t* stack, size_t size) { return (reinterpret_cast<uint64_t>(stack) + size) & ~uint64_t(15); }

void cpu_local_init(PerCpu& c) {
    host_paging::enable_protections_on_this_core();
    if (!idt_built) build_idt();
    c.self                    = &c;
    c.gdt[0]                  = 0;
    c.gdt[1]                  = drivers::x86::GDT_CODE64;
    c.gdt[2]                  = drivers::x86::GDT_DATA;
    c.tss.ist[IST_NMI_DF - 1] = stack_top(c.ist_stack, sizeof c.ist_stack);
    c.tss.iomap_base          = sizeof(Tss);
    tss_descriptor(&c.gdt[3], &c.tss);
    c.gdt[5] = 0;
    DescriptorPointer gdtr{sizeof c.gdt - 1, reinterpret_cast<uint64_t>(c.gdt)};
    DescriptorPointer idtr{sizeof idt - 1, reinterpret_cast<uint64_t>(idt)};
    asm volatile("lgdt %0" ::"m"(gdtr));
    asm volatile("lidt %0" ::"m"(idtr));
    asm volatile("ltr %0" ::"r"(TSS_SEL));
    // Reload CS and the data segments from the new GDT.
    asm volatile("pushq %0; leaq 1f(%%rip), %%rax; pushq %%rax; lretq; 1:" ::"i"(uint64_t(KERNEL_CS))
                 : "rax", "memory");
    asm volatile("movw %0, %%ds; movw %0, %%es; movw %0, %%ss" ::"r"(KERNEL_DS));
    wrmsr(msr::IA32_GS_BASE, reinterpret_cast<uint64_t>(&c));
}

}  // namespace natsume::x86
