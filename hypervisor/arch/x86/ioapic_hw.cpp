#include "arch/x86/ioapic_hw.hpp"

#include "core/spinlock.hpp"

namespace natsume::x86::ioapic_hw {
namespace {
constexpr uint32_t IOREGSEL = 0x00, IOWIN = 0x10;
constexpr uint32_t REG_ID = 0x00, REG_VERSION = 0x01, REG_REDIR = 0x10;
constexpr uint32_t ENTRY_MASKED = 1u << 16, ENTRY_LEVEL = 1u << 15, ENTRY_REMOTE_IRR = 1u << 14;
constexpr uint32_t MAX_UNITS = 8;

Unit units[MAX_UNITS];
uint32_t count;
Spinlock lock;   // IOREGSEL/IOWIN is a shared two-step protocol

uint32_t read_reg(const Unit& u, uint32_t reg) {
    *reinterpret_cast<volatile uint32_t*>(u.base + IOREGSEL) = reg;
    return *reinterpret_cast<volatile uint32_t*>(u.base + IOWIN);
}
void write_reg(const Unit& u, uint32_t reg, uint32_t v) {
    *reinterpret_cast<volatile uint32_t*>(u.base + IOREGSEL) = reg;
    *reinterpret_cast<volatile uint32_t*>(u.base + IOWIN) = v;
}
}  // namespace

void add_unit(uint64_t base, uint32_t gsi_base) {
    if (count == MAX_UNITS) return;
    LockGuard g(lock);
    Unit& u = units[count++];
    u.base = base;
    u.gsi_base = gsi_base;
    uint32_t ver = read_reg(u, REG_VERSION);
    u.version = static_cast<uint8_t>(ver & 0xff);
    u.pins = static_cast<uint8_t>(((ver >> 16) & 0xff) + 1);
    u.id = static_cast<uint8_t>((read_reg(u, REG_ID) >> 24) & 0xf);
    for (uint32_t pin = 0; pin < u.pins; pin++) {
        write_reg(u, REG_REDIR + 2 * pin, ENTRY_MASKED);
        write_reg(u, REG_REDIR + 2 * pin + 1, 0);
    }
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
    write_reg(*u, REG_REDIR + 2 * pin + 1, high);
    write_reg(*u, REG_REDIR + 2 * pin, low);
}

uint32_t read_entry_low(uint32_t gsi) {
    const Unit* u = unit_for_gsi(gsi);
    if (!u) return ENTRY_MASKED;
    LockGuard g(lock);
    return read_reg(*u, REG_REDIR + 2 * (gsi - u->gsi_base));
}

void set_masked(uint32_t gsi, bool masked) {
    const Unit* u = unit_for_gsi(gsi);
    if (!u) return;
    LockGuard g(lock);
    uint32_t reg = REG_REDIR + 2 * (gsi - u->gsi_base);
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
    uint32_t reg = REG_REDIR + 2 * (gsi - u->gsi_base);
    uint32_t low = read_reg(*u, reg);
    if (!(low & ENTRY_LEVEL) || !(low & ENTRY_REMOTE_IRR)) return;
    write_reg(*u, reg, (low | ENTRY_MASKED) & ~ENTRY_LEVEL);
    write_reg(*u, reg, low);
}

}  // namespace natsume::x86::ioapic_hw
