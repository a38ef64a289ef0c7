#include "arch/x86/timing.hpp"

#include "drivers/x86/cpu.hpp"
#include "drivers/x86/cpuid.hpp"

#include "base/clock.hpp"
#include "lib/tsc_math.hpp"
#include "lib/tsc_sources.hpp"

namespace natsume::x86 {
namespace {
// PIT: 1.193182 MHz input clock; channel 2 gate and output on port 0x61.
constexpr uint32_t PIT_HZ  = 1193182;
constexpr uint16_t PIT_CH2 = 0x42, PIT_CMD = 0x43, PORT_B = 0x61;
constexpr uint32_t CALIBRATION_MS = 10;
constexpr uint64_t MAX_POLLS      = 50000000;
}  // namespace

uint64_t calibrate_tsc_khz() {
    const uint16_t count = static_cast<uint16_t>(PIT_HZ * CALIBRATION_MS / 1000);
    outb(PORT_B, static_cast<uint8_t>((inb(PORT_B) & ~0x02u) | 0x01u));  // gate on, speaker off
    outb(PIT_CMD, 0xb0);                                                 // ch2, lo/hi, mode 0
    outb(PIT_CH2, static_cast<uint8_t>(count & 0xff));
    outb(PIT_CH2, static_cast<uint8_t>(count >> 8));
    uint64_t t0    = rdtsc();
    uint64_t polls = 0;
    while (!(inb(PORT_B) & 0x20)) {
        if (++polls > MAX_POLLS) return 0;
    }
    uint64_t t1       = rdtsc();
    uint64_t measured = (t1 - t0) / CALIBRATION_MS;
    if (measured) clock::set_tsc_khz(measured);
    return measured;
}

namespace {

namespace ts = tsc_sources;

// Counts TSC ticks while `read()` (a counter `bits` wide at `hz`) advances by
// 10 ms; 0 when it does not move within the poll budget.
template <typename Read>
uint64_t measure_against(Read read, unsigned bits, uint64_t hz) {
    const uint64_t want = hz * CALIBRATION_MS / 1000;
    uint64_t start = read(), t0 = rdtsc(), moved = 0;
    for (uint64_t polls = 0; moved < want; polls++) {
        if (polls > MAX_POLLS) return 0;
        moved = ts::counter_delta(start, read(), bits);
    }
    return ts::khz_from_reference(rdtsc() - t0, moved, hz);
}

uint64_t hpet_khz(uint64_t base) {
    auto reg      = [base](uint32_t off) { return reinterpret_cast<volatile uint64_t*>(base + off); };
    uint64_t caps = *reg(ts::HPET_CAPABILITIES);
    uint64_t hz   = ts::hpet_hz(caps);
    if (!hz) return 0;
    // The hypervisor owns the HPET (no partition is given it): its main
    // counter may be started for the measurement.
    if (!(*reg(ts::HPET_CONFIG) & ts::HPET_ENABLE)) *reg(ts::HPET_CONFIG) = *reg(ts::HPET_CONFIG) | ts::HPET_ENABLE;
    bool wide = caps & ts::HPET_COUNT_64;
    return measure_against(
        [&] {
            return wide ? *reg(ts::HPET_COUNTER)
                        : uint64_t{*reinterpret_cast<volatile uint32_t*>(base + ts::HPET_COUNTER)};
        },
        wide ? 64 : 32, hz);
}

uint64_t pm_timer_khz(uint16_t port, unsigned bits) {
    return measure_against([port] { return uint64_t{inl(port)}; }, bits, ts::PM_TIMER_HZ);
}

uint64_t cpuid15_khz() {
    namespace leaf = drivers::cpuid::leaf;
    if (cpuid(leaf::BASIC).eax < leaf::TSC_CRYSTAL) return 0;
    CpuidResult r = cpuid(leaf::TSC_CRYSTAL);
    return ts::leaf15_khz(r.eax, r.ebx, r.ecx);
}

uint32_t cpuid16_base_mhz() {
    namespace leaf = drivers::cpuid::leaf;
    return cpuid(leaf::BASIC).eax >= leaf::FREQUENCY ? (cpuid(leaf::FREQUENCY).eax & 0xffff) : 0;
}

}  // namespace

const char* to_string(TscSource s) {
    switch (s) {
    case TscSource::Cpuid15: return "CPUID leaf 0x15";
    case TscSource::Hpet: return "the HPET";
    case TscSource::PmTimer: return "the ACPI PM timer";
    case TscSource::Pit: return "the PIT";
    case TscSource::None: return "nothing";
    }
    return "?";
}

TscCalibration calibrate_tsc(const TscReferences& refs) {
    TscCalibration c;
    c.base_mhz = cpuid16_base_mhz();
    if ((c.khz = cpuid15_khz()) != 0)
        c.source = TscSource::Cpuid15;
    else if (refs.hpet_base && (c.khz = hpet_khz(refs.hpet_base)) != 0)
        c.source = TscSource::Hpet;
    else if (refs.pm_port && (c.khz = pm_timer_khz(refs.pm_port, refs.pm_bits)) != 0)
        c.source = TscSource::PmTimer;
    else if ((c.khz = calibrate_tsc_khz()) != 0)
        c.source = TscSource::Pit;
    if (c.khz) clock::set_tsc_khz(c.khz);
    return c;
}

Deadline Deadline::in_us(uint64_t us) {
    Deadline d;
    d.end_ = rdtsc() + us_to_ticks(us, clock::tsc_khz());
    return d;
}

bool Deadline::expired() const { return rdtsc() >= end_; }

void delay_us(uint64_t us) {
    Deadline d = Deadline::in_us(us);
    while (!d.expired()) pause();
}

}  // namespace natsume::x86
