#include "arch/x86/lapic.hpp"

#include "drivers/x86/cpu.hpp"

#include "arch/x86/host_layout.h"
#include "arch/x86/timing.hpp"
#include "arch/x86/vmx_defs.hpp"

namespace natsume::x86::lapic {
namespace {
namespace reg = drivers::lapic;
using reg::Reg;
constexpr uint32_t SPURIOUS_VECTOR  = HOST_VECTOR_SPURIOUS;
constexpr auto ICR_DELIVERY_PENDING = static_cast<uint32_t>(reg::icr::DELIVERY_PENDING);
constexpr uint32_t icr_command(reg::DeliveryMode mode, uint8_t vector = 0) {
    return reg::Icr::make(vector, mode).low() | static_cast<uint32_t>(reg::icr::LEVEL_ASSERT);
}
constexpr uint64_t ICR_TIMEOUT_US = 10000;

uint64_t base() { return rdmsr(msr::IA32_APIC_BASE) & apic_base::ADDRESS_MASK; }

uint32_t read(Reg r) {
    if (x2apic_mode()) return static_cast<uint32_t>(rdmsr(reg::x2apic_msr(r)));
    return *reinterpret_cast<volatile uint32_t*>(base() + reg::offset(r));
}
void write(Reg r, uint32_t v) {
    if (x2apic_mode()) {
        wrmsr(reg::x2apic_msr(r), v);
        return;
    }
    *reinterpret_cast<volatile uint32_t*>(base() + reg::offset(r)) = v;
}

bool send(uint32_t apic_id, uint32_t command) {
    if (x2apic_mode()) {
        // x2APIC ICR is one 64-bit MSR and has no delivery-status bit.
        wrmsr(msr::X2APIC_ICR, (uint64_t(apic_id) << reg::icr::X2APIC_DEST_SHIFT) | command);
        return true;
    }
    if (!wait_until(ICR_TIMEOUT_US, [] { return !(read(Reg::IcrLow) & ICR_DELIVERY_PENDING); })) return false;
    // A partition core's xAPIC is the guest's: it may be between writing the
    // ICR's high and low halves when it exits. Its destination is put back.
    uint32_t guest_high = read(Reg::IcrHigh);
    write(Reg::IcrHigh, reg::Icr::xapic_high(apic_id));
    write(Reg::IcrLow, command);
    bool sent = wait_until(ICR_TIMEOUT_US, [] { return !(read(Reg::IcrLow) & ICR_DELIVERY_PENDING); });
    write(Reg::IcrHigh, guest_high);
    return sent;
}
}  // namespace

uint64_t measure_timer_khz(uint64_t tsc_khz, uint64_t window_tsc) {
    write(Reg::LvtTimer, reg::lvt::MASKED | reg::lvt::TIMER_ONE_SHOT);
    write(Reg::TimerDivide, reg::TIMER_DIVIDE_BY_1);
    write(Reg::TimerInitial, 0xffffffffu);
    const uint64_t t0 = rdtsc();
    while (rdtsc() - t0 < window_tsc) asm volatile("pause");
    const uint32_t left = read(Reg::TimerCurrent);
    const uint64_t t1   = rdtsc();
    write(Reg::TimerInitial, 0);
    const uint64_t counted = 0xffffffffull - left;
    return t1 > t0 ? counted * tsc_khz / (t1 - t0) : 0;
}

bool x2apic_mode() { return rdmsr(msr::IA32_APIC_BASE) & apic_base::X2APIC_ENABLE; }
uint64_t mmio_base() { return base(); }

void init_this_core() {
    uint64_t b = rdmsr(msr::IA32_APIC_BASE);
    if (!(b & apic_base::GLOBAL_ENABLE)) wrmsr(msr::IA32_APIC_BASE, b | apic_base::GLOBAL_ENABLE);
    write(Reg::Svr, reg::SVR_ENABLE | SPURIOUS_VECTOR);
    write(Reg::LvtLint0, reg::lvt::MASKED);
    write(Reg::LvtLint1, reg::lvt::MASKED);
}

uint32_t id() {
    if (x2apic_mode()) return read(Reg::Id);
    return read(Reg::Id) >> reg::XAPIC_ID_SHIFT;
}

void eoi() { write(Reg::Eoi, 0); }

bool send_init(uint32_t apic_id) { return send(apic_id, icr_command(reg::DeliveryMode::Init)); }
bool send_sipi(uint32_t apic_id, uint8_t page) { return send(apic_id, icr_command(reg::DeliveryMode::Startup, page)); }
bool send_nmi(uint32_t apic_id) { return send(apic_id, icr_command(reg::DeliveryMode::Nmi)); }
bool send_fixed(uint32_t apic_id, uint8_t vector) {
    return send(apic_id, icr_command(reg::DeliveryMode::Fixed, vector));
}

}  // namespace natsume::x86::lapic
