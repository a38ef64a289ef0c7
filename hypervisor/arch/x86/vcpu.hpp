// VMX on each core and the VMCS of the one vCPU a partition core runs.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/percpu.hpp"
#include "partition/partition.hpp"

namespace natsume::x86 {

// What the boot CPU learned about VMX; every core is checked against it.
struct VmxPlatform {
    uint32_t revision;
    uint32_t pin, proc, proc2, exit, entry;  // control values after adjustment
    uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
    bool unrestricted_guest, x2apic, preemption_timer, nx, large_ept_pages;
    uint32_t preemption_timer_rate;
    uint8_t maxphyaddr;       // CPUID 0x80000008 EAX[7:0]
    bool xsave;               // CPUID 1 ECX[26]: XSETBV exists (host CR4.OSXSAVE is set for it)
    uint64_t xcr0_supported;  // CPUID 0xD.0 EDX:EAX
    uint64_t cr3_flush_type;  // INVVPID type emulating a guest's MOV to CR3 (vmx.hpp InvvpidType)
};
extern VmxPlatform vmx_platform;

// Boot CPU: checks every requirement and prints the capability report.
// False with one sentence naming the missing requirement.
[[nodiscard]] bool vmx_probe(char* why, size_t why_size);
// Any core: IA32_FEATURE_CONTROL, CR0/CR4 fixed bits, VMXON.
[[nodiscard]] bool vmx_enable_this_core(PerCpu& c, char* why, size_t why_size);
// Any core that owns a partition: VMCLEAR/VMPTRLD and every VMCS field.
[[nodiscard]] bool vcpu_setup(PerCpu& c, Partition& p, char* why, size_t why_size);
// Where a partition's other core enters its guest (this core's VMCS, before launch).
void vcpu_set_entry(uint64_t rip);
[[noreturn]] void vcpu_launch(PerCpu& c);

}  // namespace natsume::x86
