#include "arch/x86/lapic.hpp"

#include "arch/x86/cpu.hpp"
#include "arch/x86/timing.hpp"
#include "arch/x86/vmx_defs.hpp"

namespace natsume::x86::lapic {
namespace {
// Register offsets (xAPIC MMIO; x2APIC MSR = 0x800 + offset / 16), SDM Table 10-1.
constexpr uint32_t REG_ID = 0x20, REG_EOI = 0xb0, REG_SVR = 0xf0, REG_ICR_LO = 0x300,
                   REG_ICR_HI = 0x310, REG_LINT0 = 0x350, REG_LINT1 = 0x360;
constexpr uint32_t SVR_ENABLE = 1u << 8, SPURIOUS_VECTOR = 0xff;
constexpr uint32_t LVT_MASKED = 1u << 16;
constexpr uint32_t ICR_DELIVERY_PENDING = 1u << 12, ICR_LEVEL_ASSERT = 1u << 14;
constexpr uint32_t DM_FIXED = 0u << 8, DM_NMI = 4u << 8, DM_INIT = 5u << 8, DM_STARTUP = 6u << 8;
constexpr uint64_t ICR_TIMEOUT_US = 10000;

uint64_t base() { return rdmsr(msr::IA32_APIC_BASE) & apic_base::ADDRESS_MASK; }

uint32_t read(uint32_t reg) {
    if (x2apic_mode()) return static_cast<uint32_t>(rdmsr(msr::X2APIC_FIRST + reg / 16));
    return *reinterpret_cast<volatile uint32_t*>(base() + reg);
}
void write(uint32_t reg, uint32_t v) {
    if (x2apic_mode()) { wrmsr(msr::X2APIC_FIRST + reg / 16, v); return; }
    *reinterpret_cast<volatile uint32_t*>(base() + reg) = v;
}

bool send(uint32_t apic_id, uint32_t command) {
    if (x2apic_mode()) {
        // x2APIC ICR is one 64-bit MSR and has no delivery-status bit.
        wrmsr(msr::X2APIC_ICR, (uint64_t(apic_id) << 32) | command);
        return true;
    }
    if (!wait_until(ICR_TIMEOUT_US, [] { return !(read(REG_ICR_LO) & ICR_DELIVERY_PENDING); }))
        return false;
    // A partition core's xAPIC is the guest's: it may be between writing the
    // ICR's high and low halves when it exits. Its destination is put back.
    uint32_t guest_high = read(REG_ICR_HI);
    write(REG_ICR_HI, apic_id << 24);
    write(REG_ICR_LO, command);
    bool sent = wait_until(ICR_TIMEOUT_US, [] { return !(read(REG_ICR_LO) & ICR_DELIVERY_PENDING); });
    write(REG_ICR_HI, guest_high);
    return sent;
}
}  // namespace

bool x2apic_mode() { return rdmsr(msr::IA32_APIC_BASE) & apic_base::X2APIC_ENABLE; }
uint64_t mmio_base() { return base(); }

void init_this_core() {
    uint64_t b = rdmsr(msr::IA32_APIC_BASE);
    if (!(b & apic_base::GLOBAL_ENABLE)) wrmsr(msr::IA32_APIC_BASE, b | apic_base::GLOBAL_ENABLE);
    write(REG_SVR, SVR_ENABLE | SPURIOUS_VECTOR);
    write(REG_LINT0, LVT_MASKED);
    write(REG_LINT1, LVT_MASKED);
}

uint32_t id() {
    if (x2apic_mode()) return read(REG_ID);
    return read(REG_ID) >> 24;
}

void eoi() { write(REG_EOI, 0); }

bool send_init(uint32_t apic_id) { return send(apic_id, DM_INIT | ICR_LEVEL_ASSERT); }
bool send_sipi(uint32_t apic_id, uint8_t page) { return send(apic_id, DM_STARTUP | ICR_LEVEL_ASSERT | page); }
bool send_fixed(uint32_t apic_id, uint8_t vector) { return send(apic_id, DM_FIXED | ICR_LEVEL_ASSERT | vector); }
bool send_nmi(uint32_t apic_id) { return send(apic_id, DM_NMI | ICR_LEVEL_ASSERT); }

}  // namespace natsume::x86::lapic
