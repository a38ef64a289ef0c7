// natsume.efi: Natsume's own UEFI loader (docs/real-hardware.md). It reads
// natsume.cfg from its own directory, loads the hypervisor ELF at its
// addresses and the modules below 4 GiB, finds the ACPI RSDP in the EFI
// configuration table, exits boot services with the memory map taken last,
// and enters the hypervisor exactly as a multiboot2 loader would (32-bit
// protected mode, paging off, EAX = magic, EBX = boot information; Multiboot2
// Specification 3.3), so the hypervisor has one boot contract for GRUB and
// for this loader.
extern "C" {
#include <efi.h>
#include <efilib.h>
}

#include "drivers/multiboot2.h"

#include "console.hpp"
#include "firmware.hpp"
#include "handoff.hpp"
#include "info_builder.hpp"
#include "lib/bytes.hpp"
#include "lib/elf.hpp"
#include "lib/format.hpp"
#include "loader_config.hpp"
#include "memory_map.hpp"

namespace natsume::efi {
namespace {

constexpr uint64_t MIB            = 1ull << 20;
constexpr size_t INFO_CAP         = 64 * 1024;  // the boot information block
constexpr size_t MB2_HEADER_LIMIT = 32768;      // multiboot2 spec 3.1.1: the header lies in the first 32 KiB
constexpr size_t SCRATCH_RANGES   = 512;

constinit LoaderConfig config{};
constinit mb2::MemoryRange scratch[SCRATCH_RANGES]{};
constinit mb2::MemoryRange ranges[mb2::MAX_MEMORY_RANGES]{};

struct Loaded {
    uint64_t image_base, image_end, entry;
    Span modules[mb2::MAX_MODULES];
    uint8_t* info;
    uint8_t* trampoline;
    Rsdp rsdp;
};
constinit Loaded loaded{};

uint64_t page_up(uint64_t v) { return (v + EFI_PAGE - 1) & ~(EFI_PAGE - 1); }

// A multiboot2 header (magic, architecture, length, checksum summing to 0) in the first 32 KiB.
bool has_multiboot2_header(const Blob& f) {
    for (size_t off = 0; off + 16 <= f.size && off < MB2_HEADER_LIMIT; off += 8) {
        const uint8_t* h = f.data + off;
        if (bytes::load<uint32_t>(h) != MB2_HEADER_MAGIC) continue;
        uint32_t sum = bytes::load<uint32_t>(h) + bytes::load<uint32_t>(h + 4) + bytes::load<uint32_t>(h + 8) +
                       bytes::load<uint32_t>(h + 12);
        if (sum == 0) return true;
    }
    return false;
}

bool read_config(const char* dir) {
    char path[MAX_PATH];
    (void)fmt::format(path, sizeof path, "%s\\natsume.cfg", dir);
    Blob text;
    if (!read_file(path, text)) {
        say("natsume.efi: the loader file %s names what to boot (docs/real-hardware.md, \"The loader file\")\n", path);
        return false;
    }
    ConfigError err;
    if (!parse_loader_config(reinterpret_cast<const char*>(text.data), text.size, config, err)) {
        if (err.line)
            say("natsume.efi: %s line %u: %s\n", path, err.line, err.text);
        else
            say("natsume.efi: %s: %s\n", path, err.text);
        return false;
    }
    FreePool(text.data);
    say("natsume.efi: loader file %s: hypervisor %s, %lu modules\n", path, config.hypervisor, config.module_count);
    return true;
}

// The hypervisor's PT_LOAD segments at their physical addresses, as GRUB loads them.
bool load_hypervisor() {
    Blob f;
    if (!read_file(config.hypervisor, f)) return false;
    elf::Image img;
    elf::Error e = elf::parse(f.data, f.size, img);
    if (e == elf::Error::Ok) e = elf::check_placement(img, MIB, 1ull << 32);
    if (e != elf::Error::Ok) {
        say("natsume.efi: %s is not a hypervisor image this loader can enter: %s\n", config.hypervisor,
            elf::to_string(e));
        return false;
    }
    if (!has_multiboot2_header(f)) {
        say("natsume.efi: %s has no multiboot2 header in its first 32 KiB: it is not a Natsume hypervisor\n",
            config.hypervisor);
        return false;
    }
    loaded.image_base = img.lowest & ~(EFI_PAGE - 1);
    loaded.image_end  = page_up(img.highest);
    if (!allocate_at(loaded.image_base, loaded.image_end - loaded.image_base)) {
        say("natsume.efi: the hypervisor's memory 0x%lx-0x%lx is not free on this machine (firmware memory map)\n",
            loaded.image_base, loaded.image_end - 1);
        return false;
    }
    for (size_t i = 0; i < img.segment_count; ++i) {
        const elf::Segment& s = img.segments[i];
        auto* dst             = reinterpret_cast<uint8_t*>(s.paddr);
        __builtin_memcpy(dst, f.data + s.offset, s.file_size);
        __builtin_memset(dst + s.file_size, 0, s.mem_size - s.file_size);
    }
    loaded.entry = img.entry_paddr;
    FreePool(f.data);
    say("natsume.efi: hypervisor %s at 0x%lx-0x%lx, entry 0x%lx\n", config.hypervisor, loaded.image_base,
        loaded.image_end - 1, loaded.entry);
    return true;
}

// Modules packed after the image where that memory is free (as GRUB does), else below 4 GiB.
bool load_modules() {
    uint64_t next = loaded.image_end;
    for (size_t i = 0; i < config.module_count; ++i) {
        const ModuleEntry& m = config.modules[i];
        Blob f;
        if (!load_file_pages(m.path, next, f)) {
            say("natsume.efi: module '%s' (natsume.cfg line %u) could not be loaded\n", m.cmdline, m.line);
            return false;
        }
        const uint64_t start = reinterpret_cast<uint64_t>(f.data);
        loaded.modules[i]    = {start, f.size};
        next                 = page_up(start + (f.size ? f.size : 1));
        say("natsume.efi: module %s at 0x%lx-0x%lx '%s'\n", m.path, start, start + f.size, m.cmdline);
    }
    return true;
}

bool find_acpi() {
    loaded.rsdp = find_rsdp();
    if (!loaded.rsdp.v2 && !loaded.rsdp.v1) {
        say("natsume.efi: the EFI configuration table has no ACPI RSDP (neither the ACPI 2.0 nor the 1.0 GUID); "
            "Natsume needs ACPI (MADT, DMAR, MCFG)\n");
        return false;
    }
    const uint8_t* r = loaded.rsdp.v2 ? loaded.rsdp.v2 : loaded.rsdp.v1;
    say("natsume.efi: ACPI RSDP revision %u at 0x%lx (%s GUID)\n", r[15], reinterpret_cast<uint64_t>(r),
        loaded.rsdp.v2 ? "ACPI 2.0" : "ACPI 1.0");
    return true;
}

bool allocate_handoff() {
    loaded.info       = allocate_low(INFO_CAP, false);
    loaded.trampoline = allocate_low(handoff_size(), true);
    if (!loaded.info || !loaded.trampoline) {
        say("natsume.efi: no free memory below 4 GiB for the boot information\n");
        return false;
    }
    return true;
}

// The RSDP copies: ACPI 2.0 (36 bytes) in the new tag when its revision says so, 1.0 (20 bytes) in the old.
void add_rsdp(InfoBuilder& b) {
    const Rsdp& r = loaded.rsdp;
    if (r.v2 && r.v2[15] >= 2) b.rsdp(mb2::TAG_ACPI_NEW, r.v2, 36);
    if (r.v1)
        b.rsdp(mb2::TAG_ACPI_OLD, r.v1, 20);
    else if (r.v2 && r.v2[15] < 2)
        b.rsdp(mb2::TAG_ACPI_OLD, r.v2, 20);
}

// After ExitBootServices: nothing but this code and COM1.
size_t build_info(const FinalMap& map) {
    Span keep[mb2::MAX_MODULES + 2];
    size_t nk  = 0;
    keep[nk++] = {loaded.image_base, loaded.image_end - loaded.image_base};
    keep[nk++] = {reinterpret_cast<uint64_t>(loaded.info), INFO_CAP};
    for (size_t i = 0; i < config.module_count; ++i)
        keep[nk++] = {loaded.modules[i].base, page_up(loaded.modules[i].size ? loaded.modules[i].size : 1)};
    size_t count = 0;
    MapError me  = translate(map.map, map.size, map.descriptor_size, keep, nk, scratch, SCRATCH_RANGES, ranges,
                             mb2::MAX_MEMORY_RANGES, count);
    if (me != MapError::Ok) {
        say("natsume.efi: the memory map cannot be handed over: %s\n", to_string(me));
        return 0;
    }
    InfoBuilder b(loaded.info, INFO_CAP);
    b.string(mb2::TAG_CMDLINE, config.cmdline);
    b.string(mb2::TAG_BOOTLOADER_NAME, "natsume.efi");
    for (size_t i = 0; i < config.module_count; ++i) {
        const Span& s = loaded.modules[i];
        b.module(static_cast<uint32_t>(s.base), static_cast<uint32_t>(s.base + s.size), config.modules[i].cmdline);
    }
    b.memory_map(ranges, count);
    b.efi64_system_table(system_table_address());
    add_rsdp(b);
    size_t n = b.finish();
    if (n == 0) say("natsume.efi: the boot information does not fit in %lu KiB\n", INFO_CAP / 1024);
    return n;
}

[[noreturn]] void halt() {
    say("natsume.efi: stopped; reset the machine\n");
    for (;;) asm volatile("cli; hlt");
}

EFI_STATUS give_up(EFI_STATUS status) {
    say("natsume.efi: nothing was started; returning to the firmware in 10 s\n");
    uefi_call_wrapper(reinterpret_cast<void*>(BS->Stall), 1, 10'000'000ull);
    return status;
}

}  // namespace
}  // namespace natsume::efi

extern "C" EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE* system_table) {
    using namespace natsume::efi;
    InitializeLib(image, system_table);
    console_init();
    say("natsume.efi: Natsume UEFI loader\n");
    // The firmware's 5-minute watchdog would reset the machine under the hypervisor.
    uefi_call_wrapper(reinterpret_cast<void*>(BS->SetWatchdogTimer), 4, 0ull, 0ull, 0ull, nullptr);
    char dir[MAX_PATH];
    if (!open_boot_volume(image, dir, sizeof dir) || !read_config(dir) || !load_hypervisor() || !load_modules() ||
        !find_acpi() || !allocate_handoff())
        return give_up(EFI_LOAD_ERROR);
    say("natsume.efi: exiting boot services; the hypervisor speaks next on COM1\n");
    FinalMap map;
    if (!exit_boot_services(image, map)) halt();
    if (build_info(map) == 0) halt();
    enter_hypervisor(loaded.trampoline, loaded.entry, reinterpret_cast<uint64_t>(loaded.info));
}
