#include "arch/x86/ioapic_hw.hpp"

#include "drivers/x86/cpu.hpp"
#include "drivers/x86/ioapic.hpp"
#include "drivers/x86/pic8259.hpp"

#include "base/spinlock.hpp"

namespace natsume::x86::ioapic_hw {
namespace {
namespace hw                = drivers::ioapic;
constexpr auto ENTRY_MASKED = static_cast<uint32_t>(hw::MASKED), ENTRY_LEVEL = static_cast<uint32_t>(hw::LEVEL),
               ENTRY_REMOTE_IRR = static_cast<uint32_t>(hw::REMOTE_IRR);
constexpr uint32_t MAX_UNITS    = 8;

Unit units[MAX_UNITS];
uint32_t count;
Spinlock lock;  // IOREGSEL/IOWIN is a shared two-step protocol

uint32_t read_reg(const Unit& u, uint32_t reg) {
    hw::mmio(u.base, hw::Mmio::IOREGSEL) = reg;
    return hw::mmio(u.base, hw::Mmio::IOWIN);
}
void write_reg(const Unit& u, uint32_t reg, uint32_t v) {
    hw::mmio(u.base, hw::Mmio::IOREGSEL) = reg;
    hw::mmio(u.base, hw::Mmio::IOWIN)    = v;
}
}  // namespace

void add_unit(uint64_t base, uint32_t gsi_base) {
    if (count == MAX_UNITS) return;
    LockGuard g(lock);
    Unit& u      = units[count++];
    u.base       = base;
    u.gsi_base   = gsi_base;
    uint32_t ver = read_reg(u, hw::index(hw::Reg::VERSION));
    u.version    = hw::version_of(ver);
    u.pins       = static_cast<uint8_t>(hw::pin_count(ver));
    u.id         = hw::id_of(read_reg(u, hw::index(hw::Reg::ID)));
    for (uint32_t pin = 0; pin < u.pins; pin++) {
        write_reg(u, hw::redirection_low(pin), ENTRY_MASKED);
        write_reg(u, hw::redirection_high(pin), 0);
    }
}

void mask_legacy_pic() {
    struct Out {
        static void out8(uint16_t port, uint8_t v) { outb(port, v); }
    };
    drivers::pic8259::mask_all<Out>();
}

const Unit* unit_for_gsi(uint32_t gsi) {
    for (uint32_t i = 0; i < count; i++)
        if (gsi >= units[i].gsi_base && gsi < units[i].gsi_base + units[i].pins) return &units[i];
    return nullptr;
}

uint32_t unit_count() { return count; }
const Unit& unit(uint32_t i) { return units[i]; }

void write_entry(uint32_t gsi, uint32_t low, uint32_t high) {
    const Unit* u = unit_for_gsi(gsi);
    if (!u) return;
    uint32_t pin = gsi - u->gsi_base;
    LockGuard g(lock);
    write_reg(*u, hw::redirection_high(pin), high);
    write_reg(*u, hw::redirection_low(pin), low);
}

uint32_t read_entry_low(uint32_t gsi) {
    const Unit* u = unit_for_gsi(gsi);
    if (!u) return ENTRY_MASKED;
    LockGuard g(lock);
    return read_reg(*u, hw::redirection_low(gsi - u->gsi_base));
}

void set_masked(uint32_t gsi, bool masked) {
    const Unit* u = unit_for_gsi(gsi);
    if (!u) return;
    LockGuard g(lock);
    uint32_t reg = hw::redirection_low(gsi - u->gsi_base);
    uint32_t low = read_reg(*u, reg);
    write_reg(*u, reg, masked ? low | ENTRY_MASKED : low & ~ENTRY_MASKED);
}

void mask(uint32_t gsi) { set_masked(gsi, true); }

// Switching an entry to edge trigger clears its Remote IRR (82093AA
// datasheet 3.2.4); masked meanwhile, so the line cannot fire as an edge.
void eoi_pin(uint32_t gsi) {
    const Unit* u = unit_for_gsi(gsi);
    if (!u) return;
    LockGuard g(lock);
    uint32_t reg = hw::redirection_low(gsi - u->gsi_base);
    uint32_t low = read_reg(*u, reg);
    if (!(low & ENTRY_LEVEL) || !(low & ENTRY_REMOTE_IRR)) return;
    write_reg(*u, reg, (low | ENTRY_MASKED) & ~ENTRY_LEVEL);
    write_reg(*u, reg, low);
}

}  // namespace natsume::x86::ioapic_hw
