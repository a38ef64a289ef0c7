#include "arch/x86/partition_build.hpp"

#include <initializer_list>
#include <stdarg.h>

#include <natsume/bootinfo.h>

#include "drivers/block/ata.hpp"
#include "drivers/x86/cpu.hpp"
#include "drivers/x86/cpuid.hpp"
#include "drivers/x86/descriptors.hpp"

#include "arch/x86/devices.hpp"
#include "arch/x86/page_table.hpp"
#include "arch/x86/pci_hw.hpp"
#include "arch/x86/vmx_defs.hpp"
#include "base/klib.hpp"
#include "base/log.hpp"
#include "base/page_pool.hpp"
#include "lib/elf.hpp"
#include "partition/channels.hpp"
#include "vdev/lvt.hpp"

namespace natsume::x86 {
namespace {

// Hypervisor page tables live in the page pool, reached by identity mapping.
struct PoolMemory {
    uint64_t alloc_table() { return page_pool::alloc(); }
    uint64_t* table(uint64_t phys) { return reinterpret_cast<uint64_t*>(phys); }
    void store(uint64_t* slot, uint64_t v) { *reinterpret_cast<volatile uint64_t*>(slot) = v; }
};

// The guest's own initial page tables live in its RAM at fixed guest-physical
// pages (bootinfo.h); the hypervisor writes them through the RAM's host address.
struct GuestTableMemory {
    uint64_t ram_base;
    uint64_t next = NATSUME_GUEST_PML4_GPA;
    uint64_t alloc_table() {
        if (next >= NATSUME_GUEST_PML4_GPA + GUEST_TABLE_PAGES * PAGE_4K) return 0;
        uint64_t gpa = next;
        next += PAGE_4K;
        memset(reinterpret_cast<void*>(ram_base + gpa), 0, PAGE_4K);
        return gpa;
    }
    uint64_t* table(uint64_t gpa) { return reinterpret_cast<uint64_t*>(ram_base + gpa); }
    void store(uint64_t* slot, uint64_t v) { *slot = v; }
    static constexpr uint64_t GUEST_TABLE_PAGES = 6;  // PML4, PDPT, 4 page directories
};

constexpr uint64_t LAPIC_MMIO     = 0xfee00000;
constexpr uint64_t GUEST_UC_START = 0xfe000000, GUEST_MAP_END = 0x100000000ull;
constexpr uint64_t GUEST_TSS_GPA = NATSUME_GUEST_GDT_GPA + 0x80;

using Ept = PageTable<EptEntry, PoolMemory>;

uint64_t page_down(uint64_t a) { return a & ~(PAGE_4K - 1); }
uint64_t page_up(uint64_t a) { return (a + PAGE_4K - 1) & ~(PAGE_4K - 1); }

bool owned_by(const Partition& p, uint16_t bdf) {
    for (uint32_t i = 0; i < p.devices.count; i++)
        if (p.devices.list[i].bdf == bdf) return true;
    return false;
}

// A BAR smaller than a page would expose whatever else shares the page.
bool bar_page_shared(const Partition& p, uint64_t lo, uint64_t hi, uint16_t& other) {
    const pci::Inventory& inv = devices::inventory();
    for (size_t i = 0; i < inv.count; i++) {
        const pci::Function& f = inv.functions[i];
        if (owned_by(p, f.bdf)) continue;
        for (uint8_t b = 0; b < f.bar_count; b++) {
            const pci::Bar& bar = f.bars[b];
            if (bar.io || !bar.size) continue;
            if (page_down(bar.base) < hi && page_up(bar.base + bar.size) > lo) {
                other = f.bdf;
                return true;
            }
        }
    }
    return false;
}

// Maps [lo, hi) identity, uncached, leaving out the emulated regions (page-aligned).
MapError map_with_holes(Ept& ept, uint64_t lo, uint64_t hi, const MmioRegistry& holes) {
    uint64_t at = lo;
    while (at < hi) {
        uint64_t next = hi;
        bool in_hole  = false;
        for (size_t h = 0; h < holes.count(); h++) {
            uint64_t hb = holes.at(h).base, he = hb + holes.at(h).size;
            if (at >= hb && at < he) {
                in_hole = true;
                next    = he < hi ? he : hi;
                break;
            }
            if (hb > at && hb < next) next = hb;
        }
        if (!in_hole) {
            MapError e = ept.map(at, at, next - at, Attr{true, true, false, false, Cache::UC});
            if (e != MapError::Ok) return e;
        }
        at = next;
    }
    return MapError::Ok;
}

// Every region the partition's accesses are emulated in, before any mapping:
// the BAR mappings leave exactly the registered pages out, and the exit
// handler dispatches on the same registry.
bool register_mmio(Partition& p, BuildError& err) {
    p.devices.mmio.clear();
    auto add = [&](uint64_t base, uint64_t size, MmioKind kind, uint8_t device) {
        MmioRegistry::Error e = p.devices.mmio.add(base, size, kind, device);
        if (e == MmioRegistry::Error::Ok) return true;
        return build_fail(err, "%s region at 0x%lx+0x%lx: %s", to_string(kind), base, size, to_string(e));
    };
    if (p.config.file.lapic_mode == NATSUME_LAPIC_TRAPPED && !add(LAPIC_MMIO, PAGE_4K, MmioKind::Lapic, 0))
        return false;
    if (p.devices.ioapic_gpa && !add(p.devices.ioapic_gpa, PAGE_4K, MmioKind::Ioapic, 0)) return false;
    for (uint32_t i = 0; i < p.devices.count; i++) {
        const PartitionDevice& d = p.devices.list[i];
        auto index               = static_cast<uint8_t>(i);
        if (d.trapped_page && !add(d.trapped_page, PAGE_4K, MmioKind::DeviceRegister, index)) return false;
        if (d.msix && !add(d.msix_loc.table_first_page, uint64_t(d.msix_loc.table_page_count) * PAGE_4K,
                           MmioKind::MsixTable, index))
            return false;
    }
    const pci_hw::EcamWindow& w = pci_hw::ecam();
    if (w.present) {
        uint64_t first = w.base + (uint64_t(w.start_bus) << 20), size = (uint64_t(w.end_bus) - w.start_bus + 1) << 20;
        if (!add(first, size, MmioKind::Ecam, 0)) return false;
    }
    return true;
}

bool map_device_bars(Partition& p, Ept& ept, BuildError& err) {
    for (uint32_t i = 0; i < p.devices.count; i++) {
        const pci::Function& f = *p.devices.list[i].fn;
        for (uint8_t b = 0; b < f.bar_count; b++) {
            const pci::Bar& bar = f.bars[b];
            if (bar.io || !bar.size || !bar.base) continue;
            uint64_t lo = page_down(bar.base), hi = page_up(bar.base + bar.size);
            char bdf[8], other_bdf[8];
            pci::format_bdf(bdf, f.bdf);
            uint16_t other = 0;
            if (bar_page_shared(p, lo, hi, other)) {
                pci::format_bdf(other_bdf, other);
                return build_fail(err, "device %s BAR%u shares a page with device %s of another owner", bdf, bar.index,
                                  other_bdf);
            }
            // Device registers: uncached, never executable, at their physical address,
            // except pages the hypervisor must see accesses to (a shared-line check
            // register page, the MSI-X table).
            MapError e = map_with_holes(ept, lo, hi, p.devices.mmio);
            if (e != MapError::Ok) {
                return build_fail(err, "EPT mapping of device %s BAR%u failed: %s", bdf, bar.index, to_string(e));
            }
        }
    }
    return true;
}

bool build_ept(Partition& p, BuildError& err) {
    PoolMemory mem;
    Ept ept(mem);
    if (ept.init() != MapError::Ok) return build_fail(err, "EPT: out of hypervisor page-pool memory");
    MapError e = ept.map(0, p.config.ram_base, p.config.ram_size, Attr{true, true, true, false, Cache::WB});
    if (e != MapError::Ok) return build_fail(err, "EPT mapping of the partition RAM failed: %s", to_string(e));
    if (p.devices.dma_size) {
        // Identity window: the device's DMA addresses are the guest's own.
        // A Linux partition runs its kernel from it (linux_boot::main_memory).
        const bool exec = p.config.file.kind == NATSUME_KIND_LINUX;
        e               = ept.map(p.devices.dma_base, p.devices.dma_base, p.devices.dma_size,
                                  Attr{true, true, exec, false, Cache::WB});
        if (e != MapError::Ok) return build_fail(err, "EPT mapping of the DMA window failed: %s", to_string(e));
    }
    // Its channels, write-back and never executable, where the file says it sees them.
    for (uint32_t i = 0; i < channels::count(); i++) {
        const channels::Channel& c = *channels::get(i);
        int side                   = channels::side_of(c, p);
        if (side < 0) continue;
        e = ept.map(c.ends[side].gpa, c.cfg.base, c.cfg.size, Attr{true, true, false, false, Cache::WB});
        if (e != MapError::Ok) return build_fail(err, "EPT mapping of channel %s failed: %s", c.cfg.name, to_string(e));
    }
    if (!register_mmio(p, err) || !map_device_bars(p, ept, err)) return false;
    if (p.config.file.lapic_mode == NATSUME_LAPIC_PASSTHROUGH) {
        // lapic = "passthrough": the local APIC page reaches the hardware (trusted guest).
        e = ept.map(LAPIC_MMIO, LAPIC_MMIO, PAGE_4K, Attr{true, true, false, false, Cache::UC});
        if (e != MapError::Ok) return build_fail(err, "EPT mapping of the local APIC page failed: %s", to_string(e));
    }
    p.x86.eptp = make_eptp(ept.root());
    return true;
}

bool build_guest_paging(Partition& p, BuildError& err) {
    GuestTableMemory mem{p.config.ram_base};
    PageTable<Pte, GuestTableMemory> pt(mem);
    if (pt.init() != MapError::Ok || pt.root() != NATSUME_GUEST_PML4_GPA)
        return build_fail(err, "guest page tables: could not place the PML4");
    MapError e = pt.map(0, 0, GUEST_UC_START, Attr{true, true, true, false, Cache::WB});
    if (e == MapError::Ok)
        e = pt.map(GUEST_UC_START, GUEST_UC_START, GUEST_MAP_END - GUEST_UC_START,
                   Attr{true, true, false, false, Cache::UC});
    if (e != MapError::Ok) return build_fail(err, "guest page tables: %s", to_string(e));
    return true;
}

// GDT: null, 64-bit code (0x08), data (0x10), 64-bit busy TSS (0x18, 16 bytes).
void build_guest_gdt(Partition& p) {
    auto* gdt = reinterpret_cast<uint64_t*>(p.config.ram_base + NATSUME_GUEST_GDT_GPA);
    gdt[0]    = 0;
    // Flat code and data with the accessed bit set, as the VMCS access rights say (vcpu.cpp).
    gdt[NATSUME_GUEST_SEL_CODE64 / 8] = 0x00af9b000000ffffull;
    gdt[NATSUME_GUEST_SEL_DATA / 8]   = 0x00cf93000000ffffull;
    const uint64_t base               = GUEST_TSS_GPA;
    const uint32_t limit              = sizeof(drivers::x86::Tss) - 1;
    // Busy: the VMCS loads TR with it (guest TR access rights 0x8b, vcpu.cpp).
    drivers::x86::tss_descriptor(&gdt[NATSUME_GUEST_SEL_TSS / 8], base, limit, true);
}

void build_boot_info(Partition& p, uint64_t tsc_khz) {
    auto* bi = reinterpret_cast<natsume_boot_info*>(p.config.ram_base + NATSUME_GUEST_BOOT_INFO_GPA);
    memset(bi, 0, sizeof *bi);
    bi->magic   = NATSUME_BOOT_INFO_MAGIC;
    bi->version = NATSUME_BOOT_INFO_VERSION;
    bi->size    = sizeof *bi;
    memcpy(bi->name, p.name(), sizeof bi->name);
    bi->name[sizeof bi->name - 1] = 0;
    bi->partition_id              = p.config.id;
    bi->apic_id                   = p.config.apic_id;
    bi->ram_size                  = p.config.ram_size;
    bi->tsc_khz                   = tsc_khz;
    bi->console                   = NATSUME_CONSOLE_HYPERCALL;
    bi->image_end                 = p.config.image_end;
    memcpy(bi->cmdline, p.config.file.cmdline, sizeof bi->cmdline);
    bi->cmdline[sizeof bi->cmdline - 1] = 0;
    bi->dma_base                        = p.devices.dma_base;
    bi->dma_size                        = p.devices.dma_size;
    bi->ioapic_gpa                      = p.devices.ioapic_gpa;
    bi->device_count                    = p.devices.count;
    for (uint32_t i = 0; i < p.devices.count && i < NATSUME_BOOT_MAX_DEVICES; i++) {
        const PartitionDevice& d = p.devices.list[i];
        auto line      = [](uint32_t gsi) { return static_cast<uint16_t>(gsi == NO_GSI ? NATSUME_BOOT_NO_LINE : gsi); };
        bi->devices[i] = {d.bdf,   d.vendor_id, d.device_id,
                          d.flags, d.gsi,       {line(d.legacy_gsi[0]), line(d.legacy_gsi[1])}};
    }
    for (uint32_t i = 0; i < channels::count() && bi->channel_count < NATSUME_BOOT_MAX_CHANNELS; i++) {
        const channels::Channel& c = *channels::get(i);
        int side                   = channels::side_of(c, p);
        if (side < 0) continue;
        natsume_boot_channel& b = bi->channels[bi->channel_count++];
        memcpy(b.name, c.cfg.name, sizeof b.name);
        b.name[sizeof b.name - 1] = 0;
        b.gpa                     = c.ends[side].gpa;
        b.size                    = c.cfg.size;
        b.id                      = i;
        b.role                    = static_cast<uint32_t>(side);
        b.peer_id                 = c.ends[1 - side].part->config.id;
        b.dma_address             = channels::device_address(c, side, p.devices.iommu);
        b.flags                   = b.dma_address ? NATSUME_CHANNEL_BACKEND_DMA : 0;
    }
}

enum class MsrAccess { Read, Write };

void msr_intercept(uint8_t* bitmap, uint32_t msr, MsrAccess access, bool intercept) {
    // SDM 24.6.9: read-low at 0, read-high at 1 KiB, write-low at 2 KiB, write-high at 3 KiB.
    uint32_t base  = (msr >= 0xc0000000 ? 0x400 : 0) + (access == MsrAccess::Write ? 0x800 : 0);
    uint32_t index = msr & 0x1fff;
    auto bit       = static_cast<uint8_t>(1u << (index % 8));
    if (intercept)
        bitmap[base + index / 8] |= bit;
    else
        bitmap[base + index / 8] &= static_cast<uint8_t>(~bit);
}

void msr_passthrough(uint8_t* bitmap, uint32_t msr) {
    msr_intercept(bitmap, msr, MsrAccess::Read, false);
    msr_intercept(bitmap, msr, MsrAccess::Write, false);
}

void open_port(uint8_t* io_bitmap, uint32_t port) { io_bitmap[port / 8] &= static_cast<uint8_t>(~(1u << (port % 8))); }

// An IDE controller in compatibility mode decodes its channels' legacy ports
// instead of BARs 0-3: the owner gets those, the task file and the control
// port (not 0x3F7/0x377, which belong to the floppy controller).
void open_legacy_ide_ports(Partition& p, const pci::Function& f) {
    namespace ata = drivers::ata;
    if (!ata::is_ide(f.class_code, f.subclass)) return;
    for (bool secondary : {false, true}) {
        if (!ata::compatibility_mode(f.prog_if, secondary)) continue;
        const ata::LegacyChannel& c = secondary ? ata::SECONDARY : ata::PRIMARY;
        for (uint16_t port = c.command; port < c.command + ata::COMMAND_BLOCK_PORTS; port++)
            open_port(p.x86.io_bitmap, port);
        open_port(p.x86.io_bitmap, c.control);
        char bdf[8];
        pci::format_bdf(bdf, f.bdf);
        log::print(
            "natsume: partition: %s: device %s is an IDE controller in compatibility mode: %s channel ports "
            "0x%x-0x%x and 0x%x opened\n",
            p.name(), bdf, secondary ? "secondary" : "primary", c.command, c.command + ata::COMMAND_BLOCK_PORTS - 1,
            c.control);
    }
}

// I/O BARs of owned devices reach the hardware with no exit (SDM 24.6.4).
void open_device_ports(Partition& p) {
    for (uint32_t i = 0; i < p.devices.count; i++) {
        const pci::Function& f = *p.devices.list[i].fn;
        for (uint8_t b = 0; b < f.bar_count; b++) {
            const pci::Bar& bar = f.bars[b];
            if (!bar.io || !bar.size) continue;
            for (uint64_t port = bar.base; port < bar.base + bar.size && port < 0x10000; port++)
                open_port(p.x86.io_bitmap, static_cast<uint32_t>(port));
        }
        open_legacy_ide_ports(p, f);
    }
}

// l1d_flush: the processor writes IA32_FLUSH_CMD.L1D_FLUSH on every VM entry,
// from a one-entry VM-entry MSR-load list (SDM Vol. 3C 26.4; the list format
// is Table 24-15: index, reserved, value). CPUID.7.0:EDX[28] says it exists.
bool build_l1d_flush(Partition& p, BuildError& err) {
    p.x86.entry_msr_load = 0;
    if (!(p.config.file.flags & NATSUME_PARTITION_L1D_FLUSH)) return true;
    if (!drivers::cpuid::has_structured_edx(drivers::cpuid::edx7::L1D_FLUSH)) {
        log::print("natsume: partition: %s: l1d_flush requested, but this CPU has no IA32_FLUSH_CMD: L1D not flushed\n",
                   p.name());
        return true;
    }
    uint64_t page = page_pool::alloc();
    if (!page) return build_fail(err, "L1D flush list: out of hypervisor page-pool memory");
    auto* entry          = reinterpret_cast<uint64_t*>(page);
    entry[0]             = msr::IA32_FLUSH_CMD;  // bits 31:0 index, 63:32 reserved
    entry[1]             = 1;                    // L1D_FLUSH
    p.x86.entry_msr_load = page;
    log::print("natsume: partition: %s: L1D flushed on every VM entry\n", p.name());
    return true;
}

bool build_bitmaps(Partition& p, BuildError& err) {
    uint64_t io_a = page_pool::alloc(), io_b = page_pool::alloc(), msrs = page_pool::alloc();
    if (!io_a || !io_b || io_b != io_a + PAGE_4K || !msrs)
        return build_fail(err, "I/O and MSR bitmaps: out of hypervisor page-pool memory");
    p.x86.io_bitmap  = reinterpret_cast<uint8_t*>(io_a);
    p.x86.msr_bitmap = reinterpret_cast<uint8_t*>(msrs);
    // No partition owns I/O ports yet: every port access exits and is refused.
    memset(p.x86.io_bitmap, 0xff, 2 * PAGE_4K);
    memset(p.x86.msr_bitmap, 0xff, PAGE_4K);
    // Registers that are the guest's own and that VM exits/entries switch
    // or that the hypervisor never uses itself.
    for (uint32_t m : {msr::IA32_FS_BASE, msr::IA32_GS_BASE, msr::IA32_KERNEL_GS_BASE, msr::IA32_STAR, msr::IA32_LSTAR,
                       msr::IA32_CSTAR, msr::IA32_FMASK, msr::IA32_SYSENTER_CS, msr::IA32_SYSENTER_ESP,
                       msr::IA32_SYSENTER_EIP, msr::IA32_PAT, msr::IA32_TSC_AUX})
        msr_passthrough(p.x86.msr_bitmap, m);
    // The core's own local APIC belongs to the partition: its timer, EOI and
    // the other x2APIC registers need no exit. Interrupt commands are filtered
    // in every mode: a partition may IPI only its own cores (the xAPIC page is
    // filtered in "trapped" mode; "passthrough" maps it and trusts the guest).
    msr_passthrough(p.x86.msr_bitmap, msr::IA32_TSC_DEADLINE);
    for (uint32_t m = msr::X2APIC_FIRST; m <= msr::X2APIC_LAST; m++) msr_passthrough(p.x86.msr_bitmap, m);
    msr_intercept(p.x86.msr_bitmap, msr::X2APIC_ICR, MsrAccess::Write, true);
    // LVT entries that carry a delivery mode are checked (lvt.hpp).
    for (uint32_t offset : {lvt::reg::offset(lvt::reg::Reg::LvtCmci), lvt::reg::offset(lvt::reg::Reg::LvtThermal),
                            lvt::reg::offset(lvt::reg::Reg::LvtPerf), lvt::reg::offset(lvt::reg::Reg::LvtLint0),
                            lvt::reg::offset(lvt::reg::Reg::LvtLint1)})
        msr_intercept(p.x86.msr_bitmap, msr::X2APIC_FIRST + offset / 16, MsrAccess::Write, true);
    open_device_ports(p);
    return build_l1d_flush(p, err);
}

bool load_image(Partition& p, const uint8_t* image, size_t size, BuildError& err) {
    elf::Image img;
    elf::Error e = elf::parse(image, size, img);
    if (e == elf::Error::Ok) e = elf::check_placement(img, NATSUME_GUEST_IMAGE_MIN_GPA, p.config.ram_size);
    if (e == elf::Error::Ok)
        e = elf::load(img, image, size, reinterpret_cast<uint8_t*>(p.config.ram_base), p.config.ram_size);
    if (e != elf::Error::Ok) return build_fail(err, "guest image '%s': %s", p.config.file.image, elf::to_string(e));
    p.config.entry     = img.entry;
    p.config.image_end = img.highest;
    return true;
}

}  // namespace

bool build_fail(BuildError& err, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    log::vformat(err.text, sizeof err.text, fmt, ap);
    va_end(ap);
    return false;
}

bool build_partition(Partition& p, const BootFiles& files, const Rates& rates, BuildError& err) {
    memset(reinterpret_cast<void*>(p.config.ram_base), 0, p.config.ram_size);
    p.config.tsc_khz         = rates.tsc_khz;
    p.config.lapic_timer_khz = rates.lapic_timer_khz;
    if (p.config.file.kind == NATSUME_KIND_LINUX)
        return load_linux(p, files, err) && build_ept(p, err) && build_guest_paging(p, err) && build_bitmaps(p, err);
    p.config.sel_code  = NATSUME_GUEST_SEL_CODE64;
    p.config.sel_data  = NATSUME_GUEST_SEL_DATA;
    p.config.sel_tss   = NATSUME_GUEST_SEL_TSS;
    p.config.gdt_limit = 5 * 8 - 1;  // null, code, data, 16-byte TSS
    p.config.boot_rdi  = NATSUME_GUEST_BOOT_INFO_GPA;
    p.config.boot_rsi  = 0;
    return load_image(p, files.image, files.image_size, err) && build_ept(p, err) && build_guest_paging(p, err) &&
           (build_guest_gdt(p), build_boot_info(p, rates.tsc_khz), true) && build_bitmaps(p, err);
}

}  // namespace natsume::x86
