#include "arch/x86/devices.hpp"

#include <new>

#include "drivers/block/ata.hpp"

#include "arch/x86/ioapic_hw.hpp"
#include "arch/x86/pci_hw.hpp"
#include "arch/x86/shared_intx.hpp"
#include "arch/x86/vtd/platform.hpp"
#include "base/log.hpp"
#include "vdev/native_ide.hpp"

namespace natsume::x86::devices {
namespace {
pci::Inventory inv;
constexpr uint64_t IOAPIC_PAGE = 0x1000;

const char* bar_kind(const pci::Bar& b) { return b.io ? "io" : b.is64 ? "mem64" : "mem"; }

void print_function(const pci::Function& f) {
    char bdf[8];
    pci::format_bdf(bdf, f.bdf);
    char line[300];
    size_t n = log::format(line, sizeof line, "natsume: pci: %s %04x:%04x class %02x/%02x", bdf, f.vendor_id,
                           f.device_id, f.class_code, f.subclass);
    if (f.is_bridge) n += log::format(line + n, sizeof line - n, " bridge to bus %u", f.secondary_bus);
    if (f.irq_pin) n += log::format(line + n, sizeof line - n, " INT%c line %u", 'A' + f.irq_pin - 1, f.irq_line);
    for (uint8_t i = 0; i < f.bar_count; i++)
        n += log::format(line + n, sizeof line - n, " bar%u=%s:0x%lx+0x%lx", f.bars[i].index, bar_kind(f.bars[i]),
                         f.bars[i].base, f.bars[i].size);
    if (f.cap_msi) n += log::format(line + n, sizeof line - n, " msi");
    if (f.cap_msix) n += log::format(line + n, sizeof line - n, " msix");
    log::print("%s\n", line);
}

const pci::Function* find_function(uint16_t bdf) {
    for (size_t i = 0; i < inv.count; i++)
        if (inv.functions[i].bdf == bdf) return &inv.functions[i];
    return nullptr;
}

// The hardware MSI-X table only ever holds entries the hypervisor wrote:
// masked until the guest completes one, then aimed at the partition's core
// the guest named (else its first core).
void write_msix_hw(const PartitionDevice& d, const msix::Action& a) {
    for (uint8_t w = 0; w < a.count; w++)
        *reinterpret_cast<volatile uint32_t*>(d.msix_loc.table_address + a.writes[w].offset) = a.writes[w].value;
}

// Under interrupt remapping each message names the device's own remapping
// entry (reserved at boot), which the hypervisor points at the partition's
// core the guest named (msi::Route::destination) with the guest's vector and
// the device's requester id as source-id.
const char* route_through(const PartitionDevice& d, uint16_t first, uint16_t count, uint16_t slot, uint8_t vector,
                          uint32_t apic_id, msi::Message& out) {
    if (slot >= count) return "message slot without a remapping entry";
    return vtd::route_device_msi(d.bdf, static_cast<uint16_t>(first + slot), vector, apic_id, out);
}

const char* route_msi(void* ctx, uint16_t slot, uint8_t vector, uint32_t apic_id, msi::Message& out) {
    const PartitionDevice& d = *static_cast<const PartitionDevice*>(ctx);
    return route_through(d, d.msi_irte, d.msi_irte_count, slot, vector, apic_id, out);
}

const char* route_msix(void* ctx, uint16_t slot, uint8_t vector, uint32_t apic_id, msi::Message& out) {
    const PartitionDevice& d = *static_cast<const PartitionDevice*>(ctx);
    return route_through(d, d.msix_irte, d.msix_irte_count, slot, vector, apic_id, out);
}

// Linux allocates each vector on one CPU and names it in the message
// address: any of the partition's cores may be the destination.
msi::Route route_for(PartitionDevice& d, const PartitionConfig& c, bool remap, msi::RouteFn fn) {
    msi::Route r = remap ? msi::Route{c.apic_id, fn, &d} : msi::Route{c.apic_id};
    r.core_count = static_cast<uint8_t>(c.core_count < msi::MAX_CORES ? c.core_count : msi::MAX_CORES);
    for (uint8_t i = 0; i < r.core_count; i++) r.cores[i] = c.apic_ids[i];
    return r;
}

bool reserve_entries(PartitionDevice& d, bool remap, char* why, size_t n) {
    d.msi_irte_count = d.msix_irte_count = 0;
    if (!remap) return true;
    if (d.fn->cap_msi) {
        if (!vtd::reserve_msi_entries(1, d.msi_irte, why, n)) return false;
        d.msi_irte_count = 1;
    }
    if (d.msix) {
        auto count = static_cast<uint16_t>(d.msix_loc.table_entries < msix::MAX_VECTORS ? d.msix_loc.table_entries
                                                                                        : msix::MAX_VECTORS);
        if (!vtd::reserve_msi_entries(count, d.msix_irte, why, n)) return false;
        d.msix_irte_count = count;
    }
    return true;
}

bool setup_msix(PartitionDevice& d, const pci::ConfigAccess& hw, const PartitionConfig& c, bool remap, char* why,
                size_t n) {
    // The route reads the device's entries when the guest first programs one:
    // they are reserved right after this (attach).
    d.msix = false;
    if (!d.fn->cap_msix) return true;
    char bdf[8];
    pci::format_bdf(bdf, d.bdf);
    if (!msix::locate(*d.fn, hw, d.fn->cap_msix, d.msix_loc)) {
        log::print("natsume: pci: %s: MSI-X table not inside a memory BAR: MSI-X stays hidden\n", bdf);
        return true;
    }
    d.msix        = true;
    msix::Error e = d.msix_table.init(d.msix_loc.table_entries, route_for(d, c, remap, route_msix));
    if (e != msix::Error::Ok) {
        log::format(why, n, "device %s MSI-X: %s", bdf, msix::to_string(e));
        return false;
    }
    for (uint16_t i = 0; i < d.msix_loc.table_entries; i++) write_msix_hw(d, d.msix_table.sync(i));
    return true;
}

uint32_t live_low(void* ctx, uint8_t pin) {
    auto gsi_base = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(ctx));
    return ioapic_hw::read_entry_low(gsi_base + pin);
}
}  // namespace

void scan(const pci::ConfigAccess& hw) {
    pci::Error e = pci::enumerate(hw, inv);
    if (e != pci::Error::Ok) log::print("natsume: pci: enumeration incomplete: %s\n", pci::to_string(e));
    e = pci::size_all_bars(hw, inv);
    if (e != pci::Error::Ok) log::print("natsume: pci: BAR sizing incomplete: %s\n", pci::to_string(e));
    log::print("natsume: pci: %zu functions\n", inv.count);
    for (size_t i = 0; i < inv.count; i++) print_function(inv.functions[i]);
}

const pci::Inventory& inventory() { return inv; }

namespace {

uint32_t isa_gsi(uint8_t irq, const acpi::Madt& madt) {
    for (size_t i = 0; i < madt.override_count; i++)
        if (madt.overrides[i].bus == 0 && madt.overrides[i].source == irq) return madt.overrides[i].gsi;
    return irq;  // ISA IRQs map 1:1 to GSIs without an override (ACPI 6.x, 5.2.12.5)
}

}  // namespace

uint32_t resolve_gsi(const pci::Function& fn, const acpi::Madt& madt) {
    if (fn.irq_pin == 0 || fn.irq_line == 0xff) return NO_GSI;
    return isa_gsi(fn.irq_line, madt);
}

namespace {

// The ISA lines of an IDE function's channels in compatibility mode.
void resolve_legacy_lines(PartitionDevice& pd, const acpi::Madt& madt) {
    namespace ata = drivers::ata;
    for (bool secondary : {false, true}) {
        const ata::LegacyChannel& c = secondary ? ata::SECONDARY : ata::PRIMARY;
        bool legacy =
            ata::is_ide(pd.fn->class_code, pd.fn->subclass) && ata::compatibility_mode(pd.fn->prog_if, secondary);
        pd.legacy_gsi[secondary] = legacy ? isa_gsi(c.isa_irq, madt) : NO_GSI;
    }
}

// A Linux partition drives one channel of an IDE controller in compatibility
// mode, shown to it in native mode (vdev/native_ide.hpp): the one its file
// names with ide_channel, the primary by default.
bool choose_native_ide(const Partition& p, PartitionDevice& pd, const char* bdf, char* why, size_t n) {
    namespace ata         = drivers::ata;
    pd.native_ide_channel = NO_IDE_CHANNEL;
    const bool secondary  = (pd.flags & NATSUME_DEVICE_IDE_SECONDARY) != 0;
    const bool ide        = ata::is_ide(pd.fn->class_code, pd.fn->subclass);
    if (!ide && secondary) {
        log::format(why, n,
                    "device %s is no IDE controller (class %02x/%02x), but the partition file names its "
                    "ide_channel",
                    bdf, pd.fn->class_code, pd.fn->subclass);
        return false;
    }
    if (!ide || p.config.file.kind != NATSUME_KIND_LINUX) return true;
    if (!ata::compatibility_mode(pd.fn->prog_if, secondary)) {
        log::print("natsume: partition: %s: device %s: its %s IDE channel is in native mode: Linux gets it as it is\n",
                   p.name(), bdf, secondary ? "secondary" : "primary");
        return true;
    }
    pd.native_ide_channel = secondary ? 1 : 0;
    return true;
}

}  // namespace

bool resolve(Partition& p, const acpi::Madt& madt, char* why, size_t n) {
    p.devices.count = p.config.file.device_count;
    for (uint32_t i = 0; i < p.devices.count; i++) {
        const natsume_config_device& d = p.config.file.devices[i];
        char bdf[8];
        pci::format_bdf(bdf, d.bdf);
        const pci::Function* fn = find_function(d.bdf);
        if (!fn) {
            log::format(why, n, "device %s is not present on this machine", bdf);
            return false;
        }
        if ((d.vendor_id != NATSUME_DEVICE_ANY_ID && d.vendor_id != fn->vendor_id) ||
            (d.device_id != NATSUME_DEVICE_ANY_ID && d.device_id != fn->device_id)) {
            log::format(why, n, "device %s is %04x:%04x, the partition file expects %04x:%04x", bdf, fn->vendor_id,
                        fn->device_id, d.vendor_id, d.device_id);
            return false;
        }
        PartitionDevice& pd = p.devices.list[i];
        pd.bdf              = d.bdf;
        pd.vendor_id        = fn->vendor_id;
        pd.device_id        = fn->device_id;
        pd.flags            = d.flags;
        pd.gsi              = d.intx_gsi != NATSUME_GSI_AUTO ? d.intx_gsi : resolve_gsi(*fn, madt);
        pd.fn               = fn;
        pd.trapped_page     = 0;
        pd.msix             = false;
        resolve_legacy_lines(pd, madt);
        if (!choose_native_ide(p, pd, bdf, why, n)) return false;
    }
    p.devices.dma_base = p.config.file.dma_base;
    p.devices.dma_size = p.config.file.dma_size;
    return true;
}

namespace {

// The function as the partition's config space shows it.
pci::Function partition_view(const Partition& p, const PartitionDevice& d) {
    pci::Function view = *d.fn;
    if (d.native_ide_channel == NO_IDE_CHANNEL) return view;
    const bool secondary = d.native_ide_channel == 1;
    if (native_ide::apply(view, secondary) == native_ide::Outcome::Shown) {
        const drivers::ata::LegacyChannel& c = secondary ? drivers::ata::SECONDARY : drivers::ata::PRIMARY;
        char bdf[8];
        pci::format_bdf(bdf, d.bdf);
        log::print(
            "natsume: partition: %s: device %s: its %s IDE channel is shown in native mode (BARs 0x%x and "
            "0x%x, INTA on GSI %u, edge), the other channel without BARs\n",
            p.name(), bdf, secondary ? "secondary" : "primary", c.command,
            c.control - drivers::ata::NATIVE_CONTROL_REGISTER, d.legacy_gsi[d.native_ide_channel]);
    }
    return view;
}

}  // namespace

bool attach(Partition& p, const pci::ConfigAccess& hw, bool remap, char* why, size_t n) {
    p.devices.vpci.reset();
    uint64_t owned              = 0;
    const ioapic_hw::Unit* unit = ioapic_hw::unit_count() ? &ioapic_hw::unit(0) : nullptr;
    for (uint32_t i = 0; i < p.devices.count; i++) {
        const PartitionDevice& d = p.devices.list[i];
        // On a shared line the hypervisor owns command bit 10; the guest's stays virtual.
        // MSI and MSI-X go straight to a local APIC of one of its cores: no exit, no other partition's core.
        PartitionDevice& md = p.devices.list[i];
        if (!setup_msix(md, hw, p.config, remap, why, n)) return false;
        if (!reserve_entries(md, remap, why, n)) return false;
        vpci::DeviceOptions opt{!(d.flags & NATSUME_DEVICE_NO_DMA), d.gsi != NO_GSI && shared_intx::is_shared(d.gsi),
                                d.fn->cap_msi != 0, route_for(md, p.config, remap, route_msi), md.msix};
        vpci::Error e = p.devices.vpci.add_device(partition_view(p, d), opt, hw);
        if (e != vpci::Error::Ok) {
            log::format(why, n, "virtual config space: %s", vpci::to_string(e));
            return false;
        }
        for (uint32_t gsi : {d.gsi, d.legacy_gsi[0], d.legacy_gsi[1]}) {
            if (gsi == NO_GSI) continue;
            if (!unit || gsi < unit->gsi_base || gsi >= unit->gsi_base + unit->pins || gsi - unit->gsi_base >= 64) {
                log::format(why, n, "interrupt line GSI %u of a device is not on the first IOAPIC", gsi);
                return false;
            }
            owned |= 1ull << (gsi - unit->gsi_base);
        }
    }
    // A Linux partition's MADT must list an IOAPIC: it gets the virtual one even with no pin of its own.
    if (!owned && (p.config.file.kind != NATSUME_KIND_LINUX || !unit)) return true;
    vioapic::Config cfg{unit->pins,
                        owned,
                        p.config.apic_id,
                        remap,
                        remap ? vtd::irte_base_for(p) : uint16_t(0),
                        unit->id,
                        unit->version,
                        live_low,
                        reinterpret_cast<void*>(static_cast<uintptr_t>(unit->gsi_base))};
    // Linux picks the core of each interrupt: the entry may name any of the partition's cores.
    for (uint32_t k = 0; k < p.config.core_count && k < vioapic::MAX_CORES; k++) cfg.cores[k] = p.config.apic_ids[k];
    cfg.core_count = static_cast<uint8_t>(p.config.core_count);
    if (!vioapic::config_ok(cfg)) {
        log::format(why, n, "virtual IOAPIC configuration rejected");
        return false;
    }
    p.devices.vioapic    = new (p.devices.vioapic_storage) vioapic::Vioapic(cfg);
    p.devices.ioapic_gpa = unit->base & ~(IOAPIC_PAGE - 1);
    return true;
}

bool msix_access(Partition& p, uint64_t gpa, bool write, uint8_t size, uint64_t& value, bool& refused,
                 const char*& why) {
    refused = false;
    for (uint32_t i = 0; i < p.devices.count; i++) {
        PartitionDevice& d = p.devices.list[i];
        if (!d.msix || !msix::in_table_pages(d.msix_loc, gpa)) continue;
        if (const char* bad = msix::access_refusal(d.msix_loc, gpa, size, write)) {
            why     = bad;
            refused = true;
            if (!write) value = ~0ull;                                     // what a read of nothing returns
            return size == 4 || size == 8 ? !(gpa & (size - 1u)) : false;  // bad shape: the caller injects #GP
        }
        uint32_t off = msix::offset_in_table(d.msix_loc, gpa);
        if (off == msix::NOT_IN_TABLE) {
            // The PBA or other registers sharing the table's pages: the real thing.
            auto* r32 = reinterpret_cast<volatile uint32_t*>(gpa);
            auto* r64 = reinterpret_cast<volatile uint64_t*>(gpa);
            if (write) {
                if (size == 8)
                    *r64 = value;
                else
                    *r32 = static_cast<uint32_t>(value);
            } else
                value = size == 8 ? *r64 : *r32;
            return true;
        }
        if (!write) {
            value = d.msix_table.read(off, size);
            return true;
        }
        msix::Action a = d.msix_table.write(off, size, value);
        write_msix_hw(d, a);
        if (a.kind == msix::Action::Kind::Refused) {
            refused = true;
            why     = a.why;
        }
        return true;
    }
    return false;
}

uint32_t quiesce(Partition& p) {
    const pci::ConfigAccess& hw = pci_hw::access();
    for (uint32_t i = 0; i < p.devices.count; i++) {
        const PartitionDevice& d = p.devices.list[i];
        uint16_t cmd             = pci::read16(hw, d.bdf, pci::COMMAND);
        pci::write16(hw, d.bdf, pci::COMMAND,
                     static_cast<uint16_t>((cmd & ~pci::CMD_BUS_MASTER) | pci::CMD_INTERRUPT_DISABLE));
        if (d.fn->cap_msi) {
            uint16_t offset = static_cast<uint16_t>(d.fn->cap_msi + pci::CAP_MESSAGE_CONTROL);
            pci::write16(hw, d.bdf, offset,
                         static_cast<uint16_t>(pci::read16(hw, d.bdf, offset) & ~pci::MSI_CONTROL_ENABLE));
        }
        if (d.fn->cap_msix) {
            uint16_t offset = static_cast<uint16_t>(d.fn->cap_msix + pci::CAP_MESSAGE_CONTROL);
            pci::write16(hw, d.bdf, offset,
                         static_cast<uint16_t>(pci::read16(hw, d.bdf, offset) | msix::CONTROL_FUNCTION_MASK));
        }
        if (d.gsi != NO_GSI && !shared_intx::is_shared(d.gsi)) ioapic_hw::mask(d.gsi);
        for (uint32_t gsi : d.legacy_gsi)
            if (gsi != NO_GSI) ioapic_hw::mask(gsi);
    }
    return p.devices.count;
}

}  // namespace natsume::x86::devices
