// What every VM-exit handler gets and may use: this core's vCPU context and
// the small helpers shared by the handler files (exits.cpp, exit_*.cpp).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/percpu.hpp"
#include "arch/x86/vmx_defs.hpp"
#include "partition/partition.hpp"
#include "vdev/icr_filter.hpp"

namespace natsume::x86 {

enum class Action { Resume, Stop };

// The context every handler gets: this core's vCPU.
struct Vcpu {
    PerCpu& cpu;
    Partition& part;
    GuestRegs& regs;
    uint32_t reason;  // basic exit reason
    char stop_reason[160];
};

using Handler = Action (*)(Vcpu&);

// The cores an IPI of this vCPU may reach: its partition's, this one sending.
inline icr::Partition own_cores(const Vcpu& v) {
    return {v.part.config.apic_ids, v.part.config.core_count, v.cpu.shared.apic_id};
}

constexpr uint8_t VEC_DB = 1, VEC_UD = 6, VEC_GP = 13, VEC_AC = 17;
// Exceptions every partition core intercepts (exception bitmap): #DB and #AC
// can loop inside the processor's event delivery without ever exiting.
constexpr uint32_t INTERCEPTED_EXCEPTIONS = (1u << VEC_DB) | (1u << VEC_AC);
// The same exception at the same RIP this many times in a row stops the partition.
constexpr uint32_t REFLECT_LOOP_LIMIT = 100000;
// DR6 (SDM Vol. 3A 17.2.3): reads-as-one bits, the bits a #DB exit
// qualification reports (B0-B3, BD, BS), and RTM (active low).
constexpr uint64_t DR6_FIXED_ONES = 0xffff0ff0, DR6_EXIT_BITS = 0x600f, DR6_RTM = 1u << 16;

void skip_instruction();
void inject_hw_exception(uint8_t vector, bool has_error, uint32_t error = 0);
// General register n (0 = RAX ... 15 = R15, SDM Vol. 2 2.1.5 order); RSP lives in the VMCS.
uint64_t& gpr(GuestRegs& r, unsigned n);
void set_gpr(GuestRegs& r, unsigned n, uint64_t value);
void dump_registers(const Vcpu& v);
// The guest's current privilege level (SS.DPL) and whether it runs 64-bit code (CS.L).
unsigned guest_cpl();
bool guest_in_64bit_code();
// Counts and logs a refusal (partition_refuse) and injects #GP(0): what the
// guest gets for an access the hypervisor will not carry out. Returns Resume.
Action refuse_gp(Vcpu& v, Refusal kind, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
// A broadcast shorthand scoped to the partition (icr::Reason::PartitionBroadcast):
// one physical fixed IPI with `vector` to each core the fan-out names.
void send_fanout(Vcpu& v, uint32_t fanout, uint8_t vector);
// Records why the partition must stop (and dumps its registers): return its value.
Action stop(Vcpu& v, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
// A Linux partition's virtual COM1, sleep and reset ports (exit_linux.cpp):
// true when `io` was one of them, with what to do next in `action`.
bool linux_port_access(Vcpu& v, const IoAccess& io, Action& action);
// gpt::PhysRead over the partition's RAM (ctx = Partition*).
bool read_guest_u64(void* ctx, uint64_t gpa, uint64_t& value);

// Handlers living outside exits.cpp.
Action on_vmcall(Vcpu& v);  // exit_hypercalls.cpp
Action on_io(Vcpu& v);      // exit_mmio.cpp
Action on_ept_violation(Vcpu& v);
Action on_cr_access(Vcpu& v);  // exit_cpu.cpp
Action on_exception_or_nmi(Vcpu& v);
Action on_xsetbv(Vcpu& v);
Action on_rdmsr(Vcpu& v);  // exit_msr.cpp
Action on_wrmsr(Vcpu& v);

}  // namespace natsume::x86
