// A Linux partition's RAM before its core launches it (docs/linux.md): the
// bzImage's protected-mode kernel at its preferred 2 MiB-aligned address, the
// initramfs at the top of RAM, the zero page with the setup header, the
// command line and the e820 map of the partition's own RAM, its own ACPI
// tables, and the boot GDT with the selectors the 64-bit entry expects
// (Documentation/arch/x86/boot.rst: __BOOT_CS 0x10, __BOOT_DS 0x18).
#include <stdarg.h>

#include <natsume/bootinfo.h>

#include "drivers/x86/descriptors.hpp"

#include "arch/x86/devices.hpp"
#include "arch/x86/ioapic_hw.hpp"
#include "arch/x86/partition_build.hpp"
#include "base/klib.hpp"
#include "base/log.hpp"
#include "lib/acpi_build.hpp"
#include "lib/linux_boot.hpp"

namespace natsume::x86 {
namespace {

constexpr uint16_t LINUX_CS = 0x10, LINUX_DS = 0x18, LINUX_TSS = 0x20;
constexpr uint64_t TSS_GPA = NATSUME_GUEST_GDT_GPA + 0x80;  // where vcpu.cpp points TR

// Linux's main memory (linux_boot::main_memory): its RAM above 1 MiB, or its DMA window.
linux_boot::Span main_memory(const Partition& p) {
    return linux_boot::main_memory(p.config.ram_size, p.config.file.dma_base, p.config.file.dma_size);
}

// Every address written here lies in the layout linux_boot planned.
uint8_t* at(Partition& p, uint64_t gpa) { return guest_memory(p, gpa, 0); }

void linux_gdt(Partition& p) {
    auto* gdt         = reinterpret_cast<uint64_t*>(at(p, NATSUME_GUEST_GDT_GPA));
    gdt[0]            = 0;
    gdt[1]            = 0;
    gdt[LINUX_CS / 8] = 0x00af9b000000ffffull;  // 64-bit code, accessed (vcpu.cpp's access rights)
    gdt[LINUX_DS / 8] = 0x00cf93000000ffffull;  // data, accessed
    drivers::x86::tss_descriptor(&gdt[LINUX_TSS / 8], TSS_GPA, sizeof(drivers::x86::Tss) - 1, true);
    p.config.sel_code  = LINUX_CS;
    p.config.sel_data  = LINUX_DS;
    p.config.sel_tss   = LINUX_TSS;
    p.config.gdt_limit = LINUX_TSS + 16 - 1;
}

// What the partition's DSDT and MADT describe: its core, its virtual IOAPIC,
// its devices' INTx pins and BARs, and the trapped ports.
struct TableInput {
    acpi_build::IntxRoute routes[NATSUME_CONFIG_MAX_DEVICES];
    acpi_build::Window windows[NATSUME_CONFIG_MAX_DEVICES * 6];
    acpi_build::Spec spec;
};

bool collect_devices(const Partition& p, TableInput& in, BuildError& err) {
    size_t nr = 0, nw = 0;
    for (uint32_t i = 0; i < p.devices.count; i++) {
        const PartitionDevice& d  = p.devices.list[i];
        const vpci::Device* shown = p.devices.vpci.find(d.bdf);
        const pci::Function& f    = shown ? shown->fn : *d.fn;  // as its config space shows it
        if ((d.bdf >> 8) != 0) {
            char b[8];
            pci::format_bdf(b, d.bdf);
            return build_fail(
                err, "device %s is not on bus 0: a Linux partition's devices must be (its DSDT has one root)", b);
        }
        const uint8_t slot = pci::bdf_dev(d.bdf);
        if (d.native_ide_channel != NO_IDE_CHANNEL && d.legacy_gsi[d.native_ide_channel] != NO_GSI)
            in.routes[nr++] = {slot, 0, d.legacy_gsi[d.native_ide_channel], true};  // INTA: the channel's ISA line
        else if (f.irq_pin && d.gsi != NO_GSI)
            in.routes[nr++] = {slot, static_cast<uint8_t>(f.irq_pin - 1), d.gsi};
        for (uint8_t b = 0; b < f.bar_count; b++)
            if (f.bars[b].size && f.bars[b].base) in.windows[nw++] = {f.bars[b].base, f.bars[b].size, f.bars[b].io};
    }
    in.spec.routes       = in.routes;
    in.spec.route_count  = nr;
    in.spec.windows      = in.windows;
    in.spec.window_count = nw;
    return true;
}

bool build_tables(Partition& p, uint64_t& rsdp_gpa, BuildError& err) {
    static TableInput in;  // boot core only, one partition at a time
    memset(&in, 0, sizeof in);
    const ioapic_hw::Unit* unit = ioapic_hw::unit_count() ? &ioapic_hw::unit(0) : nullptr;
    if (!unit || !p.devices.ioapic_gpa) return build_fail(err, "no IOAPIC to describe in its MADT");
    if (!collect_devices(p, in, err)) return false;
    in.spec.apic_ids           = p.config.apic_ids;
    in.spec.cpu_count          = p.config.core_count;
    in.spec.mailbox_gpa        = p.config.core_count > 1 ? linux_boot::MAILBOX_GPA : 0;
    in.spec.ioapic_id          = unit->id;
    in.spec.ioapic_address     = static_cast<uint32_t>(p.devices.ioapic_gpa);
    in.spec.ioapic_gsi_base    = unit->gsi_base;
    in.spec.com1               = true;
    in.spec.sleep_control_port = LINUX_SLEEP_CONTROL_PORT;
    in.spec.sleep_status_port  = LINUX_SLEEP_STATUS_PORT;
    in.spec.reset_port         = LINUX_RESET_PORT;
    in.spec.reset_value        = LINUX_RESET_VALUE;
    acpi_build::Built built;
    const size_t room   = linux_boot::ACPI_END - linux_boot::ACPI_GPA;
    acpi_build::Error e = acpi_build::build(in.spec, at(p, linux_boot::ACPI_GPA), room, linux_boot::ACPI_GPA, built);
    if (e != acpi_build::Error::Ok) return build_fail(err, "its ACPI tables: %s", acpi_build::to_string(e));
    rsdp_gpa = built.rsdp_gpa;
    log::print(
        "natsume: partition: %s: ACPI tables at 0x%lx (%zu bytes): %u core%s, IOAPIC id %u at 0x%lx, %zu INTx "
        "routes, %zu BAR windows, COM1\n",
        p.name(), built.rsdp_gpa, built.size, p.config.core_count, p.config.core_count == 1 ? "" : "s", unit->id,
        p.devices.ioapic_gpa, in.spec.route_count, in.spec.window_count);
    if (in.spec.mailbox_gpa) {
        memset(at(p, in.spec.mailbox_gpa), 0, 4096);
        log::print("natsume: partition: %s: multiprocessor wake-up mailbox at 0x%lx (MADT type 0x10)\n", p.name(),
                   in.spec.mailbox_gpa);
    }
    return true;
}

bool place_kernel(Partition& p, const BootFiles& f, const linux_boot::Kernel& k, linux_boot::Layout& layout,
                  BuildError& err) {
    const linux_boot::Span main = main_memory(p);
    if (linux_boot::plan(k, main, f.initramfs_size, layout) != linux_boot::LayoutError::Ok)
        return build_fail(err,
                          "kernel '%s' needs %lu MiB of %s (it decompresses into %lu MiB at 0x%lx; initramfs %lu "
                          "KiB), the partition has %lu MiB",
                          p.config.file.image, (layout.end_needed - main.base + (1 << 20) - 1) >> 20,
                          p.config.file.dma_size ? "DMA window" : "RAM above 1 MiB", k.init_size >> 20,
                          layout.kernel_gpa, f.initramfs_size >> 10, main.size() >> 20);
    memcpy(at(p, layout.kernel_gpa), k.payload, k.payload_size);
    if (f.initramfs) memcpy(at(p, layout.initrd_gpa), f.initramfs, f.initramfs_size);
    return true;
}

}  // namespace

bool load_linux(Partition& p, const BootFiles& f, BuildError& err) {
    linux_boot::Kernel k;
    linux_boot::Error e = linux_boot::parse(f.image, f.image_size, k);
    if (e != linux_boot::Error::Ok)
        return build_fail(err, "kernel '%s': %s", p.config.file.image, linux_boot::to_string(e));
    linux_boot::Layout layout;
    uint64_t rsdp = 0;
    if (!place_kernel(p, f, k, layout, err) || !build_tables(p, rsdp, err)) return false;
    // The command line: the file's, NUL-terminated, within the kernel's limit.
    size_t len = strlen(p.config.file.cmdline);
    if (k.cmdline_max && len > k.cmdline_max)
        return build_fail(err, "its command line is %zu bytes; kernel '%s' takes at most %u", len, p.config.file.image,
                          k.cmdline_max);
    memcpy(at(p, linux_boot::CMDLINE_GPA), p.config.file.cmdline, len + 1);
    linux_boot::E820 map[linux_boot::E820_COUNT_MAX];
    const size_t entries = linux_boot::e820_map(p.config.ram_size, main_memory(p), map);
    linux_boot::BootParams bp{
        linux_boot::CMDLINE_GPA, layout.initrd_gpa, f.initramfs ? f.initramfs_size : 0, rsdp, map, entries};
    if (!linux_boot::write_zero_page(f.image, k, bp, at(p, linux_boot::ZERO_PAGE_GPA)))
        return build_fail(err, "its zero page could not be written");
    linux_gdt(p);
    p.config.entry     = layout.kernel_gpa + linux_boot::ENTRY_64_OFFSET;
    p.config.image_end = layout.kernel_end;
    p.config.boot_rdi  = 0;
    p.config.boot_rsi  = linux_boot::ZERO_PAGE_GPA;
    log::print(
        "natsume: partition: %s: Linux %s, protocol %u.%02u, kernel at 0x%lx-0x%lx, initramfs %lu KiB at "
        "0x%lx, command line '%s'\n",
        p.name(), k.version[0] ? k.version : "(no version string)", k.protocol >> 8, k.protocol & 0xff,
        layout.kernel_gpa, layout.kernel_end - 1, f.initramfs ? f.initramfs_size >> 10 : 0, layout.initrd_gpa,
        p.config.file.cmdline);
    if (p.config.file.dma_size)
        log::print(
            "natsume: partition: %s: its memory above 1 MiB is its DMA window 0x%lx-0x%lx, at the same guest and "
            "host addresses (its RAM 1 MiB-%lu MiB is reserved in its e820 map)\n",
            p.name(), p.config.file.dma_base, p.config.file.dma_base + p.config.file.dma_size - 1,
            p.config.ram_size >> 20);
    if (linux_boot::clears_paging_in_decompressor(k.version))
        log::print(
            "natsume: partition: %s: note: this kernel turns paging off in its decompressor (before 6.1.82): that "
            "stretch runs in the hypervisor's paging-off window, which is tested with Linux's AP start-up only "
            "(docs/linux.md)\n",
            p.name());
    return true;
}

}  // namespace natsume::x86
