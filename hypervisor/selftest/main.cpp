// Boot of the VT-d platform self-test: the hypervisor's boot path (console,
// multiboot2, TSC, ACPI, application processors) without VMX, then the test
// cases in tests.cpp against the emulated remapping hardware.
#include "drivers/x86/cpu.hpp"
#include "drivers/x86/cpuid.hpp"

#include "arch/x86/boot_info.hpp"
#include "arch/x86/ioapic_hw.hpp"
#include "arch/x86/lapic.hpp"
#include "arch/x86/percpu.hpp"
#include "arch/x86/smp.hpp"
#include "arch/x86/timing.hpp"
#include "base/log.hpp"
#include "base/panic.hpp"
#include "boot/boot.hpp"
#include "lib/cmdline.hpp"
#include "lib/multiboot2.hpp"
#include "selftest/platform.hpp"

namespace {
// QEMU's accelerators name themselves in the hypervisor CPUID leaf
// (0x40000000): "TCGTCGTCGTCG" under TCG, "KVMKVMKVM" under KVM.
bool running_under_qemu() {
    if (!natsume::drivers::cpuid::has_ecx1(natsume::drivers::cpuid::ecx1::HYPERVISOR)) return false;
    natsume::x86::CpuidResult r = natsume::x86::cpuid(natsume::drivers::cpuid::leaf::HYPERVISOR);
    bool tcg = r.ebx == 0x54474354 && r.ecx == 0x43544743 && r.edx == 0x47435447;  // "TCGT" "CGTC" "GTCG"
    bool kvm = r.ebx == 0x4b4d564b && r.ecx == 0x564b4d56 && r.edx == 0x4d;        // "KVMK" "VMKV" "M"
    return tcg || kvm;
}
}  // namespace

extern "C" void selftest_isr_0x41();
extern "C" void selftest_isr_0x42();
extern "C" void selftest_isr_0x43();
extern "C" void selftest_isr_0x44();

namespace natsume::boot {
namespace {
Options opts{true, false};  // the self-test always ends the emulator run
}  // namespace
const Options& options() { return opts; }

// Application processors only wait for test interrupts.
void ap_run(x86::PerCpu&) {
    for (;;) asm volatile("sti; hlt" ::: "memory");
}
}  // namespace natsume::boot

namespace natsume::selftest {
namespace {

Platform platform;
mb2::Info mbi;
constexpr uint8_t FIRST_TEST_VECTOR = 0x41, TEST_VECTORS = 4;  // irq.S
IrqLog irq_logs[TEST_VECTORS];

using x86::boot_info::phys_map;

void parse_multiboot(uint32_t magic, uint64_t info) {
    x86::boot_info::read_multiboot(magic, info, mbi);
    platform.expected_levels       = static_cast<unsigned>(cmdline::number(mbi.cmdline, "vtd-levels", 0));
    platform.register_invalidation = cmdline::has_word(mbi.cmdline, "vtd-register-invalidation");
    platform.emulator_is_qemu      = running_under_qemu();
    log::print("natsume: boot: command line '%s'\n", mbi.cmdline);
}

const uint8_t* table_at(uint64_t phys) { return reinterpret_cast<const uint8_t*>(phys); }
uint32_t table_len(uint64_t phys) { return *reinterpret_cast<const uint32_t*>(phys + 4); }

void parse_acpi() {
    acpi::PhysMem mem{phys_map, nullptr};
    acpi::Tables tables{};
    acpi::Error e = acpi::Error::RsdpNotFound;
    if (mbi.rsdp_v2) e = acpi::parse_rsdp(mbi.rsdp_v2, mbi.rsdp_v2_len, tables);
    if (e != acpi::Error::Ok && mbi.rsdp_v1) e = acpi::parse_rsdp(mbi.rsdp_v1, mbi.rsdp_v1_len, tables);
    if (e != acpi::Error::Ok) NATSUME_PANIC("no usable ACPI RSDP: %s", acpi::to_string(e));
    uint64_t phys = 0;
    if (acpi::find_table(mem, tables, "APIC", phys) != acpi::Error::Ok) NATSUME_PANIC("ACPI MADT not found");
    if (acpi::parse_madt(table_at(phys), table_len(phys), platform.madt) != acpi::Error::Ok)
        NATSUME_PANIC("ACPI MADT is malformed");
    platform.dmar_found = acpi::find_table(mem, tables, "DMAR", phys) == acpi::Error::Ok;
    if (!platform.dmar_found) return;
    dmar::Error d = dmar::parse(table_at(phys), table_len(phys), platform.dmar);
    if (d != dmar::Error::Ok) NATSUME_PANIC("ACPI DMAR is malformed: %s", dmar::to_string(d));
}

void install_gate(uint8_t vector, void (*handler)()) {
    auto* idt = reinterpret_cast<uint64_t*>(x86::sidt().base);
    auto h    = reinterpret_cast<uint64_t>(handler);
    // Present, DPL 0, 64-bit interrupt gate, code selector 0x08 (SDM Vol. 3A 6.14.1).
    idt[2 * vector]     = (h & 0xffff) | (uint64_t{0x08} << 16) | (0x8eull << 40) | (((h >> 16) & 0xffff) << 48);
    idt[2 * vector + 1] = h >> 32;
}

void start_first_ap() {
    x86::smp::set_ap_continuation(boot::ap_run);
    x86::cpu_count = 1;
    for (size_t i = 0; i < platform.madt.cpu_count; i++) {
        const acpi::Lapic& c = platform.madt.cpus[i];
        if (!c.enabled || c.apic_id == platform.bsp_apic_id) continue;
        platform.ap_online  = x86::smp::start_ap(1, c.apic_id);
        platform.ap_apic_id = c.apic_id;
        x86::cpu_count      = 2;
        log::print("natsume: smp: core apic_id=%u %s\n", c.apic_id, platform.ap_online ? "online" : "did not start");
        return;
    }
}

}  // namespace

IrqLog& irq_log(uint8_t vector) {
    unsigned i = vector - FIRST_TEST_VECTOR;
    return irq_logs[i < TEST_VECTORS ? i : 0];
}

}  // namespace natsume::selftest

using namespace natsume;

extern "C" void selftest_irq(uint32_t vector) {
    selftest::IrqLog& l = selftest::irq_log(static_cast<uint8_t>(vector));
    l.apic_id           = x86::lapic::id();
    l.count             = l.count + 1;
    x86::lapic::eoi();
}

extern "C" [[noreturn]] void natsume_main(uint32_t magic, uint64_t info) {
    log::init();
    log::print("\nnatsume: boot: Natsume VT-d platform self-test starting\n");
    x86::cpus[0].shared.index = 0;
    x86::cpu_local_init(x86::cpus[0]);
    x86::ioapic_hw::mask_legacy_pic();  // every test interrupt is an MSI
    x86::lapic::init_this_core();
    selftest::platform.bsp_apic_id = x86::lapic::id();
    x86::cpus[0].shared.apic_id    = selftest::platform.bsp_apic_id;
    selftest::parse_multiboot(magic, info);
    if (!x86::calibrate_tsc_khz()) NATSUME_PANIC("TSC calibration failed: PIT channel 2 never counted down");
    selftest::parse_acpi();
    selftest::install_gate(0x41, selftest_isr_0x41);
    selftest::install_gate(0x42, selftest_isr_0x42);
    selftest::install_gate(0x43, selftest_isr_0x43);
    selftest::install_gate(0x44, selftest_isr_0x44);
    selftest::start_first_ap();
    unsigned passed = 0;
    unsigned failed = selftest::run_tests(selftest::platform, passed);
    log::print("NATSUME-DONE pass=%u fail=%u\n", passed, failed);
    machine_stop(failed == 0 ? 0 : 1);
}

extern "C" void host_trap(x86::TrapFrame* f) {
    if (f->vector == 255) return;  // spurious: no EOI (SDM Vol. 3A 10.9)
    NATSUME_PANIC("self-test exception %lu (error 0x%lx) at RIP 0x%lx, CR2 0x%lx", f->vector, f->error_code, f->rip,
                  x86::read_cr2());
}
