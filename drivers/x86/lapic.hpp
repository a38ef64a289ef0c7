// The local APIC's registers and the interrupt command register, as the
// architecture defines them (Intel SDM Vol. 3A chapter 10 "Advanced
// Programmable Interrupt Controller"): one definition for the hypervisor,
// its self-test and the guest kernel. Facts only: who may write what is
// the hypervisor's policy (hypervisor/vdev/icr_filter, lvt).
#pragma once
#include <stdint.h>

namespace natsume::drivers::lapic {

// Register offsets in the 4 KiB xAPIC page (SDM Table 10-1).
enum class Reg : uint32_t {
    Id           = 0x020,
    Version      = 0x030,
    Tpr          = 0x080,
    Eoi          = 0x0B0,
    Ldr          = 0x0D0,
    Dfr          = 0x0E0,
    Svr          = 0x0F0,
    Esr          = 0x280,
    LvtCmci      = 0x2F0,
    IcrLow       = 0x300,
    IcrHigh      = 0x310,
    LvtTimer     = 0x320,
    LvtThermal   = 0x330,
    LvtPerf      = 0x340,
    LvtLint0     = 0x350,
    LvtLint1     = 0x360,
    LvtError     = 0x370,
    TimerInitial = 0x380,
    TimerCurrent = 0x390,
    TimerDivide  = 0x3E0,
    SelfIpi      = 0x3F0,  // x2APIC only
};
constexpr uint32_t offset(Reg r) { return static_cast<uint32_t>(r); }

// x2APIC: register n of the xAPIC page is MSR 0x800 + n / 16 (SDM 10.12.1.2);
// the ICR is one 64-bit MSR (0x830).
inline constexpr uint32_t X2APIC_MSR_FIRST = 0x800, X2APIC_MSR_LAST = 0x8FF;
constexpr uint32_t x2apic_msr(Reg r) { return X2APIC_MSR_FIRST + offset(r) / 16; }
constexpr uint32_t x2apic_msr_of_offset(uint32_t page_offset) { return X2APIC_MSR_FIRST + page_offset / 16; }
constexpr uint32_t offset_of_x2apic_msr(uint32_t msr) { return (msr - X2APIC_MSR_FIRST) * 16; }
static_assert(x2apic_msr(Reg::IcrLow) == 0x830 && x2apic_msr(Reg::SelfIpi) == 0x83F);

// xAPIC: the APIC ID is in bits 31:24 of the ID register (SDM Figure 10-6);
// x2APIC: all 32 bits.
inline constexpr unsigned XAPIC_ID_SHIFT = 24;

// The xAPIC page's architectural default address (SDM 10.4.1).
inline constexpr uint64_t XAPIC_DEFAULT_BASE = 0xFEE00000;
inline constexpr uint64_t XAPIC_PAGE_SIZE    = 0x1000;

// Spurious-interrupt vector register: software enable (SDM 10.9).
inline constexpr uint32_t SVR_ENABLE = 1u << 8;

// Local vector table entries (SDM Figure 10-8): vector 7:0, delivery mode
// 10:8 (CMCI, thermal, performance, LINT0/1 only), mask 16, timer mode 18:17.
namespace lvt {
inline constexpr uint32_t VECTOR_MASK    = 0xFF;
inline constexpr unsigned DELIVERY_SHIFT = 8;
inline constexpr uint32_t DELIVERY_MASK  = 0x7u << DELIVERY_SHIFT;
inline constexpr uint32_t MASKED         = 1u << 16;
inline constexpr uint32_t TIMER_ONE_SHOT = 0u << 17, TIMER_PERIODIC = 1u << 17, TIMER_TSC_DEADLINE = 2u << 17;
// Delivery modes of the entries that have one (111b is ExtINT here, reserved in the ICR).
enum class Delivery : uint8_t { Fixed = 0, Smi = 2, Nmi = 4, Init = 5, ExtInt = 7 };
constexpr uint32_t delivery(Delivery d) { return uint32_t(d) << DELIVERY_SHIFT; }
}  // namespace lvt
// Divide configuration register: 1011b divides by 1 (SDM Figure 10-10).
inline constexpr uint32_t TIMER_DIVIDE_BY_1 = 0xB;

// Interrupt command register (SDM 10.6.1, Figure 10-12; x2APIC form 10.12.9:
// one 64-bit MSR, 32-bit destination in bits 63:32).
namespace icr {
inline constexpr uint64_t VECTOR_MASK       = 0xFF;
inline constexpr unsigned DELIVERY_SHIFT    = 8;
inline constexpr uint64_t DELIVERY_MASK     = 0x7ull << DELIVERY_SHIFT;
inline constexpr uint64_t DEST_LOGICAL      = 1ull << 11;
inline constexpr uint64_t DELIVERY_PENDING  = 1ull << 12;  // xAPIC only
inline constexpr uint64_t LEVEL_ASSERT      = 1ull << 14;
inline constexpr uint64_t TRIGGER_LEVEL     = 1ull << 15;
inline constexpr unsigned SHORTHAND_SHIFT   = 18;
inline constexpr uint64_t SHORTHAND_MASK    = 0x3ull << SHORTHAND_SHIFT;
inline constexpr unsigned XAPIC_DEST_SHIFT  = 24;  // in the high dword
inline constexpr unsigned X2APIC_DEST_SHIFT = 32;
// x2APIC: bits 12, 13, 16, 17 and 31:20 are reserved; setting one is #GP (SDM 10.12.9).
inline constexpr uint64_t X2APIC_RESERVED  = 0x00000000FFF33000ull;
inline constexpr uint32_t XAPIC_BROADCAST  = 0xFF;
inline constexpr uint32_t X2APIC_BROADCAST = 0xFFFFFFFF;
}  // namespace icr

enum class DeliveryMode : uint8_t {
    Fixed          = 0,
    LowestPriority = 1,
    Smi            = 2,
    Reserved3      = 3,
    Nmi            = 4,
    Init           = 5,
    Startup        = 6,
    Reserved7      = 7,
};
enum class Shorthand : uint8_t { None = 0, Self = 1, AllIncludingSelf = 2, AllExcludingSelf = 3 };

// One interrupt command, xAPIC or x2APIC: a value type with named fields.
struct Icr {
    uint64_t raw;

    static constexpr Icr make(uint8_t vector, DeliveryMode mode, uint32_t x2apic_destination = 0) {
        return Icr{uint64_t{vector} | uint64_t(mode) << icr::DELIVERY_SHIFT |
                   uint64_t{x2apic_destination} << icr::X2APIC_DEST_SHIFT};
    }
    constexpr uint8_t vector() const { return static_cast<uint8_t>(raw & icr::VECTOR_MASK); }
    constexpr DeliveryMode mode() const {
        return static_cast<DeliveryMode>((raw & icr::DELIVERY_MASK) >> icr::DELIVERY_SHIFT);
    }
    constexpr Shorthand shorthand() const {
        return static_cast<Shorthand>((raw & icr::SHORTHAND_MASK) >> icr::SHORTHAND_SHIFT);
    }
    constexpr bool logical() const { return (raw & icr::DEST_LOGICAL) != 0; }
    constexpr uint32_t low() const { return static_cast<uint32_t>(raw); }
    constexpr uint32_t x2apic_destination() const { return static_cast<uint32_t>(raw >> icr::X2APIC_DEST_SHIFT); }
    // The xAPIC high dword for a destination (bits 31:24).
    static constexpr uint32_t xapic_high(uint32_t apic_id) { return apic_id << icr::XAPIC_DEST_SHIFT; }
    static constexpr uint32_t xapic_destination(uint32_t high) { return high >> icr::XAPIC_DEST_SHIFT; }
};
static_assert(Icr::make(0x40, DeliveryMode::Init, 3).raw == 0x0000000300000540ull);

}  // namespace natsume::drivers::lapic
