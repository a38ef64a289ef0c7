// First C++ code on both paths: find out how the kernel was entered, bring
// up the console and the kernel's own tables, and pick the main stack.
#include "boot/boot.h"

#include <natsume/bootinfo.h>
#include <natsume/hypercall.h>

#include "drivers/multiboot2.h"

#include "arch/gdt.h"
#include "arch/idt.h"
#include "arch/layout.h"
#include "arch/paging.h"
#include "boot/multiboot2.h"
#include "devices/uart.h"
#include "kernel/console.h"
#include "kernel/kprint.h"
#include "kernel/machine.h"

extern "C" char __image_start[], __image_end[];

namespace natsume::guest::boot {
namespace {

Context g_ctx;

void copy_string(char* dst, const char* src, uint64_t size) {
    uint64_t i = 0;
    for (; i + 1 < size && src[i]; ++i) dst[i] = src[i];
    dst[i] = '\0';
}

uint64_t round_up_mib(uint64_t v) { return (v + (1u << 20) - 1) & ~uint64_t{(1u << 20) - 1}; }

// Anything at the 64-bit entry that does not carry the boot-info magic was
// not started by Natsume.
const natsume_boot_info* find_boot_info(uint64_t gpa) {
    if (gpa == 0 || gpa >= (1ull << 32) || (gpa & 7) != 0) return nullptr;
    auto* bi = reinterpret_cast<const natsume_boot_info*>(gpa);
    if (bi->magic != NATSUME_BOOT_INFO_MAGIC || bi->version != NATSUME_BOOT_INFO_VERSION) return nullptr;
    return bi;
}

void from_boot_info(const natsume_boot_info& bi) {
    g_ctx.mode = Mode::Partition;
    copy_string(g_ctx.name, bi.name, sizeof g_ctx.name);
    copy_string(g_ctx.cmdline, bi.cmdline, sizeof g_ctx.cmdline);
    g_ctx.loader_apic_id = bi.apic_id;
    g_ctx.ram_top        = bi.ram_size;
    g_ctx.ram_size       = bi.ram_size;
    g_ctx.tsc_khz        = bi.tsc_khz;
    g_ctx.image_end      = bi.image_end;
    g_ctx.dma_base       = bi.dma_base;
    g_ctx.dma_size       = bi.dma_size;
    g_ctx.ioapic_gpa     = bi.ioapic_gpa;
    g_ctx.device_count   = bi.device_count < NATSUME_BOOT_MAX_DEVICES ? bi.device_count : NATSUME_BOOT_MAX_DEVICES;
    for (uint32_t i = 0; i < g_ctx.device_count; ++i) g_ctx.devices[i] = bi.devices[i];
    g_ctx.channel_count = bi.channel_count < NATSUME_BOOT_MAX_CHANNELS ? bi.channel_count : NATSUME_BOOT_MAX_CHANNELS;
    for (uint32_t i = 0; i < g_ctx.channel_count; ++i) g_ctx.channels[i] = bi.channels[i];
    if (bi.console == NATSUME_CONSOLE_UART)
        console::init(console::Backend::Uart, bi.console_port);
    else
        console::init(console::Backend::Hypercall, 0);
}

// Without usable information the kernel still runs, on the assumption of the
// smallest partition size it is built for.
constexpr uint64_t FALLBACK_RAM_TOP = 32ull << 20;

void from_multiboot2(uint64_t info, uint32_t magic) {
    console::init(console::Backend::Uart, uart::COM1);
    g_ctx.ram_top = FALLBACK_RAM_TOP;
    mb2::Info mi;
    if (magic != MB2_BOOTLOADER_MAGIC) {
        kprint::Line().str("natsume-guest: bad multiboot2 magic ").hex(magic).emit();
    } else if (mb2::parse(reinterpret_cast<const uint8_t*>(info), reinterpret_cast<uintptr_t>(__image_start), mi) !=
               mb2::Status::Ok) {
        kprint::Line().str("natsume-guest: no usable multiboot2 memory map, assuming 32 MiB").emit();
        copy_string(g_ctx.cmdline, mi.cmdline, sizeof g_ctx.cmdline);
    } else {
        // Page tables map 4 GiB; RAM above is not used.
        g_ctx.ram_top = mi.ram_top < (1ull << 32) ? mi.ram_top : (1ull << 32);
        copy_string(g_ctx.cmdline, mi.cmdline, sizeof g_ctx.cmdline);
    }
    g_ctx.ram_size = round_up_mib(g_ctx.ram_top);
}

// A DMA window inside RAM must not be handed out by the heap: the heap stops
// below it. One overlapping the image or the stack cannot be honoured.
void place_heap() {
    g_ctx.heap_end = g_ctx.ram_top - STACK_REGION_SIZE;
    uint64_t lo = g_ctx.dma_base, hi = g_ctx.dma_base + g_ctx.dma_size;
    if (g_ctx.dma_size == 0 || lo >= g_ctx.ram_top) return;
    if (lo < g_ctx.image_end || hi > g_ctx.heap_end) machine::fatal("DMA window overlaps the kernel image or stack");
    g_ctx.heap_end = lo;
}

}  // namespace

const Context& context() { return g_ctx; }
void set_tsc_khz(uint64_t khz) { g_ctx.tsc_khz = khz; }

}  // namespace natsume::guest::boot

// Runs on the small boot stack. Everything it reads from the loader is copied
// before the heap or the main stack can overwrite it.
extern "C" uint64_t kernel_early(uint32_t kind, uint64_t info, uint32_t magic) {
    using namespace natsume::guest;
    using namespace natsume::guest::boot;
    const natsume_boot_info* bi = kind == GUEST_ENTRY_64BIT ? find_boot_info(info) : nullptr;
    if (bi) {
        from_boot_info(*bi);
    } else if (kind == GUEST_ENTRY_MULTIBOOT2) {
        from_multiboot2(info, magic);
    } else {
        console::init(console::Backend::Uart, uart::COM1);
        g_ctx.ram_top  = FALLBACK_RAM_TOP;
        g_ctx.ram_size = FALLBACK_RAM_TOP;
    }
    g_ctx.image_end = reinterpret_cast<uintptr_t>(__image_end);
    paging::install();
    gdt::install();
    idt::install();
    if (g_ctx.ram_top < g_ctx.image_end + STACK_REGION_SIZE + (1u << 20))
        machine::fatal("RAM too small for image, heap and stack");
    place_heap();
    return (g_ctx.ram_top - 16) & ~uint64_t{15};
}
