#include "arch/x86/vtd/platform.hpp"

#include <new>

#include "arch/x86/ioapic_hw.hpp"
#include "arch/x86/pci_hw.hpp"
#include "arch/x86/shared_intx.hpp"
#include "arch/x86/vtd/erratum.hpp"
#include "arch/x86/vtd/iommu.hpp"
#include "base/log.hpp"
#include "base/spinlock.hpp"
#include "partition/channels.hpp"
#include "vdev/msi_route.hpp"

namespace natsume::x86::vtd {
namespace {

constexpr uint32_t MAX_UNITS            = dmar::MAX_UNITS;
constexpr uint32_t DOMAIN_SLOTS         = MAX_PARTITIONS + 1;  // partitions, then the hypervisor's RMRR domain
constexpr uint32_t HV_SLOT              = MAX_PARTITIONS;
constexpr unsigned IRT_LOG2             = 8;     // 256 entries: one page
constexpr uint8_t MAX_XAPIC_DESTINATION = 0xfe;  // 0xff is the xAPIC broadcast id
constexpr uint16_t IOAPIC_IRTE_BASE     = 0;
// Entries 0..63 follow the IOAPIC's pins (partitions' and the boot core's
// shared lines alike: a pin has one owner); MSI and MSI-X entries of the
// partitions' devices are handed out above them at boot.
constexpr uint16_t MSI_IRTE_BASE = vioapic::MAX_PINS;
constexpr uint32_t IRT_ENTRIES   = 1u << IRT_LOG2;
static_assert(MSI_IRTE_BASE < IRT_ENTRIES);

// The IOAPIC's requester id, from a DMAR device scope of type IOAPIC: the
// unit checks it against the IRTE's SID (VT-d 8.3.1.1).
struct IoapicSource {
    bool found;
    uint16_t sid;
    uint32_t unit;
};

dmar::Dmar table;
uint32_t unit_count;
constinit Iommu units[MAX_UNITS]{};  // constant-initialized: the image runs no constructors
alignas(SlDomain) unsigned char domain_storage[DOMAIN_SLOTS][MAX_UNITS][sizeof(SlDomain)];
SlDomain* domains[DOMAIN_SLOTS][MAX_UNITS];
IoapicSource ioapic_source;  // of the first IOAPIC: the one partitions' INTx pins are on
bool ir_on;
bool ir_eim;
uint16_t next_msi_irte = MSI_IRTE_BASE;
// Entries change at run time from every partition's core (IOAPIC pins, MSI,
// MSI-X): one writer at a time per table and invalidation queue.
Spinlock irte_lock;
char ir_off_reason[128] = "no DMAR";  // why detect() found interrupt remapping unusable

uint8_t config_read8(void*, uint8_t bus, uint8_t device, uint8_t function, uint16_t offset) {
    auto bdf = static_cast<uint16_t>(bus << 8 | device << 3 | function);
    return pci::read8(pci_hw::access(), bdf, offset);
}

bool fail(char* why, size_t n, const char* text) {
    log::format(why, n, "%s", text);
    return false;
}

const char* bdf_text(char buf[8], uint16_t bdf) { return pci::format_bdf(buf, bdf); }

// ---- detection --------------------------------------------------------------

const char* yes_no(bool b) { return b ? "yes" : "no"; }

void print_unit(uint32_t u, const dmar::Unit& d, Cap cap, Ecap ecap) {
    log::print(
        "natsume: vtd: unit %u at 0x%lx: SAGAW 0x%x (%s), MGAW %u, %u-bit domain ids, QI %s, IR %s, EIM %s, "
        "%s, caching mode %s, %zu scopes%s\n",
        u, d.base, cap.sagaw(), cap.supports_levels(4) ? "4-level" : "3-level", cap.mgaw(), cap.domain_id_bits(),
        yes_no(ecap.queued_invalidation()), yes_no(ecap.interrupt_remapping()), yes_no(ecap.extended_interrupt_mode()),
        ecap.coherent() ? "coherent" : "not coherent", yes_no(cap.caching_mode()), d.scope_count,
        d.include_pci_all() ? ", all other PCI devices" : "");
}

// Registers are only read here; nothing is written before setup_platform.
bool probe_units(PlatformInfo& out, char* why, size_t n) {
    bool ir = (table.flags & dmar::DMAR_INTR_REMAP) != 0, eim = true;
    if (!ir) log::format(ir_off_reason, sizeof ir_off_reason, "the DMAR's INTR_REMAP flag is clear");
    for (uint32_t u = 0; u < table.unit_count; u++) {
        const dmar::Unit& d = table.units[u];
        if (d.segment != 0) {
            log::format(why, n, "DMAR unit %u is on PCI segment %u; only segment 0 is supported", u, d.segment);
            return false;
        }
        if (d.base == 0 || (d.base & 0xfff)) {
            log::format(why, n, "DMAR unit %u has register base 0x%lx: a firmware error (VT-d enabled in setup?)", u,
                        d.base);
            return false;
        }
        Cap cap{*reinterpret_cast<volatile uint64_t*>(d.base + static_cast<uint32_t>(Reg64::CAP))};
        Ecap ecap{*reinterpret_cast<volatile uint64_t*>(d.base + static_cast<uint32_t>(Reg64::ECAP))};
        if (cap.raw == ~uint64_t{0} || !(cap.supports_levels(3) || cap.supports_levels(4))) {
            log::format(why, n, "DMAR unit %u at 0x%lx answers CAP 0x%lx: no 3- or 4-level translation", u, d.base,
                        cap.raw);
            return false;
        }
        print_unit(u, d, cap, ecap);
        if (ir && !(ecap.interrupt_remapping() && ecap.queued_invalidation()))
            log::format(ir_off_reason, sizeof ir_off_reason, "unit %u lacks interrupt remapping or queued invalidation",
                        u);
        ir  = ir && ecap.interrupt_remapping() && ecap.queued_invalidation();
        eim = eim && ecap.extended_interrupt_mode();
    }
    out.ir_capable = ir;
    out.eim        = ir && eim;
    return true;
}

void find_ioapic_source() {
    ioapic_source = {};
    if (ioapic_hw::unit_count() == 0) return;
    uint8_t id = ioapic_hw::unit(0).id;
    for (uint32_t u = 0; u < table.unit_count; u++) {
        const dmar::Unit& d = table.units[u];
        for (size_t s = d.first_scope; s < d.first_scope + d.scope_count; s++) {
            const dmar::Scope& sc = table.scopes[s];
            dmar::Bdf bdf{};
            if (sc.type != dmar::ScopeType::Ioapic || sc.enumeration_id != id) continue;
            if (dmar::resolve_path(sc, config_read8, nullptr, bdf) != dmar::PathError::Ok) continue;
            ioapic_source = {true, bdf.raw(), u};
            return;
        }
    }
}

// Interrupt remapping stays off (DMA remapping stays on) on the 5520/X58 IOH
// revisions with the erratum, and when the IOAPIC's source-id is unknown.
void check_ir_usable(PlatformInfo& out, const pci::Inventory& inv) {
    if (!out.ir_capable) return;
    for (size_t i = 0; i < inv.count; i++) {
        const pci::Function& f = inv.functions[i];
        if (f.bdf != 0) continue;
        IrVerdict v = x58_ir_verdict(f.vendor_id, f.device_id, f.revision);
        if (v != IrVerdict::Usable) {
            log::print("natsume: vtd: host bridge %04x:%04x revision 0x%02x: %s\n", f.vendor_id, f.device_id,
                       f.revision, to_string(v));
            out.ir_capable = out.eim = false;
            log::format(ir_off_reason, sizeof ir_off_reason, "IOH erratum (see above)");
            return;
        }
    }
    find_ioapic_source();
    if (ioapic_hw::unit_count() && !ioapic_source.found) {
        log::print(
            "natsume: vtd: IOAPIC id %u has no DMAR device scope, so its source-id is unknown: "
            "interrupt remapping left off, DMA remapping stays on\n",
            ioapic_hw::unit(0).id);
        out.ir_capable = out.eim = false;
        log::format(ir_off_reason, sizeof ir_off_reason, "the IOAPIC's source-id is unknown");
    }
}

void collect_rmrrs(PlatformInfo& out) {
    out.rmrr_count = 0;
    for (size_t i = 0; i < table.rmrr_count && i < dmar::MAX_RMRRS; i++) {
        const dmar::Rmrr& r        = table.rmrrs[i];
        out.rmrr[out.rmrr_count++] = {r.base, r.limit - r.base + 1};
        log::print("natsume: vtd: RMRR 0x%lx-0x%lx (%zu device scopes): kept identity-mapped for its devices\n", r.base,
                   r.limit, r.scope_count);
    }
}

// ---- domains ----------------------------------------------------------------

int unit_of(uint16_t bdf) {
    dmar::Bdf b{pci::bdf_bus(bdf), pci::bdf_dev(bdf), pci::bdf_fn(bdf)};
    return dmar::unit_for(table, 0, b, config_read8, nullptr);
}

bool large_iova(const Partition& p) {
    uint64_t top = p.devices.dma_size ? p.devices.dma_base + p.devices.dma_size : 0;
    if (p.config.ram_size > top) top = p.config.ram_size;
    return top > (uint64_t{1} << address_bits(3));
}

constexpr Attr RW{true, true, false, false, Cache::WB};

// The domain of slot (a partition index or HV_SLOT) on unit u, built on first use.
SlDomain* domain_on(uint32_t slot, uint32_t u, bool wide, char* why, size_t n) {
    if (domains[slot][u]) return domains[slot][u];
    uint16_t id = slot == HV_SLOT ? HYPERVISOR_DOMAIN_ID : partition_domain_id(slot);
    // CAP.ND: a unit with few domain-id bits (4 + 2*ND) may not hold this id.
    if (id >= (uint32_t{1} << units[u].cap().domain_id_bits())) {
        log::format(why, n, "domain %u does not fit unit %u's %u-bit domain ids", id, u,
                    units[u].cap().domain_id_bits());
        return nullptr;
    }
    auto* d         = new (domain_storage[slot][u]) SlDomain(units[u].memory(), id);
    unsigned levels = units[u].domain_levels(wide);
    MapError e      = d->init(levels);
    if (e != MapError::Ok) {
        log::format(why, n, "domain %u on unit %u: %u-level tables could not be built (map error %u)", id, u, levels,
                    static_cast<unsigned>(e));
        return nullptr;
    }
    d->allow_large_pages(units[u].cap().large_2m());
    domains[slot][u] = d;
    return d;
}

bool map_or_fail(SlDomain& d, uint64_t iova, uint64_t hpa, uint64_t size, const char* what, char* why, size_t n) {
    MapError e = d.map(iova, hpa, size, RW);
    if (e == MapError::Ok) return true;
    log::format(why, n, "domain %u: %s 0x%lx+0x%lx could not be mapped at IOVA 0x%lx (map error %u%s)", d.id(), what,
                hpa, size, iova, static_cast<unsigned>(e),
                e == MapError::OutOfRange ? ": beyond what the unit can translate" : "");
    return false;
}

// Guest RAM at IOVA 0 (the guest's physical addresses) and the DMA window at
// its own address: exactly what the partition's EPT gives the guest.
bool build_partition_domain(const Partition& p, uint32_t u, char* why, size_t n) {
    bool fresh  = domains[p.config.id][u] == nullptr;
    SlDomain* d = domain_on(p.config.id, u, large_iova(p), why, n);
    if (!d) return false;
    if (!fresh) return true;
    if (!map_or_fail(*d, 0, p.config.ram_base, p.config.ram_size, "RAM", why, n)) return false;
    if (p.devices.dma_size &&
        !map_or_fail(*d, p.devices.dma_base, p.devices.dma_base, p.devices.dma_size, "DMA window", why, n))
        return false;
    // A channel whose file lets the backend's devices reach it, at the address
    // the backend sees it: its driver hands the device guest-physical addresses.
    for (uint32_t i = 0; i < channels::count(); i++) {
        const channels::Channel& c = *channels::get(i);
        if (!(c.cfg.flags & NATSUME_CHANNEL_BACKEND_DMA) || channels::side_of(c, p) != NATSUME_CHANNEL_BACKEND)
            continue;
        if (!map_or_fail(*d, c.ends[NATSUME_CHANNEL_BACKEND].gpa, c.cfg.base, c.cfg.size, "channel", why, n))
            return false;
    }
    return true;
}

bool build_partition_domains(const Partition& p, char* why, size_t n) {
    for (uint32_t i = 0; i < p.devices.count; i++) {
        char bdf[8];
        int u = unit_of(p.devices.list[i].bdf);
        if (u < 0) {
            log::format(why, n,
                        "partition %s: device %s is under no DMA-remapping unit of the DMAR, so its DMA "
                        "cannot be confined",
                        p.name(), bdf_text(bdf, p.devices.list[i].bdf));
            return false;
        }
        if (!build_partition_domain(p, static_cast<uint32_t>(u), why, n)) return false;
    }
    return true;
}

int owner_of(uint16_t bdf, const Partition* parts, uint32_t count) {
    for (uint32_t i = 0; i < count; i++)
        for (uint32_t k = 0; k < parts[i].devices.count; k++)
            if (parts[i].devices.list[k].bdf == bdf) return static_cast<int>(i);
    return -1;
}

// An RMRR maps 1:1 in the domain of every device it names. Two devices of one
// domain may name the same RMRR: the second finds it mapped already.
bool map_rmrr(SlDomain& d, const dmar::Rmrr& r, char* why, size_t n) {
    uint64_t hpa = 0;
    Attr a{};
    if (d.translate(r.base, hpa, a) && hpa == r.base) return true;
    return map_or_fail(d, r.base, r.base, r.limit - r.base + 1, "RMRR", why, n);
}

bool place_rmrr_device(const dmar::Rmrr& r, uint16_t bdf, Partition* parts, uint32_t count, char* why, size_t n) {
    char b[8];
    int u = unit_of(bdf);
    if (u < 0) return true;  // no unit translates its DMA: nothing to keep mapped
    int owner = owner_of(bdf, parts, count);
    if (owner >= 0) {
        const Partition& p = parts[owner];
        SlDomain* d        = domains[p.config.id][u];
        if (iova_taken(p.config.ram_size, p.devices.dma_base, p.devices.dma_size, r.base, r.limit)) {
            log::format(why, n,
                        "RMRR 0x%lx-0x%lx of device %s (partition %s) falls inside that partition's guest "
                        "RAM or DMA window at those IOVAs; firmware needs it identity-mapped: give the device to "
                        "another partition or shrink the RAM below 0x%lx",
                        r.base, r.limit, bdf_text(b, bdf), p.name(), r.base);
            return false;
        }
        return map_rmrr(*d, r, why, n);
    }
    SlDomain* d = domain_on(HV_SLOT, static_cast<uint32_t>(u), r.limit >= (uint64_t{1} << address_bits(3)), why, n);
    if (!d || !map_rmrr(*d, r, why, n)) return false;
    Status s = units[u].attach(bdf, *d);
    if (s != Status::Ok) {
        log::format(why, n, "unassigned device %s: RMRR domain attach failed: %s", bdf_text(b, bdf), to_string(s));
        return false;
    }
    log::print("natsume: vtd: unassigned device %s: only its RMRR 0x%lx-0x%lx is mapped (hypervisor domain %u)\n",
               bdf_text(b, bdf), r.base, r.limit, HYPERVISOR_DOMAIN_ID);
    return true;
}

bool place_rmrrs(Partition* parts, uint32_t count, char* why, size_t n) {
    for (size_t i = 0; i < table.rmrr_count; i++) {
        const dmar::Rmrr& r = table.rmrrs[i];
        for (size_t s = r.first_scope; s < r.first_scope + r.scope_count; s++) {
            dmar::Bdf bdf{};
            if (table.scopes[s].type != dmar::ScopeType::PciEndpoint) continue;
            if (dmar::resolve_path(table.scopes[s], config_read8, nullptr, bdf) != dmar::PathError::Ok) continue;
            if (!place_rmrr_device(r, bdf.raw(), parts, count, why, n)) return false;
        }
    }
    return true;
}

bool attach_devices(const Partition& p, char* why, size_t n) {
    for (uint32_t i = 0; i < p.devices.count; i++) {
        uint16_t bdf = p.devices.list[i].bdf;
        auto u       = static_cast<uint32_t>(unit_of(bdf));
        Status s     = units[u].attach(bdf, *domains[p.config.id][u]);
        if (s != Status::Ok) {
            char b[8];
            log::format(why, n, "partition %s: device %s: context entry on unit %u: %s", p.name(), bdf_text(b, bdf), u,
                        to_string(s));
            return false;
        }
    }
    return true;
}

void print_partition(const Partition& p) {
    char line[300];
    size_t len = log::format(line, sizeof line, "natsume: vtd: partition %s: ", p.name());
    if (p.devices.count == 0) {
        log::print("%sno devices, no DMA domain needed\n", line);
        return;
    }
    len += log::format(line + len, sizeof line - len, "domain %u, devices", partition_domain_id(p.config.id));
    for (uint32_t i = 0; i < p.devices.count; i++) {
        char b[8];
        len += log::format(line + len, sizeof line - len, "%s%s", i ? ", " : " ", bdf_text(b, p.devices.list[i].bdf));
    }
    len +=
        log::format(line + len, sizeof line - len, ", RAM 0x%lx+0x%lx -> gpa 0", p.config.ram_base, p.config.ram_size);
    if (p.devices.dma_size)
        len += log::format(line + len, sizeof line - len, ", window 0x%lx+0x%lx identity", p.devices.dma_base,
                           p.devices.dma_size);
    for (uint32_t i = 0; i < channels::count(); i++) {
        const channels::Channel& c = *channels::get(i);
        if ((c.cfg.flags & NATSUME_CHANNEL_BACKEND_DMA) && channels::side_of(c, p) == NATSUME_CHANNEL_BACKEND)
            len += log::format(line + len, sizeof line - len, ", channel %s 0x%lx+0x%lx -> gpa 0x%lx", c.cfg.name,
                               c.cfg.base, c.cfg.size, c.ends[NATSUME_CHANNEL_BACKEND].gpa);
    }
    log::print("%s, DMA isolated\n", line);
}

bool init_units(char* why, size_t n) {
    unit_count = static_cast<uint32_t>(table.unit_count);
    for (uint32_t u = 0; u < unit_count; u++) {
        Status s = units[u].init(table.units[u].base);
        if (s != Status::Ok) {
            log::format(why, n, "VT-d unit %u at 0x%lx: %s", u, table.units[u].base, to_string(s));
            return false;
        }
    }
    return true;
}

bool enable_units(char* why, size_t n) {
    for (uint32_t u = 0; u < unit_count; u++) {
        Status s = units[u].enable_translation();
        if (s != Status::Ok) {
            log::format(why, n, "VT-d unit %u: enabling translation: %s", u, to_string(s));
            return false;
        }
        log::print(
            "natsume: vtd: unit %u: translation enabled (%s invalidation); requesters without a context entry "
            "are blocked\n",
            u, units[u].queued() ? "queued" : "register-based");
    }
    return true;
}

// ---- interrupt remapping ----------------------------------------------------

bool destinations_fit(const Partition* parts, uint32_t count, bool eim, char* why, size_t n) {
    if (eim) return true;
    for (uint32_t i = 0; i < count; i++)
        for (uint32_t k = 0; k < parts[i].config.core_count; k++)
            if (parts[i].config.apic_ids[k] > MAX_XAPIC_DESTINATION) {
                log::format(why, n, "partition %s: core %u cannot be an interrupt destination without EIM (x2APIC ids)",
                            parts[i].name(), parts[i].config.apic_ids[k]);
                return false;
            }
    return true;
}

void print_msi_entries(const Partition& p) {
    for (uint32_t i = 0; i < p.devices.count; i++) {
        const PartitionDevice& d = p.devices.list[i];
        if (!d.msi_irte_count && !d.msix_irte_count) continue;
        char b[8], line[200];
        size_t len =
            log::format(line, sizeof line, "natsume: vtd: partition %s: device %s:", p.name(), bdf_text(b, d.bdf));
        if (d.msi_irte_count) len += log::format(line + len, sizeof line - len, " MSI through entry %u", d.msi_irte);
        if (d.msix_irte_count)
            len += log::format(line + len, sizeof line - len, "%s MSI-X through entries %u-%u",
                               d.msi_irte_count ? "," : "", d.msix_irte, d.msix_irte + d.msix_irte_count - 1);
        log::print("%s, source-id %s checked\n", line, b);
    }
}

bool start_interrupt_remapping(const PlatformInfo& info, const Partition* parts, uint32_t count, char* why, size_t n) {
    if (!info.ir_capable) {
        log::print(
            "natsume: vtd: interrupt remapping not used (%s): IOAPIC entries go straight to the owner "
            "core\n",
            ir_off_reason);
        return true;
    }
    if (!destinations_fit(parts, count, info.eim, why, n)) return false;
    for (uint32_t u = 0; u < unit_count; u++) {
        Status s = units[u].enable_interrupt_remapping(IRT_LOG2, info.eim);
        if (s != Status::Ok) {
            log::format(why, n, "VT-d unit %u: enabling interrupt remapping: %s", u, to_string(s));
            return false;
        }
    }
    ir_on  = true;
    ir_eim = info.eim;
    char b[8];
    log::print(
        "natsume: vtd: interrupt remapping on: %u entries per unit, %s destinations, IOAPIC id %u "
        "(source-id %s) through unit %u, compatibility-format interrupts blocked\n",
        IRT_ENTRIES, info.eim ? "x2APIC" : "xAPIC", ioapic_hw::unit_count() ? ioapic_hw::unit(0).id : 0u,
        bdf_text(b, ioapic_source.sid), ioapic_source.unit);
    for (uint32_t i = 0; i < count; i++) print_msi_entries(parts[i]);
    return true;
}

}  // namespace

bool detect(const acpi::PhysMem& mem, const acpi::Tables& tables, const pci::Inventory& inv, PlatformInfo& out,
            char* why, size_t n) {
    out           = PlatformInfo{};
    uint64_t phys = 0;
    if (acpi::find_table(mem, tables, "DMAR", phys) != acpi::Error::Ok) {
        log::format(out.summary, sizeof out.summary, "no ACPI DMAR table: no DMA-remapping hardware");
        log::print("natsume: vtd: %s\n", out.summary);
        return true;
    }
    const void* head  = mem.map(mem.ctx, phys, 8);
    uint32_t len      = head ? static_cast<const uint32_t*>(head)[1] : 0;
    const void* bytes = head ? mem.map(mem.ctx, phys, len) : nullptr;
    if (!bytes) return fail(why, n, "ACPI DMAR table is not in mapped memory");
    dmar::Error e = dmar::parse(static_cast<const uint8_t*>(bytes), len, table);
    if (e != dmar::Error::Ok) {
        log::format(why, n, "ACPI DMAR table is malformed: %s", dmar::to_string(e));
        return false;
    }
    if (table.unit_count == 0) return fail(why, n, "ACPI DMAR table lists no remapping unit (DRHD)");
    if (!probe_units(out, why, n)) return false;
    check_ir_usable(out, inv);
    collect_rmrrs(out);
    out.present = true;
    out.units   = static_cast<uint32_t>(table.unit_count);
    log::format(out.summary, sizeof out.summary, "VT-d: %u unit(s), host address width %u, DMA remapping%s%s",
                out.units, table.host_address_width, out.ir_capable ? ", interrupt remapping" : "",
                out.ir_capable ? (out.eim ? " (x2APIC)" : " (xAPIC)") : "");
    log::print("natsume: vtd: %s\n", out.summary);
    return true;
}

bool setup_platform(const PlatformInfo& info, Partition* parts, uint32_t count, char* why, size_t n) {
    if (!info.present) {
        log::print(
            "natsume: vtd: no IOMMU: DMA of passed-through devices is NOT isolated; partitions must keep "
            "their DMA buffers in identity DMA windows\n");
        return true;
    }
    if (!init_units(why, n)) return false;
    for (uint32_t i = 0; i < count; i++)
        if (!build_partition_domains(parts[i], why, n)) return false;
    if (!place_rmrrs(parts, count, why, n)) return false;
    for (uint32_t i = 0; i < count; i++)
        if (!attach_devices(parts[i], why, n)) return false;
    if (!enable_units(why, n)) return false;
    for (uint32_t i = 0; i < count; i++) print_partition(parts[i]);
    return start_interrupt_remapping(info, parts, count, why, n);
}

bool interrupt_remapping_on() { return ir_on; }

void enable_fault_events(uint8_t vector, uint32_t boot_apic_id) {
    for (uint32_t u = 0; u < unit_count; u++) units[u].enable_fault_event(vector, boot_apic_id);
}

namespace {
struct FaultLog {
    const Partition* parts;
    uint32_t count;
    uint32_t unit;
};

const char* owner_of(const FaultLog& f, uint16_t sid) {
    for (uint32_t i = 0; i < f.count; i++)
        for (uint32_t d = 0; d < f.parts[i].devices.count; d++)
            if (f.parts[i].devices.list[d].bdf == sid) return f.parts[i].name();
    return "no partition";
}

void log_fault(void* ctx, const FaultRecord& r) {
    const FaultLog& f = *static_cast<const FaultLog*>(ctx);
    char bdf[8];
    log::print("natsume: vtd: unit %u fault: device %s (%s) %s 0x%lx: reason 0x%x, %s\n", f.unit,
               bdf_text(bdf, r.source_id), owner_of(f, r.source_id), r.read ? "read of" : "write to", r.address,
               r.reason, fault_reason_text(r.reason));
}
}  // namespace

size_t drain_and_log_faults(const Partition* parts, uint32_t count) {
    size_t total = 0;
    for (uint32_t u = 0; u < unit_count; u++) {
        FaultLog f{parts, count, u};
        total += units[u].drain_faults(log_fault, &f);
    }
    return total;
}

// A pin belongs to at most one partition (shared lines are refused), so the
// pin number itself is a collision-free entry index for every partition.
uint16_t irte_base_for(const Partition&) { return IOAPIC_IRTE_BASE; }

namespace {
// Every runtime IRTE write: the destination checked against the format in
// use, one writer at a time per table and invalidation queue.
const char* write_irte(uint32_t unit, uint16_t index, const IrteSpec& spec, MsiMessage* msi) {
    if (!ir_eim && spec.destination > MAX_XAPIC_DESTINATION)
        return "the core's APIC id needs x2APIC destinations (EIM)";
    LockGuard g(irte_lock);
    Status s = msi ? units[unit].route_msi(index, spec, *msi) : units[unit].set_irte(index, spec);
    return s == Status::Ok ? nullptr : to_string(s);
}
}  // namespace

bool program_irte(const Partition& p, uint16_t index, uint8_t vector, bool level, uint32_t dest, char* why, size_t n) {
    if (!ir_on) return fail(why, n, "interrupt remapping is off");
    if (!p.owns_core(dest)) {
        log::format(why, n, "destination APIC ID %u is not a core of partition %s", dest, p.name());
        return false;
    }
    uint16_t base = irte_base_for(p);
    if (index < base || index - base >= vioapic::MAX_PINS || !p.devices.vioapic ||
        !p.devices.vioapic->owns(static_cast<uint8_t>(index - base))) {
        log::format(why, n, "interrupt-remapping entry %u is not a pin of partition %s", index, p.name());
        return false;
    }
    if (shared_intx::is_shared(ioapic_hw::unit(0).gsi_base + index - base)) {
        log::format(why, n, "pin %u is a shared line the hypervisor routes", index - base);
        return false;
    }
    IrteSpec spec{vector, dest, ir_eim, level, false, ioapic_source.sid, SourceCheck::RequesterId};
    const char* refused = write_irte(ioapic_source.unit, index, spec, nullptr);
    if (!refused) return true;
    log::format(why, n, "interrupt-remapping entry %u: %s", index, refused);
    return false;
}

bool reserve_msi_entries(uint16_t count, uint16_t& first, char* why, size_t n) {
    first = next_msi_irte;
    if (count > IRT_ENTRIES - next_msi_irte) {
        log::format(why, n, "%u more MSI/MSI-X remapping entries needed, %u of %u left", count,
                    IRT_ENTRIES - next_msi_irte, IRT_ENTRIES - MSI_IRTE_BASE);
        return false;
    }
    next_msi_irte = static_cast<uint16_t>(next_msi_irte + count);
    return true;
}

const char* route_device_msi(uint16_t bdf, uint16_t index, uint8_t vector, uint32_t apic_id, msi::Message& out) {
    if (!ir_on) return "interrupt remapping is off";
    if (index < MSI_IRTE_BASE || index >= next_msi_irte) return "remapping entry not reserved for a device";
    if (vector < msi::MIN_VECTOR) return "vectors 0-15 are reserved exceptions";
    int u = unit_of(bdf);
    if (u < 0) return "the device is under no remapping unit";
    IrteSpec spec{vector, apic_id, ir_eim, false, false, bdf, SourceCheck::RequesterId};
    return write_irte(static_cast<uint32_t>(u), index, spec, &out);
}

const char* program_shared_line(uint32_t gsi, uint8_t vector, uint32_t apic_id, uint64_t& rte) {
    if (!ir_on) return "interrupt remapping is off";
    const ioapic_hw::Unit& io = ioapic_hw::unit(0);
    if (gsi < io.gsi_base || gsi - io.gsi_base >= io.pins || gsi - io.gsi_base >= vioapic::MAX_PINS)
        return "the line is not on the first IOAPIC";
    auto index = static_cast<uint16_t>(IOAPIC_IRTE_BASE + gsi - io.gsi_base);
    // PCI INTx: level-triggered, active low (PCI Local Bus Spec 3.0, 2.2.6).
    IrteSpec spec{vector, apic_id, ir_eim, true, false, ioapic_source.sid, SourceCheck::RequesterId};
    if (const char* refused = write_irte(ioapic_source.unit, index, spec, nullptr)) return refused;
    rte = remappable_rte(index, vector, true, true, false);
    return nullptr;
}

}  // namespace natsume::x86::vtd
