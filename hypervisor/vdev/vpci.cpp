#include "vdev/vpci.hpp"

namespace natsume::vpci {
namespace {

using pci::ConfigAccess;

constexpr uint32_t ALL_ONES            = 0xFFFFFFFFu;
constexpr uint16_t TYPE1_WINDOWS_FIRST = 0x18, TYPE1_WINDOWS_LAST = 0x30;  // bus numbers .. I/O upper
constexpr uint16_t TYPE1_SECONDARY_STATUS_DWORD = 0x1C;
constexpr uint32_t STATUS_RW1C_HIGH             = static_cast<uint32_t>(pci::STATUS_RW1C) << 16;
// Bridge Control bit 6, Secondary Bus Reset (bridge spec 3.2.5.18): it would
// reset every device below the bridge, including other partitions' devices.
constexpr uint32_t SECONDARY_BUS_RESET_HIGH = 1u << (16 + 6);

// Capability lengths: PCI PM 1.2 section 3.2 (8 bytes); PCI 3.0 section 6.8.1
// (MSI 10/14 bytes, +10 with per-vector masking) and 6.8.2 (MSI-X 12 bytes);
// PCIe base 2.0 section 7.8 (0x24 bytes for version 1, 0x3C for version 2).
constexpr uint8_t PM_LENGTH = 8, MSI_X_LENGTH = 12, PCIE_V1_LENGTH = 0x24, PCIE_V2_LENGTH = 0x3C;
constexpr uint16_t MSI64_BIT = 1u << 7, MSI_PER_VECTOR_MASK = 1u << 8;

constexpr WriteResult DONE{WriteResult::Kind::Done, nullptr};
constexpr WriteResult IGNORED{WriteResult::Kind::Ignored, nullptr};
constexpr WriteResult refused(const char* why) { return WriteResult{WriteResult::Kind::Refused, why}; }

constexpr const char* WHY_BAR_RELOCATION = "BAR relocation refused: BARs stay where the platform put them.";
constexpr const char* WHY_BUS_MASTER = "Bus mastering refused: the partition file does not allow DMA for this device.";
constexpr const char* WHY_BRIDGE_WINDOW =
    "Bridge bus numbers and windows are fixed by the platform: the write was refused.";
constexpr const char* WHY_BUS_RESET = "Secondary bus reset refused: it would reset devices of other partitions.";
constexpr const char* WHY_DEVICE_SPECIFIC =
    "Writes to device-specific config registers outside known capabilities are not passed through.";

uint32_t size_mask(uint8_t size) { return size >= 4 ? ALL_ONES : (1u << (size * 8u)) - 1u; }

bool valid_access(uint16_t offset, uint8_t size) {
    const bool size_ok = size == 1 || size == 2 || size == 4;
    return size_ok && (offset & 3u) + size <= 4u && offset < pci::EXT_CONFIG_SIZE;
}

uint32_t host_bridge_dword(uint16_t aligned) {
    switch (aligned) {
    case pci::VENDOR_ID: return HOST_BRIDGE_VENDOR | static_cast<uint32_t>(HOST_BRIDGE_DEVICE) << 16;
    case pci::REVISION_ID: return 0x06000000u | HOST_BRIDGE_REVISION;  // class 06 (bridge), subclass 00 (host)
    default: return 0;
    }
}

uint32_t hw_dword(const ConfigAccess& hw, uint16_t bdf, uint16_t aligned) { return hw.read32(hw.ctx, bdf, aligned); }

// The header-type byte's multi-function bit in its dword (at CACHE_LINE_SIZE).
constexpr uint32_t MULTI_FUNCTION_HEADER = static_cast<uint32_t>(pci::HEADER_MULTI_FUNCTION) << 16;

// Function 0 of a slot where the partition owns a later function only: guests
// scan functions 1-7 of a slot only when function 0 answers and says it has
// several (Linux's pci_scan_slot). So it reads as a stub: the machine's IDs,
// revision and class for it, header type 0 with the multi-function bit, and
// nothing else (no command bits, BARs, capabilities or interrupt); writes are
// ignored like those to any function the partition does not own.
uint32_t function0_stub_dword(const ConfigAccess& hw, uint16_t bdf, uint16_t aligned) {
    switch (aligned) {
    case pci::VENDOR_ID:
    case pci::REVISION_ID: return hw_dword(hw, bdf, aligned);
    case pci::CACHE_LINE_SIZE: return MULTI_FUNCTION_HEADER;
    default: return 0;
    }
}

uint8_t capability_length(const ConfigAccess& hw, uint16_t bdf, const pci::Capability& c) {
    const uint16_t reg = static_cast<uint16_t>(c.offset + 2);
    switch (c.id) {
    case pci::CAP_POWER_MANAGEMENT: return PM_LENGTH;
    case pci::CAP_MSI_X: return MSI_X_LENGTH;
    case pci::CAP_PCI_EXPRESS: return (pci::read16(hw, bdf, reg) & 0xF) >= 2 ? PCIE_V2_LENGTH : PCIE_V1_LENGTH;
    case pci::CAP_MSI: {
        const uint16_t control = pci::read16(hw, bdf, reg);
        const uint8_t base     = (control & MSI64_BIT) != 0 ? 14 : 10;
        return static_cast<uint8_t>(base + ((control & MSI_PER_VECTOR_MASK) != 0 ? 10 : 0));
    }
    case pci::CAP_VENDOR_SPECIFIC: {
        const uint8_t len = pci::read8(hw, bdf, reg);
        return len < 4 ? 4 : len;
    }
    default: return 4;  // only the header is known; the body counts as device-specific
    }
}

// RW1C bits of a shown capability's dword (rel = dword offset within the
// capability) that a merged write must not set by accident.
uint32_t capability_rw1c(uint8_t id, uint16_t rel) {
    if (id == pci::CAP_POWER_MANAGEMENT && rel == 4) return 1u << 15;  // PMCSR PME_Status
    if (id != pci::CAP_PCI_EXPRESS) return 0;
    switch (rel) {                  // PCIe base 2.0 sections 7.8.5, 7.8.8, 7.8.11, 7.8.13
    case 0x08: return 0x000F0000u;  // Device Status error bits
    case 0x10: return 0xC0000000u;  // Link Status bandwidth notifications
    case 0x18: return 0x011F0000u;  // Slot Status events
    case 0x20: return 0x00010000u;  // Root Status PME Status
    default: return 0;
    }
}

// A capability's length, cut where another capability or the conventional
// space begins, so a malformed list cannot make one capability claim another.
size_t room_after(const pci::Capability* caps, size_t n, size_t i, size_t length) {
    size_t end = pci::CONFIG_SIZE;
    for (size_t j = 0; j < n; ++j)
        if (caps[j].offset > caps[i].offset && caps[j].offset < end) end = caps[j].offset;
    const size_t room = end - caps[i].offset;
    return length < room ? length : room;
}

const Capability* capability_at(const Device& d, uint16_t aligned) {
    for (size_t i = 0; i < d.cap_count; ++i) {
        const Capability& c = d.caps[i];
        if (aligned >= c.offset && aligned < c.offset + c.length) return &c;
    }
    return nullptr;
}

uint8_t next_shown(const Device& d, const Capability& c) {
    const size_t i = static_cast<size_t>(&c - d.caps);
    for (size_t j = i + 1; j < d.cap_count; ++j)
        if (d.caps[j].shown) return d.caps[j].offset;
    return 0;
}

size_t bar_slots(const Device& d) {
    return d.fn.header_type == pci::HEADER_NORMAL ? 6 : d.fn.header_type == pci::HEADER_BRIDGE ? 2 : 0;
}

uint16_t rom_bar(const Device& d) {
    return d.fn.header_type == pci::HEADER_BRIDGE ? pci::ROM_BAR_TYPE1 : pci::ROM_BAR_TYPE0;
}

// The BAR a slot belongs to; high is set for the upper half of a 64-bit BAR.
const pci::Bar* bar_for_slot(const Device& d, size_t slot, bool& high) {
    for (size_t i = 0; i < d.fn.bar_count; ++i) {
        const pci::Bar& b = d.fn.bars[i];
        high              = b.is64 && b.index + 1u == slot;
        if (b.index == slot || high) return &b;
    }
    return nullptr;
}

struct BarView {
    uint32_t address_mask;  // bits of this dword that decode an address
    uint32_t type_bits;     // read-only low bits
    uint32_t physical;      // address bits of the platform's placement
};

BarView bar_view(const pci::Bar& b, bool high) {
    const uint64_t decode = ~(b.size - 1);
    if (high) return BarView{static_cast<uint32_t>(decode >> 32), 0, static_cast<uint32_t>(b.base >> 32)};
    const uint32_t low_mask = b.io ? pci::BAR_IO_ADDRESS_MASK : pci::BAR_MEM_ADDRESS_MASK;
    const uint32_t type =
        b.io ? pci::BAR_IO : (b.is64 ? pci::BAR_MEM_TYPE64 : 0u) | (b.prefetchable ? pci::BAR_PREFETCHABLE : 0u);
    const uint32_t mask = static_cast<uint32_t>(decode) & low_mask;
    return BarView{mask, type, static_cast<uint32_t>(b.base) & mask};
}

uint32_t bar_dword(const Device& d, size_t slot) {
    bool high         = false;
    const pci::Bar* b = bar_for_slot(d, slot, high);
    if (b == nullptr) return 0;  // unimplemented BARs are hardwired to zero
    const BarView v   = bar_view(*b, high);
    const bool sizing = (d.bar_sizing >> slot & 1u) != 0;
    return (sizing ? v.address_mask : v.physical) | v.type_bits;
}

bool is_bar(const Device& d, uint16_t aligned, size_t& slot) {
    if (aligned < pci::BAR0) return false;
    slot = (aligned - pci::BAR0) / 4u;
    return slot < bar_slots(d);
}

bool is_bridge_window(const Device& d, uint16_t aligned) {
    return d.fn.header_type == pci::HEADER_BRIDGE && aligned >= TYPE1_WINDOWS_FIRST && aligned <= TYPE1_WINDOWS_LAST;
}

uint32_t command_status_dword(const Device& d, uint32_t hw_value) {
    uint32_t v = hw_value & ~(static_cast<uint32_t>(pci::STATUS_CAPABILITY_LIST) << 16);
    if (d.first_shown_cap != 0) v |= static_cast<uint32_t>(pci::STATUS_CAPABILITY_LIST) << 16;
    if (d.options.intx_virtual) {
        v &= ~static_cast<uint32_t>(pci::CMD_INTERRUPT_DISABLE);
        if (d.guest_intx_disable) v |= pci::CMD_INTERRUPT_DISABLE;
    }
    return v;
}

// MSI capability layout (PCI 3.0 6.8.1): control at +2 (bit 0 enable, 3:1
// multiple message capable, 6:4 multiple message enable, 7 64-bit, 8
// per-vector masking); address at +4, upper address at +8 when 64-bit, then data.
constexpr uint32_t MSI_ENABLE = pci::MSI_CONTROL_ENABLE, MSI_MMC_MASK = 7u << 1, MSI_MME_MASK = 7u << 4,
                   MSI64 = 1u << 7;

bool msi_is64(const Device& d) { return (d.msi_control & MSI64) != 0; }
uint16_t msi_data_rel(const Device& d) { return msi_is64(d) ? 0x0C : 0x08; }

bool is_virtual_msi(const Device& d, const Capability& c) { return c.id == pci::CAP_MSI && d.options.msi_virtual; }

uint32_t msi_dword(const Device& d, uint16_t rel, uint32_t hw_value) {
    if (rel == 0x04) return d.msi_address_lo;
    if (rel == 0x08 && msi_is64(d)) return d.msi_address_hi;
    if (rel == msi_data_rel(d)) return (hw_value & 0xFFFF0000u) | d.msi_data;
    return hw_value;  // mask and pending bits
}

uint32_t capability_dword(const Device& d, const Capability& c, uint16_t aligned, uint32_t hw_value) {
    if (!c.shown) return 0;
    const uint16_t rel = static_cast<uint16_t>(aligned - c.offset);
    if (is_virtual_msi(d, c) && rel != 0) return msi_dword(d, rel, hw_value);
    if (aligned != c.offset) return hw_value;
    uint32_t v = (hw_value & ~0xFF00u) | static_cast<uint32_t>(next_shown(d, c)) << 8;
    if (is_virtual_msi(d, c)) {
        // One message only: capable of 1, enabled for 1; enable as the guest set it.
        uint16_t control = static_cast<uint16_t>((d.msi_control & ~(MSI_MMC_MASK | MSI_MME_MASK | MSI_ENABLE)) |
                                                 (d.msi_control & MSI_ENABLE));
        v                = (v & 0xFFFFu) | static_cast<uint32_t>(control) << 16;
    }
    return v;
}

// The dword the partition sees at an aligned offset of an owned function.
uint32_t device_dword(const Device& d, uint16_t aligned, const ConfigAccess& hw) {
    if (aligned >= pci::CONFIG_SIZE) return ALL_ONES;
    size_t slot = 0;
    if (is_bar(d, aligned, slot)) return bar_dword(d, slot);
    if (aligned == rom_bar(d)) return 0;
    const uint32_t raw = hw_dword(hw, d.fn.bdf, aligned);
    switch (aligned) {
    case pci::COMMAND: return command_status_dword(d, raw);
    case pci::CAPABILITY_POINTER: return (raw & ~0xFFu) | d.first_shown_cap;
    // Programming interface and Interrupt Pin as the partition's copy of the
    // function has them (read-only registers; vdev/native_ide rewrites both).
    case pci::REVISION_ID: return (raw & ~0xFF00u) | static_cast<uint32_t>(d.fn.prog_if) << 8;
    case pci::INTERRUPT_LINE: return (raw & ~0xFFFFu) | static_cast<uint32_t>(d.fn.irq_pin) << 8 | d.irq_line;
    default: break;
    }
    if (const Capability* c = capability_at(d, aligned)) return capability_dword(d, *c, aligned, raw);
    return raw;
}

// ---- writes: each handler gets the aligned dword, the byte-lane mask and the
// value already shifted into those lanes.

struct Lanes {
    uint16_t aligned;
    uint32_t mask, value;
    uint32_t merged(uint32_t current) const { return (current & ~mask) | (value & mask); }
};

WriteResult write_command(Device& d, const Lanes& w, const ConfigAccess& hw) {
    const uint16_t bdf   = d.fn.bdf;
    const uint32_t cur   = hw_dword(hw, bdf, pci::COMMAND);
    const uint16_t lanes = static_cast<uint16_t>(w.mask), req = static_cast<uint16_t>(w.value);
    uint16_t allowed = pci::CMD_IO_SPACE | pci::CMD_MEMORY_SPACE | pci::CMD_PARITY_ERROR_RESPONSE |
                       pci::CMD_SERR_ENABLE | pci::CMD_INTERRUPT_DISABLE;
    if (d.options.dma_allowed) allowed |= pci::CMD_BUS_MASTER;
    const bool bm_refused = !d.options.dma_allowed && (req & lanes & pci::CMD_BUS_MASTER) != 0;
    if (d.options.intx_virtual && (lanes & pci::CMD_INTERRUPT_DISABLE) != 0) {
        d.guest_intx_disable = (req & pci::CMD_INTERRUPT_DISABLE) != 0;
        allowed &= static_cast<uint16_t>(~pci::CMD_INTERRUPT_DISABLE);
    }
    const uint16_t writable = allowed & lanes;
    const uint16_t old_cmd  = static_cast<uint16_t>(cur);
    const uint16_t new_cmd  = static_cast<uint16_t>((old_cmd & ~writable) | (req & writable));
    const uint32_t clear    = w.value & w.mask & STATUS_RW1C_HIGH;
    if (new_cmd != old_cmd || clear != 0) hw.write32(hw.ctx, bdf, pci::COMMAND, new_cmd | clear);
    return bm_refused ? refused(WHY_BUS_MASTER) : DONE;
}

WriteResult write_bar(Device& d, size_t slot, const Lanes& w) {
    bool high         = false;
    const pci::Bar* b = bar_for_slot(d, slot, high);
    if (b == nullptr) return IGNORED;
    const BarView v        = bar_view(*b, high);
    const uint32_t address = w.merged(bar_dword(d, slot)) & v.address_mask;
    const uint8_t bit      = static_cast<uint8_t>(1u << slot);
    // The hardware BAR is never written: sizing is answered from the sizes
    // found at boot, and the only accepted value is the one already there.
    if (address == v.address_mask) {
        d.bar_sizing |= bit;
        return DONE;
    }
    d.bar_sizing &= static_cast<uint8_t>(~bit);
    return address == v.physical ? DONE : refused(WHY_BAR_RELOCATION);
}

WriteResult write_passthrough(const Device& d, const Lanes& w, uint32_t rw1c, const ConfigAccess& hw) {
    if (w.mask == 0) return IGNORED;
    pci::write_merged(hw, d.fn.bdf, w.aligned, w.mask, w.value, rw1c);
    return DONE;
}

WriteResult write_bridge_window(const Device& d, const Lanes& w, const ConfigAccess& hw) {
    const uint32_t rw1c  = w.aligned == TYPE1_SECONDARY_STATUS_DWORD ? STATUS_RW1C_HIGH : 0;
    const uint32_t cur   = hw_dword(hw, d.fn.bdf, w.aligned);
    const uint32_t clear = w.value & w.mask & rw1c;
    const bool changes   = (w.merged(cur) & ~rw1c) != (cur & ~rw1c);
    if (clear != 0) hw.write32(hw.ctx, d.fn.bdf, w.aligned, (cur & ~rw1c) | clear);
    if (changes) return refused(WHY_BRIDGE_WINDOW);
    return clear != 0 ? DONE : IGNORED;
}

WriteResult write_interrupt_dword(Device& d, const Lanes& w, const ConfigAccess& hw) {
    WriteResult r = IGNORED;
    if ((w.mask & 0xFFu) != 0) {
        d.irq_line = static_cast<uint8_t>(w.value);
        r          = DONE;
    }
    const uint32_t bridge_control = w.mask & 0xFFFF0000u;
    if (d.fn.header_type != pci::HEADER_BRIDGE || bridge_control == 0) return r;
    const bool reset = (w.value & bridge_control & SECONDARY_BUS_RESET_HIGH) != 0;
    (void)write_passthrough(d, Lanes{w.aligned, bridge_control & ~SECONDARY_BUS_RESET_HIGH, w.value}, 0, hw);
    return reset ? refused(WHY_BUS_RESET) : DONE;
}

constexpr const char* WHY_MSI_VECTOR = "MSI vector below 0x10 refused: vectors 0-15 are reserved exceptions";

uint64_t msi_guest_address(const Device& d) {
    const uint64_t hi = msi_is64(d) ? static_cast<uint64_t>(d.msi_address_hi) << 32 : 0;
    return hi | d.msi_address_lo;
}

// Programs the device with the partition's message for the guest's vector
// (msi::Route: the core the guest's address names if it is one of the
// partition's, else the owner; fixed delivery, edge; under interrupt
// remapping the route's entry carries them), then the guest's enable bit.
// Called on every write to the capability's registers, so a new destination
// alone reprograms the device too. A vector the route cannot take leaves the
// device disabled.
WriteResult program_msi(const Device& d, const ConfigAccess& hw, const Capability& c) {
    const uint8_t vector = static_cast<uint8_t>(d.msi_data & 0xFFu);
    const uint32_t dest  = d.options.msi_route.destination(msi_guest_address(d));
    const bool enable    = (d.msi_control & MSI_ENABLE) != 0;
    const uint16_t cap   = c.offset;
    uint16_t hw_control  = pci::read16(hw, d.fn.bdf, static_cast<uint16_t>(cap + 2));
    const auto disable   = [&] {
        pci::write16(hw, d.fn.bdf, static_cast<uint16_t>(cap + 2), static_cast<uint16_t>(hw_control & ~MSI_ENABLE));
    };
    if (enable && vector < msi::MIN_VECTOR) {
        disable();
        return refused(WHY_MSI_VECTOR);
    }
    msi::Message m = d.options.msi_route.idle();
    if (vector >= msi::MIN_VECTOR) {
        if (const char* why = d.options.msi_route.message(0, vector, dest, m)) {
            disable();
            return refused(why);
        }
    }
    pci::write32(hw, d.fn.bdf, static_cast<uint16_t>(cap + 4), static_cast<uint32_t>(m.address));
    if (msi_is64(d)) pci::write32(hw, d.fn.bdf, static_cast<uint16_t>(cap + 8), static_cast<uint32_t>(m.address >> 32));
    pci::write16(hw, d.fn.bdf, static_cast<uint16_t>(cap + msi_data_rel(d)), static_cast<uint16_t>(m.data));
    hw_control = static_cast<uint16_t>((hw_control & ~(MSI_MME_MASK | MSI_ENABLE)) | (enable ? MSI_ENABLE : 0));
    pci::write16(hw, d.fn.bdf, static_cast<uint16_t>(cap + 2), hw_control);
    return DONE;
}

WriteResult write_msi(Device& d, const Capability& c, const Lanes& w, const ConfigAccess& hw) {
    const uint16_t rel = static_cast<uint16_t>(w.aligned - c.offset);
    if (rel == 0) {
        if ((w.mask & 0xFFFF0000u) == 0) return IGNORED;
        const uint32_t cur = static_cast<uint32_t>(d.msi_control) << 16;
        d.msi_control = static_cast<uint16_t>((d.msi_control & ~MSI_ENABLE) | ((w.merged(cur) >> 16) & MSI_ENABLE));
    } else if (rel == 0x04) {
        d.msi_address_lo = w.merged(d.msi_address_lo);
    } else if (rel == 0x08 && msi_is64(d)) {
        d.msi_address_hi = w.merged(d.msi_address_hi);
    } else if (rel == msi_data_rel(d)) {
        d.msi_data = static_cast<uint16_t>(w.merged(d.msi_data) & 0xFFFFu);
    } else {
        return write_passthrough(d, w, 0, hw);  // per-vector mask bits
    }
    return program_msi(d, hw, c);
}

// MSI-X capability (PCI 3.0 6.8.2.3): of Message Control only MSI-X Enable
// (bit 15) and Function Mask (bit 14) are writable; the table size and the
// Table/PBA Offset/BIR registers are read-only. The guest's bits go to the
// hardware as they are: the hardware table holds only hypervisor-written entries.
constexpr uint16_t MSIX_ENABLE = 1u << 15, MSIX_FUNCTION_MASK = 1u << 14;

bool is_virtual_msix(const Device& d, const Capability& c) { return c.id == pci::CAP_MSI_X && d.options.msix_virtual; }

WriteResult write_msix(const Device& d, const Capability& c, const Lanes& w, const ConfigAccess& hw) {
    if (w.aligned != c.offset) return IGNORED;
    const uint32_t control_bits = static_cast<uint32_t>(MSIX_ENABLE | MSIX_FUNCTION_MASK) << 16;
    return write_passthrough(d, Lanes{w.aligned, w.mask & control_bits, w.value}, 0, hw);
}

WriteResult write_capability(Device& d, const Capability& c, const Lanes& w, const ConfigAccess& hw) {
    if (!c.shown) return IGNORED;
    if (is_virtual_msi(d, c)) return write_msi(d, c, w, hw);
    if (is_virtual_msix(d, c)) return write_msix(d, c, w, hw);
    const uint16_t rel = static_cast<uint16_t>(w.aligned - c.offset);
    // ID and next pointer are read-only; the rest of the header is the
    // capability's own register.
    const uint32_t mask = rel == 0 ? w.mask & 0xFFFF0000u : w.mask;
    return write_passthrough(d, Lanes{w.aligned, mask, w.value}, capability_rw1c(c.id, rel), hw);
}

WriteResult write_device(Device& d, const Lanes& w, const ConfigAccess& hw) {
    if (w.aligned >= pci::CONFIG_SIZE) return IGNORED;
    size_t slot = 0;
    if (is_bar(d, w.aligned, slot)) return write_bar(d, slot, w);
    if (is_bridge_window(d, w.aligned)) return write_bridge_window(d, w, hw);
    switch (w.aligned) {
    case pci::COMMAND: return write_command(d, w, hw);
    case pci::CACHE_LINE_SIZE:  // cache line size and latency timer; header type and BIST stay
        return write_passthrough(d, Lanes{w.aligned, w.mask & 0xFFFFu, w.value}, 0, hw);
    case pci::INTERRUPT_LINE: return write_interrupt_dword(d, w, hw);
    default: break;
    }
    if (w.aligned < pci::FIRST_CAPABILITY_OFFSET) return IGNORED;  // IDs, class, ROM, pointers: read-only here
    if (const Capability* c = capability_at(d, w.aligned)) return write_capability(d, *c, w, hw);
    return refused(WHY_DEVICE_SPECIFIC);
}

}  // namespace

void ConfigSpace::reset(uint32_t shown_capabilities) {
    count_      = 0;
    shown_caps_ = shown_capabilities;
}

const Device* ConfigSpace::find(uint16_t bdf) const {
    for (size_t i = 0; i < count_; ++i)
        if (devices_[i].fn.bdf == bdf) return &devices_[i];
    return nullptr;
}

Device* ConfigSpace::find_mutable(uint16_t bdf) { return const_cast<Device*>(find(bdf)); }

Error ConfigSpace::add_device(const pci::Function& fn, const DeviceOptions& options, const ConfigAccess& hw) {
    if (owns(fn.bdf)) return Error::DuplicateDevice;
    if (count_ == MAX_DEVICES) return Error::TooManyDevices;
    if (fn.cap_list_broken) return Error::BrokenCapabilityList;
    if (options.msi_virtual && options.msi_route.check() != msi::RouteError::Ok) return Error::BadMsiRoute;
    if (pci::read16(hw, fn.bdf, pci::VENDOR_ID) != fn.vendor_id) return Error::NotPresent;
    pci::Capability found[MAX_CAPABILITIES];
    size_t n           = 0;
    const pci::Error e = pci::walk_capabilities(hw, fn.bdf, found, MAX_CAPABILITIES, n);
    if (e == pci::Error::TooManyCapabilities) return Error::TooManyCapabilities;
    if (e != pci::Error::Ok) return Error::BrokenCapabilityList;

    Device& d            = devices_[count_];
    d                    = Device{};
    d.fn                 = fn;
    d.options            = options;
    d.irq_line           = fn.irq_line;
    d.guest_intx_disable = (pci::read16(hw, fn.bdf, pci::COMMAND) & pci::CMD_INTERRUPT_DISABLE) != 0;
    for (size_t i = 0; i < n; ++i) {
        Capability& c   = d.caps[d.cap_count++];
        const bool msi  = found[i].id == pci::CAP_MSI && options.msi_virtual;
        const bool msix = found[i].id == pci::CAP_MSI_X && options.msix_virtual;
        c = Capability{found[i].id, found[i].offset, 0, msi || msix || (shown_caps_ & cap_bit(found[i].id)) != 0};
        if (msix) {
            // Until the guest enables it, the device keeps using INTx as the guest expects.
            const uint16_t control = pci::read16(hw, fn.bdf, static_cast<uint16_t>(c.offset + 2));
            if ((control & MSIX_ENABLE) != 0)
                pci::write16(hw, fn.bdf, static_cast<uint16_t>(c.offset + 2),
                             static_cast<uint16_t>(control & ~MSIX_ENABLE));
        }
        if (msi) {
            const uint16_t control = pci::read16(hw, fn.bdf, static_cast<uint16_t>(c.offset + 2));
            // The device starts disabled; the guest sees a clean, disabled capability.
            d.msi_control = static_cast<uint16_t>(control & ~(MSI_ENABLE | MSI_MME_MASK));
            pci::write16(hw, fn.bdf, static_cast<uint16_t>(c.offset + 2), d.msi_control);
        }
        c.length = static_cast<uint8_t>(room_after(found, n, i, capability_length(hw, fn.bdf, found[i])));
        if (c.shown && d.first_shown_cap == 0) d.first_shown_cap = c.offset;
    }
    ++count_;
    return Error::Ok;
}

uint32_t ConfigSpace::read(uint16_t bdf, uint16_t offset, uint8_t size, const ConfigAccess& hw) const {
    if (!valid_access(offset, size)) return size_mask(size);
    const uint16_t aligned = static_cast<uint16_t>(offset & ~3u);
    uint32_t value         = ALL_ONES;  // absent, as the hardware answers
    if (const Device* d = find(bdf))
        value = device_dword(*d, aligned, hw);
    else if (aligned >= pci::CONFIG_SIZE)
        value = ALL_ONES;
    else if (bdf == 0)
        value = host_bridge_dword(aligned) |
                (aligned == pci::CACHE_LINE_SIZE && owns_later_function(0) ? MULTI_FUNCTION_HEADER : 0);
    else if (pci::bdf_fn(bdf) == 0 && owns_later_function(bdf))
        value = function0_stub_dword(hw, bdf, aligned);
    return (value >> ((offset & 3u) * 8u)) & size_mask(size);
}

bool ConfigSpace::owns_later_function(uint16_t function0) const {
    for (size_t i = 0; i < count_; ++i) {
        const uint16_t bdf = devices_[i].fn.bdf;
        if (pci::bdf_fn(bdf) != 0 && bdf - pci::bdf_fn(bdf) == function0) return true;
    }
    return false;
}

WriteResult ConfigSpace::write(uint16_t bdf, uint16_t offset, uint8_t size, uint32_t value, const ConfigAccess& hw) {
    Device* d = find_mutable(bdf);
    if (d == nullptr || !valid_access(offset, size)) return IGNORED;
    const uint32_t shift = (offset & 3u) * 8u;
    const Lanes w{static_cast<uint16_t>(offset & ~3u), size_mask(size) << shift, (value & size_mask(size)) << shift};
    return write_device(*d, w, hw);
}

const char* to_string(Error e) {
    switch (e) {
    case Error::Ok: return "The device was added to the partition's PCI view.";
    case Error::TooManyDevices:
        return "The partition owns more PCI functions than the virtual config space holds (16).";
    case Error::DuplicateDevice: return "The PCI function is already in this partition's view.";
    case Error::BrokenCapabilityList:
        return "The function's capability list loops or points into the header; it cannot be filtered safely.";
    case Error::TooManyCapabilities:
        return "The function has more capabilities than the virtual config space tracks (16).";
    case Error::NotPresent: return "The function is not present on the platform, or another device answers at its BDF.";
    case Error::BadMsiRoute:
        return "The function's MSI route is unusable: its owner is not among the partition's cores, it lists more "
               "than 8 cores, or it names an APIC ID above 255 without interrupt remapping.";
    }
    return "Unknown virtual PCI error.";
}

}  // namespace natsume::vpci
