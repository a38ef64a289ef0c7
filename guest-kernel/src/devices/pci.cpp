#include "devices/pci.h"

#include <stdio.h>

#include "drivers/pci/cf8.hpp"

#include "arch/cpu.h"
#include "boot/boot.h"

namespace natsume::guest::pci {
namespace {

constexpr unsigned MAX_BRIDGE_DEPTH = 4;

// Interrupts off around the address/data pair so no handler's access can
// slip in between.
struct IrqGuard {
    uint64_t flags;
    IrqGuard() { asm volatile("pushfq; popq %0; cli" : "=r"(flags)::"memory"); }
    ~IrqGuard() { asm volatile("pushq %0; popfq" ::"r"(flags) : "memory", "cc"); }
};

unsigned scan_bus(unsigned bus, unsigned depth, void (*fn)(const Function&, void*), void* ctx);

unsigned scan_function(uint16_t bdf, unsigned depth, void (*fn)(const Function&, void*), void* ctx) {
    Function f;
    if (!probe(bdf, f)) return 0;
    fn(f, ctx);
    unsigned n     = 1;
    uint8_t header = read8(bdf, HEADER_TYPE);
    if ((header & HEADER_LAYOUT_MASK) == HEADER_BRIDGE && depth < MAX_BRIDGE_DEPTH) {
        unsigned secondary = read8(bdf, SECONDARY_BUS);
        if (secondary != 0 && secondary != bdf_bus(bdf)) n += scan_bus(secondary, depth + 1, fn, ctx);
    }
    return n;
}

unsigned scan_bus(unsigned bus, unsigned depth, void (*fn)(const Function&, void*), void* ctx) {
    unsigned n = 0;
    for (unsigned dev = 0; dev < 32; ++dev) {
        uint16_t fn0 = make_bdf(bus, dev, 0);
        if (read16(fn0, VENDOR_ID) == 0xffff) continue;
        bool multi = read8(fn0, HEADER_TYPE) & HEADER_MULTI_FUNCTION;
        for (unsigned f = 0; f < (multi ? 8u : 1u); ++f) n += scan_function(make_bdf(bus, dev, f), depth, fn, ctx);
    }
    return n;
}

void print_one(const Function& f, void*) {
    printf("natsume-guest: pci %02x:%02x.%x %04x:%04x class=%06lx irq_line=%u pin=%u\n", bdf_bus(f.bdf), bdf_dev(f.bdf),
           bdf_fn(f.bdf), f.vendor, f.device, static_cast<unsigned long>(f.class_rev >> 8), f.irq_line, f.irq_pin);
}

struct FindCtx {
    uint16_t vendor, device;
    bool found;
    Function* out;
};

void match_one(const Function& f, void* p) {
    auto* c = static_cast<FindCtx*>(p);
    if (!c->found && f.vendor == c->vendor && f.device == c->device) {
        *c->out  = f;
        c->found = true;
    }
}

}  // namespace

uint32_t read32(uint16_t bdf, uint8_t offset) {
    IrqGuard g;
    return cf8::read32(bdf, offset);
}

uint16_t read16(uint16_t bdf, uint8_t offset) {
    return static_cast<uint16_t>(read32(bdf, offset) >> ((offset & 2) * 8));
}

uint8_t read8(uint16_t bdf, uint8_t offset) { return static_cast<uint8_t>(read32(bdf, offset) >> ((offset & 3) * 8)); }

void write32(uint16_t bdf, uint8_t offset, uint32_t v) {
    IrqGuard g;
    cf8::write32(bdf, offset, v);
}

// Read-modify-write of the containing dword. For the command register this
// also writes the status register's RW1C bits with what was read; writing
// back 0 there is avoided by masking them out.
void write16(uint16_t bdf, uint8_t offset, uint16_t v) {
    unsigned shift = (offset & 2) * 8;
    uint32_t d     = read32(bdf, offset);
    if ((offset & 0xfc) == COMMAND) d &= 0x0000ffffu;  // status bits are write-1-to-clear: write zeros
    d = (d & ~(0xffffu << shift)) | (uint32_t{v} << shift);
    write32(bdf, offset, d);
}

bool probe(uint16_t bdf, Function& out) {
    uint32_t id = read32(bdf, VENDOR_ID);
    if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0) return false;
    out.bdf       = bdf;
    out.vendor    = static_cast<uint16_t>(id);
    out.device    = static_cast<uint16_t>(id >> 16);
    out.class_rev = read32(bdf, REVISION_ID);
    out.irq_line  = read8(bdf, INTERRUPT_LINE);
    out.irq_pin   = read8(bdf, INTERRUPT_PIN);
    return true;
}

unsigned enumerate(void (*fn)(const Function&, void*), void* ctx) { return scan_bus(0, 0, fn, ctx); }

unsigned print_all() { return enumerate(print_one, nullptr); }

bool find(uint16_t vendor, uint16_t device, Function& out) {
    FindCtx c{vendor, device, false, &out};
    enumerate(match_one, &c);
    return c.found;
}

bool find_assigned(uint16_t vendor, uint16_t device, uint16_t& bdf, uint32_t& gsi) {
    const boot::Context& c = boot::context();
    if (c.mode == boot::Mode::Partition) {
        for (uint32_t i = 0; i < c.device_count; ++i) {
            const natsume_boot_device& d = c.devices[i];
            if (d.vendor_id == vendor && d.device_id == device) {
                bdf = d.bdf;
                gsi = d.gsi;
                return true;
            }
        }
        return false;
    }
    Function f;
    if (!find(vendor, device, f)) return false;
    bdf = f.bdf;
    gsi = f.irq_pin != 0 && f.irq_line < 0xff ? f.irq_line : 0xffffffffu;
    return true;
}

bool read_bar(uint16_t bdf, unsigned index, SizedBar& out) {
    if (index > 5) return false;
    auto off     = static_cast<uint8_t>(BAR0 + 4 * index);
    uint32_t lo  = read32(bdf, off);
    uint32_t hi  = ((lo & (BAR_IO | BAR_MEM_TYPE_MASK)) == BAR_MEM_TYPE64 && index < 5)
                       ? read32(bdf, static_cast<uint8_t>(off + 4))
                       : 0;
    out.bar      = decode_bar(lo, hi);
    uint16_t cmd = read16(bdf, COMMAND);
    write16(bdf, COMMAND, static_cast<uint16_t>(cmd & ~(CMD_IO_SPACE | CMD_MEMORY_SPACE)));
    write32(bdf, off, 0xffffffffu);
    uint32_t mask = read32(bdf, off);
    write32(bdf, off, lo);
    write16(bdf, COMMAND, cmd);
    out.size = out.bar.io ? uint64_t{~(mask & ~3u) + 1} & 0xffff : memory_bar_size(mask);
    return out.bar.base != 0 && out.size != 0;
}

void enable_mmio_and_dma(uint16_t bdf) {
    uint16_t cmd = read16(bdf, COMMAND);
    cmd          = static_cast<uint16_t>((cmd | CMD_MEMORY_SPACE | CMD_BUS_MASTER) & ~CMD_INTERRUPT_DISABLE);
    write16(bdf, COMMAND, cmd);
}

}  // namespace natsume::guest::pci
