#include "lib/pci.hpp"

namespace natsume::pci {
namespace {

constexpr uint16_t CARD_BUS_CAPABILITY_POINTER = 0x14;  // type 2 header (PC Card spec)
constexpr size_t TYPE0_BARS = 6, TYPE1_BARS = 2;
constexpr uint16_t BUS_COUNT      = 256;
constexpr uint8_t DEVICES_PER_BUS = 32, FUNCTIONS_PER_DEVICE = 8;

uint32_t dword(const ConfigAccess& a, uint16_t bdf, uint16_t offset) {
    return a.read32(a.ctx, bdf, static_cast<uint16_t>(offset & ~3u));
}

uint32_t shift_of(uint16_t offset) { return (offset & 3u) * 8u; }

// RW1C bits of the dword holding offset that a merged write must not set.
uint32_t rw1c_for(uint16_t offset) { return (offset & ~3u) == COMMAND ? static_cast<uint32_t>(STATUS_RW1C) << 16 : 0; }

// Lowest set bit of a decoder mask: the region size (section 6.2.5.1).
uint64_t lowest_bit(uint64_t mask) { return mask & (~mask + 1); }

bool present(uint32_t id_dword) {
    const uint16_t vendor = static_cast<uint16_t>(id_dword);
    return vendor != 0xFFFF && vendor != 0x0000;
}

uint8_t capability_pointer_offset(uint8_t header_type) {
    return static_cast<uint8_t>(header_type == HEADER_CARD_BUS ? CARD_BUS_CAPABILITY_POINTER : CAPABILITY_POINTER);
}

void record_capabilities(const ConfigAccess& a, Function& f) {
    Capability caps[MAX_CAPABILITY_ENTRIES];
    size_t n          = 0;
    f.cap_list_broken = walk_capabilities(a, f.bdf, caps, MAX_CAPABILITY_ENTRIES, n) != Error::Ok;
    for (size_t i = 0; i < n; ++i) {
        uint8_t* slot = nullptr;
        switch (caps[i].id) {
        case CAP_POWER_MANAGEMENT: slot = &f.cap_pm; break;
        case CAP_MSI: slot = &f.cap_msi; break;
        case CAP_PCI_EXPRESS: slot = &f.cap_pcie; break;
        case CAP_MSI_X: slot = &f.cap_msix; break;
        default: break;
        }
        if (slot != nullptr && *slot == 0) *slot = caps[i].offset;
    }
}

// Command bit 10 is writable only where PCI 2.3's INTx masking exists.
bool probe_intx_disable(const ConfigAccess& a, uint16_t bdf) {
    const uint16_t cmd = read16(a, bdf, COMMAND);
    if ((cmd & CMD_INTERRUPT_DISABLE) != 0) return true;
    write16(a, bdf, COMMAND, static_cast<uint16_t>(cmd | CMD_INTERRUPT_DISABLE));
    const bool sticks = (read16(a, bdf, COMMAND) & CMD_INTERRUPT_DISABLE) != 0;
    write16(a, bdf, COMMAND, cmd);
    return sticks;
}

Function describe(const ConfigAccess& a, uint16_t bdf, uint32_t id_dword) {
    Function f{};
    f.bdf                    = bdf;
    f.vendor_id              = static_cast<uint16_t>(id_dword);
    f.device_id              = static_cast<uint16_t>(id_dword >> 16);
    const uint32_t class_rev = dword(a, bdf, REVISION_ID);
    f.revision               = static_cast<uint8_t>(class_rev);
    f.prog_if                = static_cast<uint8_t>(class_rev >> 8);
    f.subclass               = static_cast<uint8_t>(class_rev >> 16);
    f.class_code             = static_cast<uint8_t>(class_rev >> 24);
    const uint8_t header     = read8(a, bdf, HEADER_TYPE);
    f.header_type            = header & HEADER_LAYOUT_MASK;
    f.multifunction          = (header & HEADER_MULTI_FUNCTION) != 0;
    f.is_bridge              = f.header_type == HEADER_BRIDGE;
    if (f.is_bridge) f.secondary_bus = read8(a, bdf, SECONDARY_BUS);
    f.irq_line = read8(a, bdf, INTERRUPT_LINE);
    f.irq_pin  = read8(a, bdf, INTERRUPT_PIN);
    record_capabilities(a, f);
    f.intx_status_supported_hint = f.irq_pin != 0 && (f.cap_pcie != 0 || probe_intx_disable(a, f.bdf));
    return f;
}

struct BusQueue {
    uint8_t buses[BUS_COUNT];
    size_t head, tail;
    uint32_t seen[BUS_COUNT / 32];

    bool visited(uint8_t bus) const { return (seen[bus / 32] >> (bus % 32) & 1u) != 0; }
    // False when the bus was queued before: a loop or two bridges claiming it.
    bool push(uint8_t bus) {
        if (visited(bus)) return false;
        seen[bus / 32] |= 1u << (bus % 32);
        buses[tail++] = bus;  // at most 256 distinct buses are ever pushed
        return true;
    }
};

struct Scan {
    const ConfigAccess& access;
    Inventory& inv;
    BusQueue queue;
    Error first;

    void note(Error e) {
        if (first == Error::Ok) first = e;
    }

    [[nodiscard]] bool add(uint16_t bdf, uint32_t id_dword) {
        if (inv.count == MAX_FUNCTIONS) {
            note(Error::TooManyFunctions);
            return false;
        }
        Function& f = inv.functions[inv.count++];
        f           = describe(access, bdf, id_dword);
        if (f.is_bridge && f.secondary_bus != 0 && !queue.push(f.secondary_bus)) note(Error::BusLoop);
        return true;
    }

    [[nodiscard]] bool scan_device(uint8_t bus, uint8_t dev) {
        const uint16_t fn0 = make_bdf(bus, dev, 0);
        const uint32_t id0 = dword(access, fn0, VENDOR_ID);
        if (!present(id0)) return true;
        if (!add(fn0, id0)) return false;
        if (!inv.functions[inv.count - 1].multifunction) return true;
        for (uint8_t fn = 1; fn < FUNCTIONS_PER_DEVICE; ++fn) {
            const uint16_t bdf = make_bdf(bus, dev, fn);
            const uint32_t id  = dword(access, bdf, VENDOR_ID);
            if (present(id) && !add(bdf, id)) return false;
        }
        return true;
    }

    void run() {
        queue.push(0);
        while (queue.head != queue.tail) {
            const uint8_t bus = queue.buses[queue.head++];
            for (uint8_t dev = 0; dev < DEVICES_PER_BUS; ++dev)
                if (!scan_device(bus, dev)) return;
        }
    }
};

struct BarProbe {
    uint32_t orig_lo, orig_hi, mask_lo, mask_hi;
};

// Writes all ones to slot (and slot + 1 for a 64-bit BAR), reads the decoder
// masks back and restores the original values.
BarProbe probe_bar(const ConfigAccess& a, uint16_t bdf, size_t slot, bool is64) {
    const uint16_t lo = static_cast<uint16_t>(BAR0 + slot * 4), hi = static_cast<uint16_t>(lo + 4);
    BarProbe p{dword(a, bdf, lo), 0, 0, 0};
    if (is64) p.orig_hi = dword(a, bdf, hi);
    a.write32(a.ctx, bdf, lo, 0xFFFFFFFFu);
    if (is64) a.write32(a.ctx, bdf, hi, 0xFFFFFFFFu);
    p.mask_lo = dword(a, bdf, lo);
    if (is64) p.mask_hi = dword(a, bdf, hi);
    a.write32(a.ctx, bdf, lo, p.orig_lo);
    if (is64) a.write32(a.ctx, bdf, hi, p.orig_hi);
    return p;
}

// Sizes the BAR in slot; sets used to the number of slots it occupies (1 or 2).
Error size_one(const ConfigAccess& a, Function& f, size_t slot, size_t slots, size_t& used) {
    used                = 1;
    const uint32_t cur  = dword(a, f.bdf, static_cast<uint16_t>(BAR0 + slot * 4));
    const bool io       = (cur & BAR_IO) != 0;
    const uint32_t type = cur & BAR_MEM_TYPE_MASK;
    if (!io && type == (3u << 1)) return Error::BarReservedType;
    const bool is64 = !io && type == BAR_MEM_TYPE64;
    if (is64 && slot + 1 >= slots) return Error::Bar64InLastSlot;
    if (is64) used = 2;
    const BarProbe p    = probe_bar(a, f.bdf, slot, is64);
    const uint64_t mask = io ? (p.mask_lo & BAR_IO_ADDRESS_MASK)
                             : (static_cast<uint64_t>(p.mask_hi) << 32 | (p.mask_lo & BAR_MEM_ADDRESS_MASK));
    if (mask == 0) return Error::Ok;  // unimplemented slot
    Bar& b         = f.bars[f.bar_count++];
    b.index        = static_cast<uint8_t>(slot);
    b.io           = io;
    b.is64         = is64;
    b.prefetchable = !io && (cur & BAR_PREFETCHABLE) != 0;
    b.base         = io ? (p.orig_lo & BAR_IO_ADDRESS_MASK)
                        : (static_cast<uint64_t>(p.orig_hi) << 32 | (p.orig_lo & BAR_MEM_ADDRESS_MASK));
    b.size         = lowest_bit(mask);
    return Error::Ok;
}

}  // namespace

char* format_bdf(char buf[8], uint16_t bdf) {
    constexpr char HEX[] = "0123456789abcdef";
    const uint8_t bus = bdf_bus(bdf), dev = bdf_dev(bdf);
    buf[0] = HEX[bus >> 4];
    buf[1] = HEX[bus & 0xF];
    buf[2] = ':';
    buf[3] = HEX[dev >> 4];
    buf[4] = HEX[dev & 0xF];
    buf[5] = '.';
    buf[6] = HEX[bdf_fn(bdf)];
    buf[7] = '\0';
    return buf;
}

uint8_t read8(const ConfigAccess& a, uint16_t bdf, uint16_t offset) {
    return static_cast<uint8_t>(dword(a, bdf, offset) >> shift_of(offset));
}

uint16_t read16(const ConfigAccess& a, uint16_t bdf, uint16_t offset) {
    return static_cast<uint16_t>(dword(a, bdf, offset) >> shift_of(offset));
}

uint32_t read32(const ConfigAccess& a, uint16_t bdf, uint16_t offset) { return dword(a, bdf, offset); }

void write_merged(const ConfigAccess& a, uint16_t bdf, uint16_t offset, uint32_t mask, uint32_t value, uint32_t rw1c) {
    const uint16_t aligned = static_cast<uint16_t>(offset & ~3u);
    const uint32_t old     = a.read32(a.ctx, bdf, aligned);
    a.write32(a.ctx, bdf, aligned, (old & ~mask & ~rw1c) | (value & mask));
}

void write8(const ConfigAccess& a, uint16_t bdf, uint16_t offset, uint8_t value) {
    const uint32_t s = shift_of(offset);
    write_merged(a, bdf, offset, 0xFFu << s, static_cast<uint32_t>(value) << s, rw1c_for(offset));
}

void write16(const ConfigAccess& a, uint16_t bdf, uint16_t offset, uint16_t value) {
    const uint32_t s = shift_of(offset);
    write_merged(a, bdf, offset, 0xFFFFu << s, static_cast<uint32_t>(value) << s, rw1c_for(offset));
}

void write32(const ConfigAccess& a, uint16_t bdf, uint16_t offset, uint32_t value) {
    a.write32(a.ctx, bdf, static_cast<uint16_t>(offset & ~3u), value);
}

Error walk_capabilities(const ConfigAccess& a, uint16_t bdf, Capability* out, size_t max, size_t& count) {
    count = 0;
    if ((read16(a, bdf, STATUS) & STATUS_CAPABILITY_LIST) == 0) return Error::Ok;
    const uint8_t header = read8(a, bdf, HEADER_TYPE) & HEADER_LAYOUT_MASK;
    // Section 6.7: the two low bits of every pointer are reserved; software masks them.
    uint8_t next = read8(a, bdf, capability_pointer_offset(header)) & 0xFC;
    for (size_t visited = 0; next != 0; ++visited) {
        if (next < FIRST_CAPABILITY_OFFSET) return Error::CapabilityBadPointer;
        if (visited == MAX_CAPABILITY_ENTRIES) return Error::CapabilityLoop;
        if (count == max) return Error::TooManyCapabilities;
        const uint16_t header_word = read16(a, bdf, next);
        out[count++]               = Capability{static_cast<uint8_t>(header_word), next};
        next                       = static_cast<uint8_t>(header_word >> 8) & 0xFC;
    }
    return Error::Ok;
}

uint8_t find_capability(const ConfigAccess& a, uint16_t bdf, uint8_t id) {
    Capability caps[MAX_CAPABILITY_ENTRIES];
    size_t n = 0;
    if (walk_capabilities(a, bdf, caps, MAX_CAPABILITY_ENTRIES, n) != Error::Ok) return 0;
    for (size_t i = 0; i < n; ++i)
        if (caps[i].id == id) return caps[i].offset;
    return 0;
}

Error enumerate(const ConfigAccess& a, Inventory& inv) {
    inv.count = 0;
    Scan scan{a, inv, {}, Error::Ok};
    scan.run();
    return scan.first;
}

Error size_bars(const ConfigAccess& a, Function& f) {
    f.bar_count        = 0;
    const size_t slots = f.header_type == HEADER_NORMAL ? TYPE0_BARS : f.header_type == HEADER_BRIDGE ? TYPE1_BARS : 0;
    if (slots == 0) return Error::Ok;
    // Section 6.2.5.1: decoding is off while a BAR holds all ones, so the
    // function cannot claim addresses that belong to someone else meanwhile.
    const uint16_t cmd    = read16(a, f.bdf, COMMAND);
    const uint16_t decode = CMD_IO_SPACE | CMD_MEMORY_SPACE;
    if ((cmd & decode) != 0) write16(a, f.bdf, COMMAND, static_cast<uint16_t>(cmd & ~decode));
    Error result = Error::Ok;
    for (size_t slot = 0, used = 1; slot < slots && result == Error::Ok; slot += used)
        result = size_one(a, f, slot, slots, used);
    if ((cmd & decode) != 0) write16(a, f.bdf, COMMAND, cmd);
    return result;
}

Error size_all_bars(const ConfigAccess& a, Inventory& inv) {
    Error first = Error::Ok;
    for (size_t i = 0; i < inv.count; ++i) {
        const Error e = size_bars(a, inv.functions[i]);
        if (first == Error::Ok) first = e;
    }
    return first;
}

PortAccess decode_cf8(uint32_t cf8, uint16_t data_port) {
    const bool in_window = data_port >= CONFIG_DATA_PORT && data_port <= CONFIG_DATA_PORT + 3;
    if ((cf8 >> 31) == 0 || !in_window) return PortAccess{false, 0, 0};
    // Bits 23:16 bus, 15:11 device, 10:8 function: the BDF layout shifted by 8.
    const uint16_t bdf    = static_cast<uint16_t>(cf8 >> 8);
    const uint16_t offset = static_cast<uint16_t>((cf8 & 0xFC) | (data_port - CONFIG_DATA_PORT));
    return PortAccess{true, bdf, offset};
}

bool decode_ecam(uint64_t addr, uint64_t ecam_base, uint8_t start_bus, uint8_t end_bus, uint16_t& bdf,
                 uint16_t& offset) {
    if (addr < ecam_base) return false;
    const uint64_t rel = addr - ecam_base;
    const uint64_t bus = rel >> 20;
    if (bus < start_bus || bus > end_bus) return false;
    bdf    = static_cast<uint16_t>(rel >> 12);
    offset = static_cast<uint16_t>(rel & 0xFFF);
    return true;
}

const char* to_string(Error e) {
    switch (e) {
    case Error::Ok: return "PCI enumeration succeeded.";
    case Error::TooManyFunctions:
        return "The platform has more PCI functions than the inventory holds (64); the rest were not scanned.";
    case Error::BusLoop:
        return "Two PCI-PCI bridges name the same secondary bus (or a bridge loops back); the bus was scanned once.";
    case Error::CapabilityLoop: return "A PCI capability list has more than 48 entries: it loops.";
    case Error::CapabilityBadPointer:
        return "A PCI capability pointer points below offset 0x40, into the standard header.";
    case Error::TooManyCapabilities: return "A PCI capability list has more entries than the caller's buffer.";
    case Error::Bar64InLastSlot: return "A 64-bit BAR sits in the last BAR slot, with no slot left for its upper half.";
    case Error::BarReservedType: return "A memory BAR has the reserved type 11b.";
    }
    return "Unknown PCI error.";
}

}  // namespace natsume::pci
