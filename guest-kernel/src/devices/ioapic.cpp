#include "devices/ioapic.h"

#include "arch/paging.h"
#include "boot/boot.h"
#include "devices/acpi.h"
#include "devices/lapic.h"

namespace natsume::guest::ioapic {
namespace {

constexpr uint64_t DEFAULT_BASE = 0xfec00000;

uint64_t g_base = 0;
unsigned g_pins = 0;

// One index/data pair at a time: interrupts off so no handler interleaves.
struct IrqGuard {
    uint64_t flags;
    IrqGuard() { asm volatile("pushfq; popq %0; cli" : "=r"(flags)::"memory"); }
    ~IrqGuard() { asm volatile("pushq %0; popfq" ::"r"(flags) : "memory", "cc"); }
};

uint32_t read_reg(uint32_t index) {
    IrqGuard g;
    mmio(g_base, Mmio::IOREGSEL) = index;
    return mmio(g_base, Mmio::IOWIN);
}

void write_reg(uint32_t index, uint32_t v) {
    IrqGuard g;
    mmio(g_base, Mmio::IOREGSEL) = index;
    mmio(g_base, Mmio::IOWIN)    = v;
}

uint64_t locate() {
    const boot::Context& c = boot::context();
    if (c.mode == boot::Mode::Partition) return c.ioapic_gpa;
    uint64_t madt = acpi::ioapic_address();
    return madt ? madt : DEFAULT_BASE;
}

}  // namespace

Status init() {
    if (g_base) return Status::Ok;
    uint64_t b = locate();
    if (b == 0) return Status::NoIoapic;
    paging::map_uncached(b, PAGE_SIZE);
    g_base = b;
    g_pins = pin_count(read_reg(index(Reg::VERSION)));
    return Status::Ok;
}

uint64_t base() { return g_base; }
unsigned pins() { return g_pins; }

uint64_t read_entry(unsigned pin) {
    uint64_t lo = read_reg(redirection_low(pin));
    uint64_t hi = read_reg(redirection_high(pin));
    return lo | hi << 32;
}

// Masked low half first, then the destination, then the final low half: the
// entry is never live with a half-written destination.
void write_entry(unsigned pin, uint64_t entry) {
    write_reg(redirection_low(pin), static_cast<uint32_t>(entry) | static_cast<uint32_t>(MASKED));
    write_reg(redirection_high(pin), static_cast<uint32_t>(entry >> 32));
    write_reg(redirection_low(pin), static_cast<uint32_t>(entry));
}

Status route_pci_intx(unsigned pin, uint8_t vector) {
    if (!g_base) return Status::NoIoapic;
    if (pin >= g_pins) return Status::BadPin;
    // Physical destination mode takes an 8-bit APIC ID in both xAPIC and
    // x2APIC mode (without interrupt remapping, which the hypervisor owns).
    write_entry(pin, encode(pci_intx(vector, static_cast<uint8_t>(lapic::id()))));
    return Status::Ok;
}

void mask(unsigned pin) { write_reg(redirection_low(pin), static_cast<uint32_t>(read_entry(pin) | MASKED)); }

void unmask(unsigned pin) { write_reg(redirection_low(pin), static_cast<uint32_t>(read_entry(pin) & ~MASKED)); }

}  // namespace natsume::guest::ioapic
