#include "lapic.h"

#include "cpu.h"
#include "timer_math.h"

namespace lapic {
namespace {

// Register offsets in the xAPIC page; the x2APIC MSR is 0x800 + offset / 16
// (SDM Vol. 3A, APIC chapter: "Local APIC Register Address Map" and
// "x2APIC Register Address Space").
enum class Reg : uint32_t {
    Id = 0x020,
    Tpr = 0x080,
    Eoi = 0x0b0,
    Svr = 0x0f0,
    IcrLow = 0x300,
    IcrHigh = 0x310,
    LvtTimer = 0x320,
    TimerInitial = 0x380,
    TimerCurrent = 0x390,
    TimerDivide = 0x3e0,
};

constexpr uint32_t kMsrApicBase = 0x1b;
constexpr uint64_t kApicBaseEnable = 1ull << 11;
constexpr uint64_t kApicBaseX2 = 1ull << 10;
constexpr uint64_t kApicBaseAddrMask = 0xffffff000ull;
constexpr uint32_t kMsrX2apicFirst = 0x800;
constexpr uint32_t kCpuid1EdxApic = 1u << 9;
constexpr uint32_t kCpuid1EcxX2apic = 1u << 21;

constexpr uint32_t kSvrEnable = 1u << 8;
constexpr uint32_t kLvtMasked = 1u << 16;
constexpr uint32_t kLvtPeriodic = 1u << 17;  // timer mode bits 18:17 = 01
constexpr uint32_t kDivideBy1 = 0xb;         // divide configuration 1011b
constexpr uint32_t kLvtTscDeadline = 2u << 17;  // timer mode 10b
constexpr uint32_t kMsrTscDeadline = 0x6e0;      // IA32_TSC_DEADLINE
constexpr uint32_t kCpuid1EcxTscDeadline = 1u << 24;
// ICR (SDM Vol. 3A, "Interrupt Command Register"): delivery mode 10:8
// (000 fixed, 101 INIT), delivery status 12, level 14 (assert).
constexpr uint32_t kIcrInit = 5u << 8;
constexpr uint32_t kIcrPending = 1u << 12;
constexpr uint32_t kIcrAssert = 1u << 14;

constexpr uint64_t kCalibrationUs = 10000;

bool g_x2apic = false;
uintptr_t g_mmio = 0;
uint64_t g_timer_khz = 0;

uint32_t read(Reg r)
{
    auto off = static_cast<uint32_t>(r);
    if (g_x2apic)
        return static_cast<uint32_t>(cpu::rdmsr(kMsrX2apicFirst + off / 16));
    return *reinterpret_cast<volatile uint32_t*>(g_mmio + off);
}

void write(Reg r, uint32_t v)
{
    auto off = static_cast<uint32_t>(r);
    if (g_x2apic)
        cpu::wrmsr(kMsrX2apicFirst + off / 16, v);
    else
        *reinterpret_cast<volatile uint32_t*>(g_mmio + off) = v;
}

}  // namespace

Status init(uint8_t spurious_vector, bool switch_to_x2apic)
{
    cpu::CpuidResult l1 = cpu::cpuid(1);
    if (!(l1.edx & kCpuid1EdxApic))
        return Status::NotPresent;
    uint64_t base = cpu::rdmsr(kMsrApicBase);
    if (!(base & kApicBaseEnable)) {
        base |= kApicBaseEnable;
        cpu::wrmsr(kMsrApicBase, base);
    }
    // xAPIC -> x2APIC is a legal transition from the enabled state (SDM
    // Vol. 3A, x2APIC state transitions).
    if (switch_to_x2apic && (l1.ecx & kCpuid1EcxX2apic) && !(base & kApicBaseX2)) {
        base |= kApicBaseX2;
        cpu::wrmsr(kMsrApicBase, base);
    }
    g_x2apic = (l1.ecx & kCpuid1EcxX2apic) && (base & kApicBaseX2);
    g_mmio = base & kApicBaseAddrMask;
    write(Reg::Tpr, 0);
    write(Reg::LvtTimer, kLvtMasked);
    write(Reg::Svr, kSvrEnable | spurious_vector);
    return Status::Ok;
}

bool x2apic() { return g_x2apic; }

uint32_t id()
{
    uint32_t v = read(Reg::Id);
    return g_x2apic ? v : v >> 24;  // xAPIC: ID in bits 31:24
}

void eoi() { write(Reg::Eoi, 0); }

Status calibrate_timer(uint64_t tsc_khz)
{
    if (tsc_khz == 0)
        return Status::CalibrationFailed;
    write(Reg::TimerDivide, kDivideBy1);
    write(Reg::LvtTimer, kLvtMasked);
    uint64_t window = tsc_khz * kCalibrationUs / 1000;
    uint64_t start = cpu::rdtsc();
    write(Reg::TimerInitial, 0xffffffffu);
    uint64_t now;
    do {
        now = cpu::rdtsc();
    } while (now - start < window);
    uint32_t left = read(Reg::TimerCurrent);
    write(Reg::TimerInitial, 0);
    g_timer_khz = timer_math::khz_from_tsc_window(0xffffffffu - left, now - start, tsc_khz);
    return g_timer_khz == 0 ? Status::CalibrationFailed : Status::Ok;
}

uint64_t timer_khz() { return g_timer_khz; }

void start_timer(TimerMode mode, uint8_t vector, uint64_t period_us)
{
    write(Reg::TimerDivide, kDivideBy1);
    write(Reg::LvtTimer, vector | (mode == TimerMode::Periodic ? kLvtPeriodic : 0));
    write(Reg::TimerInitial, timer_math::lapic_count_for_us(g_timer_khz, period_us));
}

void stop_timer()
{
    write(Reg::LvtTimer, kLvtMasked);
    write(Reg::TimerInitial, 0);
}

uint32_t timer_current_count() { return read(Reg::TimerCurrent); }

bool has_tsc_deadline() { return cpu::cpuid(1).ecx & kCpuid1EcxTscDeadline; }

// The LVT must be in TSC-deadline mode before the MSR write arms it (SDM
// Vol. 3A, "TSC-Deadline Mode").
void arm_tsc_deadline(uint8_t vector, uint64_t tsc)
{
    write(Reg::LvtTimer, vector | kLvtTscDeadline);
    asm volatile("mfence" ::: "memory");
    cpu::wrmsr(kMsrTscDeadline, tsc);
}

void arm_oneshot_counts(uint8_t vector, uint32_t counts)
{
    write(Reg::TimerDivide, kDivideBy1);
    write(Reg::LvtTimer, vector);
    write(Reg::TimerInitial, counts);
}

uint64_t icr_value(uint32_t dest, Ipi kind, uint8_t vector)
{
    uint32_t lo = kind == Ipi::Init ? (kIcrInit | kIcrAssert) : vector;
    return g_x2apic ? (uint64_t{dest} << 32 | lo) : lo;
}

uint32_t icr_msr() { return kMsrX2apicFirst + static_cast<uint32_t>(Reg::IcrLow) / 16; }
uintptr_t icr_low_address() { return g_mmio + static_cast<uint32_t>(Reg::IcrLow); }
uintptr_t icr_high_address() { return g_mmio + static_cast<uint32_t>(Reg::IcrHigh); }

bool icr_idle(uint64_t max_polls)
{
    if (g_x2apic)
        return true;  // x2APIC has no delivery-status bit
    for (uint64_t i = 0; i < max_polls; ++i)
        if (!(read(Reg::IcrLow) & kIcrPending))
            return true;
    return false;
}

}  // namespace lapic
