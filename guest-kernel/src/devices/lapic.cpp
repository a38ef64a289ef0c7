#include "devices/lapic.h"

#include "drivers/x86/cpuid.hpp"
#include "drivers/x86/lapic.hpp"
#include "drivers/x86/msr.hpp"

#include "arch/cpu.h"
#include "lib/timer_math.h"

namespace natsume::guest::lapic {
namespace {

// Registers, LVT and ICR fields, MSR numbers, CPUID bits: drivers/x86 (one
// definition with the hypervisor's). cpu::cpuid is the instruction.
namespace hw         = natsume::drivers::lapic;
namespace msr        = natsume::drivers::msr;
namespace cpuid_bits = natsume::drivers::cpuid;
using hw::Reg;

constexpr uint32_t LVT_MASKED = hw::lvt::MASKED;
constexpr auto ICR_PENDING    = static_cast<uint32_t>(hw::icr::DELIVERY_PENDING);

constexpr uint64_t CALIBRATION_US = 10000;

bool g_x2apic        = false;
uintptr_t g_mmio     = 0;
uint64_t g_timer_khz = 0;

uint32_t read(Reg r) {
    if (g_x2apic) return static_cast<uint32_t>(cpu::rdmsr(hw::x2apic_msr(r)));
    return *reinterpret_cast<volatile uint32_t*>(g_mmio + hw::offset(r));
}

void write(Reg r, uint32_t v) {
    if (g_x2apic)
        cpu::wrmsr(hw::x2apic_msr(r), v);
    else
        *reinterpret_cast<volatile uint32_t*>(g_mmio + hw::offset(r)) = v;
}

}  // namespace

Status init(uint8_t spurious_vector, bool switch_to_x2apic) {
    cpu::CpuidResult l1 = cpu::cpuid(cpuid_bits::leaf::FEATURES);
    if (!(l1.edx & cpuid_bits::edx1::APIC)) return Status::NotPresent;
    uint64_t base = cpu::rdmsr(msr::IA32_APIC_BASE);
    if (!(base & msr::apic_base::GLOBAL_ENABLE)) {
        base |= msr::apic_base::GLOBAL_ENABLE;
        cpu::wrmsr(msr::IA32_APIC_BASE, base);
    }
    // xAPIC -> x2APIC is a legal transition from the enabled state (SDM
    // Vol. 3A, x2APIC state transitions).
    if (switch_to_x2apic && (l1.ecx & cpuid_bits::ecx1::X2APIC) && !(base & msr::apic_base::X2APIC_ENABLE)) {
        base |= msr::apic_base::X2APIC_ENABLE;
        cpu::wrmsr(msr::IA32_APIC_BASE, base);
    }
    g_x2apic = (l1.ecx & cpuid_bits::ecx1::X2APIC) && (base & msr::apic_base::X2APIC_ENABLE);
    g_mmio   = base & msr::apic_base::ADDRESS_MASK;
    write(Reg::Tpr, 0);
    write(Reg::LvtTimer, LVT_MASKED);
    write(Reg::Svr, hw::SVR_ENABLE | spurious_vector);
    return Status::Ok;
}

bool x2apic() { return g_x2apic; }

uint32_t id() {
    uint32_t v = read(Reg::Id);
    return g_x2apic ? v : v >> hw::XAPIC_ID_SHIFT;
}

void eoi() { write(Reg::Eoi, 0); }

Status calibrate_timer(uint64_t tsc_khz) {
    if (tsc_khz == 0) return Status::CalibrationFailed;
    write(Reg::TimerDivide, hw::TIMER_DIVIDE_BY_1);
    write(Reg::LvtTimer, LVT_MASKED);
    uint64_t window = tsc_khz * CALIBRATION_US / 1000;
    uint64_t start  = cpu::rdtsc();
    write(Reg::TimerInitial, 0xffffffffu);
    uint64_t now;
    do { now = cpu::rdtsc(); } while (now - start < window);
    uint32_t left = read(Reg::TimerCurrent);
    write(Reg::TimerInitial, 0);
    g_timer_khz = timer_math::khz_from_tsc_window(0xffffffffu - left, now - start, tsc_khz);
    return g_timer_khz == 0 ? Status::CalibrationFailed : Status::Ok;
}

uint64_t timer_khz() { return g_timer_khz; }

void start_timer(TimerMode mode, uint8_t vector, uint64_t period_us) {
    write(Reg::TimerDivide, hw::TIMER_DIVIDE_BY_1);
    write(Reg::LvtTimer, vector | (mode == TimerMode::Periodic ? hw::lvt::TIMER_PERIODIC : 0));
    write(Reg::TimerInitial, timer_math::lapic_count_for_us(g_timer_khz, period_us));
}

void stop_timer() {
    write(Reg::LvtTimer, LVT_MASKED);
    write(Reg::TimerInitial, 0);
}

uint32_t timer_current_count() { return read(Reg::TimerCurrent); }

bool has_tsc_deadline() { return cpuid_bits::has_ecx1(cpuid_bits::ecx1::TSC_DEADLINE); }

// The LVT must be in TSC-deadline mode before the MSR write arms it (SDM
// Vol. 3A, "TSC-Deadline Mode").
void arm_tsc_deadline(uint8_t vector, uint64_t tsc) {
    write(Reg::LvtTimer, vector | hw::lvt::TIMER_TSC_DEADLINE);
    asm volatile("mfence" ::: "memory");
    cpu::wrmsr(msr::IA32_TSC_DEADLINE, tsc);
}

void arm_oneshot_counts(uint8_t vector, uint32_t counts) {
    write(Reg::TimerDivide, hw::TIMER_DIVIDE_BY_1);
    write(Reg::LvtTimer, vector);
    write(Reg::TimerInitial, counts);
}

uint64_t icr_value(uint32_t dest, Ipi kind, uint8_t vector) {
    uint64_t value = kind == Ipi::Init ? hw::Icr::make(0, hw::DeliveryMode::Init).raw | hw::icr::LEVEL_ASSERT
                                       : hw::Icr::make(vector, hw::DeliveryMode::Fixed).raw;
    return g_x2apic ? (uint64_t{dest} << hw::icr::X2APIC_DEST_SHIFT | value) : value;
}

uint32_t icr_msr() { return hw::x2apic_msr(Reg::IcrLow); }
uintptr_t icr_low_address() { return g_mmio + hw::offset(Reg::IcrLow); }
uintptr_t icr_high_address() { return g_mmio + hw::offset(Reg::IcrHigh); }

bool icr_idle(uint64_t max_polls) {
    if (g_x2apic) return true;  // x2APIC has no delivery-status bit
    for (uint64_t i = 0; i < max_polls; ++i)
        if (!(read(Reg::IcrLow) & ICR_PENDING)) return true;
    return false;
}

}  // namespace natsume::guest::lapic
