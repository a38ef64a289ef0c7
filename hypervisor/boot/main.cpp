// Boot CPU flow: console, multiboot2, ACPI, VMX, partition file, partitions,
// application processors, rendezvous, launch. Any failure before launch
// stops the machine with a sentence saying what and where.
#include <atomic>

#include <natsume/config_blob.h>
#include <natsume/hypercall.h>

#include "drivers/block/ata.hpp"
#include "drivers/x86/cpu.hpp"
#include "drivers/x86/cpuid.hpp"

#include "arch/x86/boot_info.hpp"
#include "arch/x86/devices.hpp"
#include "arch/x86/host_layout.h"
#include "arch/x86/host_paging.hpp"
#include "arch/x86/ioapic_hw.hpp"
#include "arch/x86/lapic.hpp"
#include "arch/x86/linux_ap.hpp"
#include "arch/x86/partition_build.hpp"
#include "arch/x86/pci_hw.hpp"
#include "arch/x86/percpu.hpp"
#include "arch/x86/rtc_hw.hpp"
#include "arch/x86/safe_access.hpp"
#include "arch/x86/shared_intx.hpp"
#include "arch/x86/smp.hpp"
#include "arch/x86/timing.hpp"
#include "arch/x86/vcpu.hpp"
#include "arch/x86/vtd/platform.hpp"
#include "base/klib.hpp"
#include "base/log.hpp"
#include "base/page_pool.hpp"
#include "base/panic.hpp"
#include "boot/boot.hpp"
#include "common/config/validate.hpp"
#include "lib/acpi.hpp"
#include "lib/cmdline.hpp"
#include "lib/cpu_topology.hpp"
#include "lib/multiboot2.hpp"
#include "lib/rtc_time.hpp"
#include "lib/tsc_sources.hpp"
#include "partition/channels.hpp"
#include "partition/partition.hpp"

extern "C" {
extern uint8_t __image_start[], __image_end[];
void* memcpy(void*, const void*, unsigned long);
}

namespace natsume::boot {
namespace {

constexpr uint64_t RENDEZVOUS_TIMEOUT_US = 2000000;
constexpr uint8_t WAKE_VECTOR            = HOST_VECTOR_WAKE;  // arch/x86/host_layout.h, with isr.S
constexpr uint8_t VTD_FAULT_VECTOR       = HOST_VECTOR_VTD_FAULT;

Options opts;
uint64_t measured_tsc_khz;
uint64_t measured_lapic_timer_khz;  // the boot core's local APIC timer input (Linux partitions are told it)
// Set by the boot core (release), watched by every other core (acquire): what
// a core has written for the boot core is visible before it sees the next phase.
std::atomic<Phase> phase{Phase::Starting};
void enter(Phase p) { phase.store(p, std::memory_order_release); }
Phase current_phase() { return phase.load(std::memory_order_acquire); }
uint32_t bsp_apic_id;

mb2::Info mbi;
uint64_t mbi_address;  // the block itself: module names and the RSDP copy are read from it until guests start
acpi::Madt madt;
acpi::Tables acpi_tables;
x86::vtd::PlatformInfo vtd_info;
alignas(8) uint8_t
    config_copy[sizeof(natsume_config_header) + NATSUME_CONFIG_MAX_PARTITIONS * sizeof(natsume_config_partition)];

// The boot identity map (entry.S) covers the low HOST_MAPPED_GIB GiB.
constexpr uint64_t HYPERVISOR_MAPPED = x86::boot_info::MAPPED;
using x86::boot_info::phys_map;

void parse_multiboot(uint32_t magic, uint64_t info) {
    x86::boot_info::read_multiboot(magic, info, mbi);
    mbi_address        = info;
    opts.emulator_exit = cmdline::has_word(mbi.cmdline, "emulator-exit");
    opts.acpi_dump     = cmdline::has_word(mbi.cmdline, "acpi-dump");
    log::print("natsume: boot: loader '%s', command line '%s'\n", mbi.bootloader_name, mbi.cmdline);
    for (size_t i = 0; i < mbi.memory_count; i++) {
        const mb2::MemoryRange& m = mbi.memory[i];
        log::print("natsume: memory: 0x%016lx-0x%016lx %s\n", m.base, m.base + m.length - 1,
                   m.type == mb2::MEMORY_AVAILABLE ? "usable" : "reserved");
    }
    for (size_t i = 0; i < mbi.module_count; i++)
        log::print("natsume: module: 0x%lx-0x%lx '%s'\n", mbi.modules[i].start, mbi.modules[i].end,
                   mbi.modules[i].cmdline);
}

void dump_table(void*, const char sig[4], uint64_t phys, uint32_t len) {
    log::print("natsume: acpi-dump: %c%c%c%c at 0x%lx, %u bytes\n", sig[0], sig[1], sig[2], sig[3], phys, len);
    auto* p = reinterpret_cast<const uint8_t*>(phys);
    for (uint32_t off = 0; off < len; off += 32) {
        char line[100];
        size_t n =
            log::format(line, sizeof line, "natsume: acpi-dump: %c%c%c%c %04x:", sig[0], sig[1], sig[2], sig[3], off);
        for (uint32_t i = off; i < len && i < off + 32; i++) n += log::format(line + n, sizeof line - n, "%02x", p[i]);
        log::print("%s\n", line);
    }
}

void parse_acpi() {
    acpi::PhysMem mem{phys_map, nullptr};
    acpi::Tables tables{};
    acpi::Error e = acpi::Error::RsdpNotFound;
    if (mbi.rsdp_v2) e = acpi::parse_rsdp(mbi.rsdp_v2, mbi.rsdp_v2_len, tables);
    if (e != acpi::Error::Ok && mbi.rsdp_v1) e = acpi::parse_rsdp(mbi.rsdp_v1, mbi.rsdp_v1_len, tables);
    if (e != acpi::Error::Ok) {
        uint64_t rsdp = 0;
        e             = acpi::find_rsdp_in_bios(mem, rsdp);
        if (e == acpi::Error::Ok) e = acpi::parse_rsdp(reinterpret_cast<const uint8_t*>(rsdp), 36, tables);
    }
    if (e != acpi::Error::Ok) NATSUME_PANIC("no usable ACPI RSDP: %s", acpi::to_string(e));
    acpi_tables = tables;
    log::print("natsume: acpi: RSDP revision %u, OEM '%s', %s at 0x%lx\n", tables.revision, tables.oem,
               tables.xsdt ? "XSDT" : "RSDT", tables.xsdt ? tables.xsdt : tables.rsdt);
    if (opts.acpi_dump) {
        const uint8_t* rsdp = mbi.rsdp_v2 ? mbi.rsdp_v2 : mbi.rsdp_v1;
        size_t rsdp_len     = mbi.rsdp_v2 ? mbi.rsdp_v2_len : mbi.rsdp_v1_len;
        if (rsdp) dump_table(nullptr, "RSDP", reinterpret_cast<uint64_t>(rsdp), static_cast<uint32_t>(rsdp_len));
        (void)acpi::for_each_table(mem, tables, dump_table, nullptr);
    }
    uint64_t madt_phys = 0;
    e                  = acpi::find_table(mem, tables, "APIC", madt_phys);
    if (e != acpi::Error::Ok) NATSUME_PANIC("ACPI MADT (APIC table) not found: %s", acpi::to_string(e));
    uint32_t len = *reinterpret_cast<const uint32_t*>(madt_phys + 4);
    e            = acpi::parse_madt(reinterpret_cast<const uint8_t*>(madt_phys), len, madt);
    if (e != acpi::Error::Ok) NATSUME_PANIC("ACPI MADT is malformed: %s", acpi::to_string(e));
    for (size_t i = 0; i < madt.cpu_count; i++)
        log::print("natsume: acpi: cpu apic_id=%u uid=%u %s\n", madt.cpus[i].apic_id, madt.cpus[i].acpi_uid,
                   madt.cpus[i].enabled ? "enabled" : "disabled");
    for (size_t i = 0; i < madt.ioapic_count; i++)
        log::print("natsume: acpi: ioapic id=%u address=0x%x gsi_base=%u\n", madt.ioapics[i].id,
                   madt.ioapics[i].address, madt.ioapics[i].gsi_base);
    for (size_t i = 0; i < madt.override_count; i++)
        log::print("natsume: acpi: override irq %u -> gsi %u flags 0x%x\n", madt.overrides[i].source,
                   madt.overrides[i].gsi, madt.overrides[i].flags);
}

// The timers the TSC can be measured against: the HPET and the ACPI PM timer
// from their tables (found and checked like every other table); a machine
// may have neither, then the PIT is the last resort.
x86::TscReferences find_tsc_references() {
    acpi::PhysMem mem{phys_map, nullptr};
    x86::TscReferences r;
    uint64_t phys = 0;
    if (acpi::find_table(mem, acpi_tables, "HPET", phys) == acpi::Error::Ok)
        r.hpet_base = tsc_sources::hpet_base_from_table(reinterpret_cast<const uint8_t*>(phys),
                                                        *reinterpret_cast<const uint32_t*>(phys + 4));
    if (acpi::find_table(mem, acpi_tables, "FACP", phys) == acpi::Error::Ok) {
        tsc_sources::PmTimer pm = tsc_sources::pm_timer_from_fadt(reinterpret_cast<const uint8_t*>(phys),
                                                                  *reinterpret_cast<const uint32_t*>(phys + 4));
        r.pm_port               = pm.port;
        r.pm_bits               = pm.bits;
    }
    return r;
}

void calibrate_tsc() {
    x86::TscCalibration c = x86::calibrate_tsc(find_tsc_references());
    if (!c.khz)
        NATSUME_PANIC(
            "TSC calibration failed: no CPUID leaf 0x15 crystal, and neither the HPET, the ACPI PM timer nor the PIT "
            "counted");
    measured_tsc_khz = c.khz;
    log::print("natsume: cpu: boot core apic_id=%u, TSC %lu kHz (measured against %s), %s\n", bsp_apic_id,
               measured_tsc_khz, x86::to_string(c.source), x86::lapic::x2apic_mode() ? "x2APIC mode" : "xAPIC mode");
    // Leaf 0x16 names the processor's base frequency; under an emulator or a
    // hypervisor it need not be the TSC's rate, so it is only compared.
    uint64_t base_khz = uint64_t{c.base_mhz} * 1000;
    if (base_khz &&
        (base_khz > measured_tsc_khz + measured_tsc_khz / 10 || base_khz + base_khz / 10 < measured_tsc_khz))
        log::print(
            "natsume: cpu: CPUID leaf 0x16 names a base frequency of %u MHz, but the TSC runs at %lu kHz: an "
            "emulator, or a CPU whose TSC is not its base clock; the measured rate is used\n",
            c.base_mhz, measured_tsc_khz);
    // Over 2 ms of TSC time; every core's timer runs from the same clock.
    measured_lapic_timer_khz = x86::lapic::measure_timer_khz(measured_tsc_khz, 2 * measured_tsc_khz);
    log::print("natsume: cpu: local APIC timer %lu kHz (divide by 1, measured against the TSC)\n",
               measured_lapic_timer_khz);
}

// The machine's CMOS clock, which Linux partitions' virtual clocks count from.
void read_clock() {
    char why[160];
    if (!x86::rtc_hw::read_at_boot(why, sizeof why)) {
        log::print("natsume: rtc: the machine's CMOS clock could not be read (%s): Linux partitions count from 1970\n",
                   why);
        return;
    }
    const rtc_time::Civil t = rtc_time::from_epoch(x86::rtc_hw::epoch_now());
    log::print("natsume: rtc: machine clock %04u-%02u-%02u %02u:%02u:%02u (Linux partitions read it, read-only)\n",
               t.year, t.month, t.day, t.hour, t.minute, t.second);
}

// ECAM where the MCFG describes it for segment 0, else ports 0xCF8/0xCFC.
void choose_pci_access() {
    acpi::PhysMem mem{phys_map, nullptr};
    uint64_t phys = 0;
    if (acpi::find_table(mem, acpi_tables, "MCFG", phys) != acpi::Error::Ok) {
        log::print("natsume: pci: configuration mechanism #1 (ports 0xcf8/0xcfc): no MCFG\n");
        return;
    }
    static acpi::Mcfg mcfg;
    uint32_t len  = *reinterpret_cast<const uint32_t*>(phys + 4);
    acpi::Error e = acpi::parse_mcfg(reinterpret_cast<const uint8_t*>(phys), len, mcfg);
    if (e != acpi::Error::Ok) NATSUME_PANIC("ACPI MCFG is malformed: %s", acpi::to_string(e));
    for (size_t i = 0; i < mcfg.count; i++) {
        const acpi::EcamWindow& w = mcfg.windows[i];
        if (w.segment != 0) continue;
        x86::pci_hw::use_ecam(w.base, w.start_bus, w.end_bus);
        log::print("natsume: pci: ECAM at 0x%lx for buses %u-%u (MCFG)\n", w.base, w.start_bus, w.end_bus);
        return;
    }
    log::print("natsume: pci: configuration mechanism #1: the MCFG has no window for segment 0\n");
}

void scan_interrupts_and_pci() {
    choose_pci_access();
    for (size_t i = 0; i < madt.ioapic_count; i++) {
        x86::ioapic_hw::add_unit(madt.ioapics[i].address, madt.ioapics[i].gsi_base);
        const x86::ioapic_hw::Unit& u = x86::ioapic_hw::unit(x86::ioapic_hw::unit_count() - 1);
        log::print("natsume: ioapic: id %u at 0x%lx: %u pins from GSI %u, version 0x%x, all masked\n", u.id, u.base,
                   u.pins, u.gsi_base, u.version);
    }
    x86::devices::scan(x86::pci_hw::access());
}

// Remapping units are found (not yet programmed) before the partition file is
// checked, so the check knows whether DMA will be isolated and where RMRRs are.
void detect_iommu() {
    acpi::PhysMem mem{phys_map, nullptr};
    char why[200];
    if (!x86::vtd::detect(mem, acpi_tables, x86::devices::inventory(), vtd_info, why, sizeof why))
        NATSUME_PANIC("VT-d: %s", why);
}

const natsume_config_header* load_config() {
    const mb2::Module* m = mb2::find_module(mbi, "natsume-config");
    if (!m) NATSUME_PANIC("no partition file: load the compiled blob as a module named 'natsume-config'");
    uint64_t size = m->end - m->start;
    if (size > sizeof config_copy)
        NATSUME_PANIC("partition file module is %lu bytes, more than the %zu a blob of %u partitions can be", size,
                      sizeof config_copy, NATSUME_CONFIG_MAX_PARTITIONS);
    // Copy first, then validate the copy: the module memory is never trusted again.
    memcpy(config_copy, reinterpret_cast<const void*>(m->start), size);
    config::Report r{};
    if (!config::validate_blob(config_copy, size, r)) NATSUME_PANIC("partition file rejected: %s", r.text);
    return reinterpret_cast<const natsume_config_header*>(config_copy);
}

// Lines that devices of different partitions share are delivered per device
// (the owner of the device that asserted), never per pin.
uint8_t smt_shift_of_this_cpu() {
    namespace leaf      = drivers::cpuid::leaf;
    x86::CpuidResult c0 = x86::cpuid(leaf::BASIC), c1 = x86::cpuid(leaf::FEATURES);
    topology::Leaves l{c0.eax, c1.ebx, c1.edx, 0, 0, 0, 0};
    if (c0.eax >= leaf::CACHE_PARAMS) l.l4_eax = x86::cpuid(leaf::CACHE_PARAMS, 0).eax;
    if (c0.eax >= leaf::TOPOLOGY) {
        x86::CpuidResult cb = x86::cpuid(leaf::TOPOLOGY, 0);
        l.lb_eax = cb.eax, l.lb_ebx = cb.ebx, l.lb_ecx = cb.ecx;
    }
    return topology::smt_shift(l);
}

void report_shared_lines(const natsume_config_header* h, const config::Platform& p) {
    static config::SharedLine lines[8];
    size_t n                              = config::shared_intx_lines(h, p, lines, 8);
    const natsume_config_partition* parts = config::partitions(h);
    for (size_t i = 0; i < n && i < 8; i++) {
        char line[300];
        size_t len = log::format(line, sizeof line, "natsume: intx: GSI %u is shared by", lines[i].gsi);
        for (size_t d = 0; d < lines[i].count; d++) {
            char bdf[8];
            pci::format_bdf(bdf, lines[i].bdf[d]);
            len += log::format(line + len, sizeof line - len, " %s (%s)", bdf, parts[lines[i].partition[d]].name);
        }
        log::print("%s\n", line);
    }
}

void check_platform(const natsume_config_header* h) {
    static uint32_t apic_ids[acpi::MAX_CPUS];
    static config::Range usable[mb2::MAX_MEMORY_RANGES], reserved[mb2::MAX_MODULES + 3];
    size_t na = 0, nu = 0, nr = 0;
    for (size_t i = 0; i < madt.cpu_count; i++)
        if (madt.cpus[i].enabled) apic_ids[na++] = madt.cpus[i].apic_id;
    for (size_t i = 0; i < mbi.memory_count; i++)
        if (mbi.memory[i].type == mb2::MEMORY_AVAILABLE) usable[nu++] = {mbi.memory[i].base, mbi.memory[i].length};
    auto image_start = reinterpret_cast<uint64_t>(__image_start), image_end = reinterpret_cast<uint64_t>(__image_end);
    reserved[nr++] = {image_start, image_end - image_start};  // code, data, page pool, per-CPU state
    reserved[nr++] = {0, 0x100000};                           // real-mode area: AP trampoline, BIOS data
    reserved[nr++] = {mbi_address, mbi.info_size};            // the boot information block
    for (size_t i = 0; i < mbi.module_count; i++)
        reserved[nr++] = {mbi.modules[i].start, mbi.modules[i].end - mbi.modules[i].start};
    static config::PlatformDevice devs[pci::MAX_FUNCTIONS];
    const pci::Inventory& inv = x86::devices::inventory();
    for (size_t i = 0; i < inv.count; i++) {
        const pci::Function& f = inv.functions[i];
        uint32_t gsi           = x86::devices::resolve_gsi(f, madt);
        devs[i]                = {f.bdf, f.vendor_id, f.device_id, gsi == NO_GSI ? NATSUME_GSI_AUTO : gsi, f.is_bridge};
    }
    config::Platform p{apic_ids, na, bsp_apic_id, usable, nu, reserved, nr, devs, inv.count, vtd_info.present};
    p.rmrr       = vtd_info.rmrr;
    p.rmrr_count = vtd_info.rmrr_count;
    p.smt_shift  = smt_shift_of_this_cpu();
    if (p.smt_shift) log::print("natsume: cpu: SMT: APIC ID bits 0-%u number the threads of a core\n", p.smt_shift - 1);
    config::Report r{};
    if (!config::validate_platform(h, p, r)) NATSUME_PANIC("partition file does not fit this machine: %s", r.text);
    report_shared_lines(h, p);
}

uint32_t cpu_index_of(uint32_t apic_id) {
    uint32_t index = 1;  // index 0 is the boot CPU
    for (size_t i = 0; i < madt.cpu_count; i++) {
        if (!madt.cpus[i].enabled || madt.cpus[i].apic_id == bsp_apic_id) continue;
        if (madt.cpus[i].apic_id == apic_id) return index;
        index++;
    }
    return 0;
}

void setup_devices(Partition& p) {
    char why[200];
    p.devices.iommu = vtd_info.present;
    if (p.devices.dma_size && p.devices.dma_base < p.config.ram_size)
        NATSUME_PANIC("partition %s: DMA window 0x%lx overlaps its guest-physical RAM [0, 0x%lx)", p.name(),
                      p.devices.dma_base, p.config.ram_size);
    // Interrupt remapping is used wherever the machine has it: IOAPIC pins,
    // the boot core's shared lines, MSI and MSI-X all go through remapping
    // entries (source-id checked), and compatibility format stays blocked.
    bool remap = vtd_info.ir_capable;
    if (!x86::devices::attach(p, x86::pci_hw::access(), remap, why, sizeof why))
        NATSUME_PANIC("partition %s: %s", p.name(), why);
    bool dma_capable = false;
    for (uint32_t i = 0; i < p.devices.count; i++) {
        const PartitionDevice& d = p.devices.list[i];
        char bdf[8];
        pci::format_bdf(bdf, d.bdf);
        if (d.gsi == NO_GSI)
            log::print("natsume: partition: %s: device %s %04x:%04x, no INTx\n", p.name(), bdf, d.vendor_id,
                       d.device_id);
        else
            log::print("natsume: partition: %s: device %s %04x:%04x, INTx on GSI %u -> core %u\n", p.name(), bdf,
                       d.vendor_id, d.device_id, d.gsi, p.config.apic_id);
        for (int c = 0; c < 2; c++)
            if (d.legacy_gsi[c] != NO_GSI)
                log::print(
                    "natsume: partition: %s: device %s: IDE %s channel interrupts on ISA line %u, GSI %u -> core %u\n",
                    p.name(), bdf, c ? "secondary" : "primary",
                    unsigned{(c ? drivers::ata::SECONDARY : drivers::ata::PRIMARY).isa_irq}, d.legacy_gsi[c],
                    p.config.apic_id);
        dma_capable |= !(d.flags & NATSUME_DEVICE_NO_DMA);
    }
    // Without an IOMMU a device can reach any host address; without interrupt
    // remapping its DMA to 0xFEEx_xxxx is an MSI to any core. Both need the
    // file's explicit acknowledgement (validate_platform checks the first).
    bool acknowledged = p.config.file.flags & NATSUME_PARTITION_UNISOLATED_DMA;
    if (dma_capable && !vtd_info.present)
        log::print(
            "natsume: partition: %s: DMA not isolated (no IOMMU in use; allow_unisolated_dma): its devices can "
            "read and write all memory and send any interrupt to any core; buffers belong in its identity DMA "
            "window 0x%lx+0x%lx\n",
            p.name(), p.devices.dma_base, p.devices.dma_size);
    if (dma_capable && vtd_info.present && !remap) {
        if (!acknowledged)
            NATSUME_PANIC(
                "partition %s: interrupt remapping is off on this machine, so its bus-master devices could "
                "send an MSI to any core; set allow_unisolated_dma = true to accept that",
                p.name());
        log::print(
            "natsume: partition: %s: interrupts not isolated (interrupt remapping off; allow_unisolated_dma): "
            "its devices' DMA stays in its domain, but a write to 0xfee00000 reaches any core\n",
            p.name());
    }
}

// Channels: the shared memory is cleared (nothing of firmware or an earlier
// run reaches either side) before any partition is built on it.
void setup_channels(const natsume_config_header* h) {
    channels::setup(config::channels(h), h->channel_count, partitions);
    for (uint32_t i = 0; i < channels::count(); i++) {
        const channels::Channel& c = *channels::get(i);
        if (c.cfg.base + c.cfg.size > HYPERVISOR_MAPPED)
            NATSUME_PANIC("channel %s: memory ends at 0x%lx, above the %lu GiB the hypervisor maps", c.cfg.name,
                          c.cfg.base + c.cfg.size, HYPERVISOR_MAPPED >> 30);
        memset(reinterpret_cast<void*>(c.cfg.base), 0, c.cfg.size);
        const natsume_config_channel_end& f = c.cfg.ends[NATSUME_CHANNEL_FRONTEND];
        const natsume_config_channel_end& b = c.cfg.ends[NATSUME_CHANNEL_BACKEND];
        log::print("natsume: channel: %s: host 0x%lx-0x%lx (%luM), frontend %s at 0x%lx, backend %s at 0x%lx%s\n",
                   c.cfg.name, c.cfg.base, c.cfg.base + c.cfg.size - 1, c.cfg.size >> 20,
                   partitions[f.partition].name(), f.gpa, partitions[b.partition].name(), b.gpa,
                   (c.cfg.flags & NATSUME_CHANNEL_BACKEND_DMA) ? "; the backend's devices may DMA into it" : "");
    }
}

void setup_partitions(const natsume_config_header* h) {
    const natsume_config_partition* cfg = config::partitions(h);
    partition_count                     = h->partition_count;
    log::print("natsume: partition: table of '%s': %u partitions\n", h->name, h->partition_count);
    log::print(
        "natsume: partition:   id name             core  ram (host-physical)                 image        lapic\n");
    for (uint32_t i = 0; i < partition_count; i++) {
        Partition& p        = partitions[i];
        p.config.id         = i;
        p.config.file       = cfg[i];
        p.config.core_count = cfg[i].core_count;
        for (uint32_t k = 0; k < p.config.core_count; k++) {
            p.config.apic_ids[k]    = cfg[i].cores[k];
            p.config.cpu_indexes[k] = cpu_index_of(cfg[i].cores[k]);
        }
        p.config.apic_id   = p.config.apic_ids[0];
        p.config.cpu_index = p.config.cpu_indexes[0];
        p.config.ram_base  = cfg[i].ram_base;
        p.config.ram_size  = cfg[i].ram_size;
        p.x86.vpid         = static_cast<uint16_t>(i + 1);
        if (p.config.ram_base + p.config.ram_size > HYPERVISOR_MAPPED)
            NATSUME_PANIC("partition %s: RAM ends at 0x%lx, above the %lu GiB the hypervisor maps", p.name(),
                          p.config.ram_base + p.config.ram_size, HYPERVISOR_MAPPED >> 30);
        p.publish_state(PartitionState::Loaded);
        log::print("natsume: partition: %4u %-16s %4u  0x%09lx-0x%09lx %5luM  %-12s %s\n", i, p.name(),
                   p.config.apic_id, p.config.ram_base, p.config.ram_base + p.config.ram_size - 1,
                   p.config.ram_size >> 20, p.config.file.image, config::lapic_mode_name(p.config.file.lapic_mode));
        if (p.config.file.lapic_mode == NATSUME_LAPIC_PASSTHROUGH)
            log::print("natsume: partition: %s: local APIC passed through (trusted guest: its IPIs are not filtered)\n",
                       p.name());
        if (p.config.core_count > 1) {
            char list[64];
            size_t n = 0;
            for (uint32_t k = 0; k < p.config.core_count; k++)
                n += log::format(list + n, sizeof list - n, " %u", p.config.apic_ids[k]);
            log::print(
                "natsume: partition: %s: cores%s: core %u boots it, the others wait in the hypervisor for its "
                "ACPI multiprocessor wake-up mailbox\n",
                p.name(), list, p.config.apic_id);
        }
    }
    setup_channels(h);
    char why[200];
    for (uint32_t i = 0; i < partition_count; i++) {
        if (!x86::devices::resolve(partitions[i], madt, why, sizeof why))
            NATSUME_PANIC("partition %s: %s", partitions[i].name(), why);
    }
    if (!x86::shared_intx::plan(partitions, partition_count, why, sizeof why)) NATSUME_PANIC("%s", why);
    for (uint32_t i = 0; i < partition_count; i++) {
        Partition& p = partitions[i];
        setup_devices(p);
        const mb2::Module* m = mb2::find_module(mbi, p.config.file.image);
        if (!m) NATSUME_PANIC("partition %s: guest image module '%s' was not loaded", p.name(), p.config.file.image);
        x86::BootFiles files{reinterpret_cast<const uint8_t*>(m->start), m->end - m->start, nullptr, 0};
        if (p.config.file.initramfs[0]) {
            const mb2::Module* r = mb2::find_module(mbi, p.config.file.initramfs);
            if (!r)
                NATSUME_PANIC("partition %s: initramfs module '%s' was not loaded", p.name(), p.config.file.initramfs);
            files.initramfs      = reinterpret_cast<const uint8_t*>(r->start);
            files.initramfs_size = r->end - r->start;
        }
        x86::BuildError err{};
        if (!x86::build_partition(p, files, {measured_tsc_khz, measured_lapic_timer_khz}, err))
            NATSUME_PANIC("partition %s: %s", p.name(), err.text);
        for (uint32_t k = 0; k < p.config.core_count; k++) {
            x86::PerCpu& c = x86::cpus[p.config.cpu_indexes[k]];
            c.partition    = &p;
            c.vcpu         = {};
            c.vcpu.index   = k;
        }
        log::print("natsume: partition: %s: image loaded, entry 0x%lx, EPT root 0x%lx, VPID %u\n", p.name(),
                   p.config.entry, static_cast<unsigned long>(p.x86.eptp & ~0xfffull), p.x86.vpid);
    }
    log::print("natsume: memory: page pool %lu of %lu pages used\n", page_pool::pages_used(), page_pool::pages_total());
}

void start_cores() {
    x86::smp::set_ap_continuation(ap_run);
    x86::cpu_count = 1;
    for (size_t i = 0; i < madt.cpu_count; i++) {
        if (!madt.cpus[i].enabled || madt.cpus[i].apic_id == bsp_apic_id) continue;
        uint32_t index = x86::cpu_count++;
        if (index >= x86::MAX_CPUS) NATSUME_PANIC("more than %zu cores are not supported", x86::MAX_CPUS);
        if (!x86::smp::start_ap(index, madt.cpus[i].apic_id))
            NATSUME_PANIC("core apic_id=%u: %s", madt.cpus[i].apic_id, x86::cpus[index].shared.failure);
        log::print("natsume: smp: core %u (apic_id=%u) online\n", index, madt.cpus[i].apic_id);
    }
}

bool core_settled(uint32_t i) {
    auto s = x86::cpus[i].shared.observe();
    return s == x86::CpuState::VmxReady || s == x86::CpuState::Failed;
}

void rendezvous() {
    enter(Phase::VmxInit);
    bool failed = false;
    for (uint32_t i = 1; i < x86::cpu_count; i++) {
        if (!x86::wait_until(RENDEZVOUS_TIMEOUT_US, [i] { return core_settled(i); })) {
            log::print("natsume: boot: core %u (apic_id=%u) did not finish VMX set-up in time\n", i,
                       x86::cpus[i].shared.apic_id);
            failed = true;
        } else if (x86::cpus[i].shared.observe() == x86::CpuState::Failed) {
            const x86::CpuShared& s = x86::cpus[i].shared;
            log::print("natsume: boot: core %u (apic_id=%u) failed: %s\n", i, s.apic_id, s.failure);
            failed = true;
        }
    }
    if (failed) {
        enter(Phase::Abort);
        NATSUME_PANIC("boot stopped before any guest ran: a core could not prepare its partition");
    }
    log::print("natsume: boot: all %u cores checked in; launching %u partitions\n", x86::cpu_count, partition_count);
    enter(Phase::Launch);
}

bool all_stopped() {
    for (uint32_t i = 0; i < partition_count; i++)
        if (partitions[i].observe_state() != PartitionState::Stopped) return false;
    return true;
}

bool wake_boot_core() { return x86::lapic::send_fixed(bsp_apic_id, WAKE_VECTOR); }

// What the boot core did while the partitions ran: how often it woke (a
// console line to write, a partition stopped, a shared line) and its ticks
// outside HLT. Printed when each partition stops, so a benchmark can put the
// boot core's share beside the partitions' own.
struct BootCoreWork {
    uint64_t start, halted, wakeups, lines;
    bool reported[NATSUME_CONFIG_MAX_PARTITIONS];

    void report_new_stops() {
        for (uint32_t i = 0; i < partition_count; i++) {
            if (reported[i] || partitions[i].observe_state() != PartitionState::Stopped) continue;
            reported[i] = true;
            log::print(
                "natsume: stats: boot core at %s's stop: %lu wake-ups, %lu ticks outside HLT of %lu since the "
                "partitions started, %lu flushes of console lines\n",
                partitions[i].name(), wakeups, x86::rdtsc() - start - halted, x86::rdtsc() - start, lines);
        }
    }
};

[[noreturn]] void supervise() {
    // Partition cores queue their console lines; this core writes them out.
    log::defer_to(wake_boot_core);
    // A partition that stops wakes this core to look again.
    partition_set_stop_listener([] { (void)wake_boot_core(); });
    BootCoreWork work{x86::rdtsc(), 0, 0, 0, {}};
    while (!all_stopped()) {
        // With interrupts on: shared lines must not wait behind the UART.
        asm volatile("sti" ::: "memory");
        work.lines += log::flush_pending();
        asm volatile("cli" ::: "memory");
        work.report_new_stops();
        // A wake-up taken while flushing is spent: look again before halting.
        if (all_stopped() || log::pending()) continue;
        // Shared lines may hold a device or pin masked for a moment: poll then.
        if (x86::shared_intx::poll()) {
            asm volatile("sti; pause; cli" ::: "memory");
            continue;
        }
        uint64_t t = x86::rdtsc();
        asm volatile("sti; hlt; cli" ::: "memory");
        work.halted += x86::rdtsc() - t;
        work.wakeups++;
    }
    work.report_new_stops();
    log::drain();
    log::print("natsume: all partitions stopped\n");
    machine_stop(0);
}

}  // namespace

const Options& options() { return opts; }

void ap_run(x86::PerCpu& c) {
    while (current_phase() == Phase::Starting) x86::pause();
    x86::host_paging::load_on_this_core();  // before VMX: HOST_CR3 is taken from CR3
    if (c.partition) {
        char* why = c.shared.failure;
        bool ok   = x86::vmx_enable_this_core(c, why, sizeof c.shared.failure) &&
                  x86::vcpu_setup(c, *c.partition, why, sizeof c.shared.failure);
        c.shared.publish(ok ? x86::CpuState::VmxReady : x86::CpuState::Failed);
    } else {
        // A parked core waits in VMX root operation, where INIT is blocked
        // (SDM Vol. 3C 24.8): no guest can reset it into firmware or a trampoline.
        bool ok = x86::vmx_enable_this_core(c, c.shared.failure, sizeof c.shared.failure);
        c.shared.publish(ok ? x86::CpuState::VmxReady : x86::CpuState::Failed);
    }
    while (current_phase() == Phase::VmxInit) x86::pause();
    if (current_phase() == Phase::Launch && c.partition && c.shared.observe() == x86::CpuState::VmxReady) {
        Partition& p = *c.partition;
        if (c.vcpu.index == 0) {
            p.publish_state(PartitionState::Running);
        } else {
            // One of a Linux partition's other cores: it runs when Linux wakes it.
            uint64_t vector = 0;
            if (!x86::linux_ap::wait_for_wakeup(c, p, vector)) {
                c.shared.publish(x86::CpuState::Parked);
                x86::halt_forever();
            }
            x86::vcpu_set_entry(vector);
            log::print("natsume: partition %s: core %u woken through its wake-up mailbox, entering at 0x%lx\n",
                       p.name(), c.shared.apic_id, vector);
        }
        c.shared.publish(x86::CpuState::Running);
        x86::vcpu_launch(c);
    }
    c.shared.publish(x86::CpuState::Parked);
    x86::halt_forever();
}

}  // namespace natsume::boot

using namespace natsume;

extern "C" [[noreturn]] void natsume_main(uint32_t magic, uint64_t info) {
    log::init();
    log::print("\nnatsume: boot: Natsume %u.%u hypervisor starting (TSC %lu)\n", NATSUME_VERSION_MAJOR,
               NATSUME_VERSION_MINOR, x86::rdtsc());
    x86::cpus[0].shared.index = 0;
    x86::cpu_local_init(x86::cpus[0]);
    x86::ioapic_hw::mask_legacy_pic();
    x86::lapic::init_this_core();
    boot::bsp_apic_id           = x86::lapic::id();
    x86::cpus[0].shared.apic_id = boot::bsp_apic_id;
    x86::cpus[0].shared.publish(x86::CpuState::Online);
    boot::parse_multiboot(magic, info);
    boot::parse_acpi();
    boot::calibrate_tsc();
    boot::read_clock();
    boot::scan_interrupts_and_pci();
    boot::detect_iommu();
    const natsume_config_header* h = boot::load_config();
    boot::check_platform(h);
    boot::setup_partitions(h);
    char why[200];
    // Every partition's devices sit in its DMA domain before any core can run a guest.
    if (!x86::vtd::setup_platform(boot::vtd_info, partitions, partition_count, why, sizeof why))
        NATSUME_PANIC("VT-d: %s", why);
    if (boot::vtd_info.present) x86::vtd::enable_fault_events(boot::VTD_FAULT_VECTOR, boot::bsp_apic_id);
    if (!x86::shared_intx::activate(boot::bsp_apic_id, why, sizeof why)) NATSUME_PANIC("%s", why);
    // Checked after the platform set-up so that a machine without VT-x (QEMU TCG)
    // still proves ACPI, PCI, the partition file, VT-d and the interrupt routing.
    if (!x86::vmx_probe(why, sizeof why)) NATSUME_PANIC("VT-x requirement not met: %s", why);
    boot::start_cores();
    x86::smp::close_ap_start();
    if (!x86::host_paging::build(why, sizeof why)) NATSUME_PANIC("%s", why);
    x86::host_paging::load_on_this_core();
    if (!x86::host_paging::verify(why, sizeof why)) NATSUME_PANIC("%s", why);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    // The boot core too stays in VMX root operation from here on (INIT blocked).
    if (!x86::vmx_enable_this_core(x86::cpus[0], why, sizeof why)) NATSUME_PANIC("boot core VMXON: %s", why);
    boot::rendezvous();
    boot::supervise();
}

extern "C" void host_trap(x86::TrapFrame* f) {
    if (f->vector == 2) {
        x86::this_cpu().host_nmis++;
        return;
    }
    if (f->vector == boot::WAKE_VECTOR) {
        x86::lapic::eoi();
        return;
    }
    if (f->vector == boot::VTD_FAULT_VECTOR) {
        x86::vtd::drain_and_log_faults(partitions, partition_count);
        x86::lapic::eoi();
        return;
    }
    if (f->vector >= x86::shared_intx::VECTOR_BASE &&
        f->vector < x86::shared_intx::VECTOR_BASE + x86::shared_intx::MAX_LINES) {
        x86::shared_intx::handle(f->vector - x86::shared_intx::VECTOR_BASE);
        x86::lapic::eoi();
        return;
    }
    if (f->vector == 255) return;  // spurious: no EOI (SDM Vol. 3A 10.9)
    // A marked instruction that faulted on a guest value (safe_access.hpp):
    // its caller gets the error. Anything else is a hypervisor bug.
    if (x86::apply_fixup(f)) return;
    NATSUME_PANIC("hypervisor exception %lu (error 0x%lx) at RIP 0x%lx, RSP 0x%lx, CR2 0x%lx, RAX 0x%lx RBX 0x%lx",
                  f->vector, f->error_code, f->rip, f->rsp, x86::read_cr2(), f->rax, f->rbx);
}
