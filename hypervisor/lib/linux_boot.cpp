#include "linux_boot.hpp"

#include "bytes.hpp"

namespace natsume::linux_boot {
namespace {

constexpr size_t SECTOR = 512;

// Copies the NUL-terminated version string at off, bounded by the file and out.
Error copy_version(const uint8_t* image, size_t size, size_t off, char (&out)[96]) {
    out[0] = '\0';
    if (off >= size) return Error::Ok;  // no string: nothing to judge by
    size_t n = 0;
    for (; off + n < size && image[off + n] != 0; ++n)
        if (n + 1 < sizeof out) out[n] = static_cast<char>(image[off + n]);
    if (off + n == size) return Error::VersionNotTerminated;
    out[n < sizeof out ? n : sizeof out - 1] = '\0';
    return Error::Ok;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads a decimal number at s; false when there is none (or it is absurd).
bool number(const char*& s, unsigned& v) {
    if (!is_digit(*s)) return false;
    v = 0;
    for (; is_digit(*s); ++s) {
        if (v > 100000) return false;
        v = v * 10 + static_cast<unsigned>(*s - '0');
    }
    return true;
}

bool triple_at(const char* s, unsigned& a, unsigned& b, unsigned& c) {
    return number(s, a) && *s++ == '.' && number(s, b) && *s++ == '.' && number(s, c);
}

}  // namespace

Error parse(const uint8_t* image, size_t size, Kernel& out) {
    __builtin_memset(&out, 0, sizeof out);
    if (size < INIT_SIZE + 4) return Error::TooSmall;
    if (bytes::load<uint16_t>(image + BOOT_FLAG) != BOOT_FLAG_MAGIC) return Error::NoBootFlag;
    if (bytes::load<uint32_t>(image + HEADER) != HEADER_MAGIC) return Error::NoHeader;
    out.protocol = bytes::load<uint16_t>(image + VERSION);
    if (out.protocol < MIN_VERSION) return Error::OldProtocol;
    if (!(bytes::load<uint16_t>(image + XLOADFLAGS) & XLF_KERNEL_64)) return Error::No64BitEntry;
    if (!image[RELOCATABLE]) return Error::NotRelocatable;
    uint8_t sects  = image[SETUP_SECTS] ? image[SETUP_SECTS] : 4;  // 0 means 4 (boot.rst)
    out.setup_size = (size_t(sects) + 1) * SECTOR;
    // The header runs to 0x202 + the jump's displacement byte at 0x201 (boot.rst).
    out.header_end = HEADER + image[JUMP + 1];
    if (out.setup_size >= size || out.header_end > out.setup_size || out.header_end < INIT_SIZE + 4)
        return Error::BadSetupSize;
    out.payload         = image + out.setup_size;
    out.payload_size    = size - out.setup_size;
    out.alignment       = bytes::load<uint32_t>(image + KERNEL_ALIGNMENT);
    out.pref_address    = bytes::load<uint64_t>(image + PREF_ADDRESS);
    out.init_size       = bytes::load<uint32_t>(image + INIT_SIZE);
    out.cmdline_max     = bytes::load<uint32_t>(image + CMDLINE_SIZE);
    out.initrd_addr_max = bytes::load<uint32_t>(image + INITRD_ADDR_MAX);
    if (out.alignment == 0 || (out.alignment & (out.alignment - 1)) != 0 || out.alignment > (1u << 30))
        return Error::BadAlignment;
    if (out.init_size < out.payload_size) out.init_size = out.payload_size;
    const size_t v = bytes::load<uint16_t>(image + KERNEL_VERSION);
    return v ? copy_version(image, size, JUMP + v, out.version) : Error::Ok;
}

bool upstream_version(const char* s, unsigned& major, unsigned& minor, unsigned& patch) {
    bool found = false;
    for (const char* p = s; *p; ++p) {
        if (!is_digit(*p) || (p > s && is_digit(p[-1]))) continue;
        unsigned a, b, c;
        if (!triple_at(p, a, b, c)) continue;
        if (!found || a > major || (a == major && (b > minor || (b == minor && c > patch)))) {
            major = a, minor = b, patch = c;
            found = true;
        }
    }
    return found;
}

bool clears_paging_in_decompressor(const char* version) {
    unsigned a = 0, b = 0, c = 0;
    if (!upstream_version(version, a, b, c)) return false;
    if (a < 6) return true;
    if (a == 6 && b == 1) return c < 82;
    return a == 6 && b >= 2 && b <= 5;
}

bool write_zero_page(const uint8_t* image, const Kernel& k, const BootParams& bp, uint8_t* zp) {
    if (bp.e820_count > E820_MAX) return false;
    __builtin_memset(zp, 0, ZERO_PAGE_SIZE);
    __builtin_memcpy(zp + SETUP_SECTS, image + SETUP_SECTS, k.header_end - SETUP_SECTS);
    zp[TYPE_OF_LOADER] = LOADER_UNDEFINED;
    zp[LOADFLAGS]      = static_cast<uint8_t>(zp[LOADFLAGS] | LOADED_HIGH);
    zp[LOADFLAGS]      = static_cast<uint8_t>(zp[LOADFLAGS] & ~CAN_USE_HEAP);  // no real-mode heap: no setup code runs
    bytes::store<uint32_t>(zp + CMD_LINE_PTR, static_cast<uint32_t>(bp.cmdline_gpa));
    bytes::store<uint32_t>(zp + EXT_CMD_LINE_PTR, static_cast<uint32_t>(bp.cmdline_gpa >> 32));
    bytes::store<uint32_t>(zp + RAMDISK_IMAGE, static_cast<uint32_t>(bp.initrd_gpa));
    bytes::store<uint32_t>(zp + EXT_RAMDISK_IMAGE, static_cast<uint32_t>(bp.initrd_gpa >> 32));
    bytes::store<uint32_t>(zp + RAMDISK_SIZE, static_cast<uint32_t>(bp.initrd_size));
    bytes::store<uint32_t>(zp + EXT_RAMDISK_SIZE, static_cast<uint32_t>(bp.initrd_size >> 32));
    bytes::store<uint64_t>(zp + ACPI_RSDP_ADDR, bp.rsdp_gpa);
    zp[E820_ENTRIES] = static_cast<uint8_t>(bp.e820_count);
    for (size_t i = 0; i < bp.e820_count; ++i) {
        uint8_t* e = zp + E820_TABLE + i * E820_ENTRY_SIZE;
        bytes::store(e, bp.e820[i].base);
        bytes::store(e + 8, bp.e820[i].size);
        bytes::store(e + 16, bp.e820[i].type);
    }
    return true;
}

namespace {
constexpr uint64_t PAGE = 4096;
uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }
}  // namespace

MailboxVerdict mailbox_verdict(uint16_t command, uint32_t apic_id, uint32_t self) {
    if (command == 0) return MailboxVerdict::Idle;
    if (command != MAILBOX_WAKEUP) return MailboxVerdict::Unknown;
    return apic_id == self ? MailboxVerdict::Wake : MailboxVerdict::Other;
}

Span main_memory(uint64_t ram_size, uint64_t window_base, uint64_t window_size) {
    if (window_size) return {window_base, window_base + window_size};
    return {HIGH_RAM, ram_size > HIGH_RAM ? ram_size : HIGH_RAM};
}

LayoutError plan(const Kernel& k, Span main, uint64_t initrd_size, Layout& out) {
    out = {};
    // The kernel is relocatable: its preferred address when that lies in main
    // memory, else 16 MiB when that does, else the start of main memory.
    const uint64_t low          = main.base > HIGH_RAM ? main.base : HIGH_RAM;
    const bool pref_fits        = k.pref_address >= low && k.pref_address < main.end;
    const bool deflt_fits       = DEFAULT_LOAD >= low && DEFAULT_LOAD < main.end;
    const uint64_t want         = pref_fits ? k.pref_address : deflt_fits ? DEFAULT_LOAD : low;
    const uint64_t at           = align_up(want, k.alignment);
    out.kernel_gpa              = at;
    out.kernel_end              = at + align_up(k.init_size, PAGE);
    const uint64_t initrd_pages = align_up(initrd_size, PAGE);
    out.end_needed              = out.kernel_end + initrd_pages;
    // The initramfs ends where main memory does, or where the kernel can still reach it.
    uint64_t top = main.end;
    if (k.initrd_addr_max && k.initrd_addr_max + 1 < top) top = (k.initrd_addr_max + 1) & ~(PAGE - 1);
    if (at < want || out.kernel_end < at || out.kernel_end + initrd_pages > main.end ||
        (initrd_size && top < out.kernel_end + initrd_pages))
        return LayoutError::DoesNotFit;
    out.initrd_gpa = initrd_size ? top - initrd_pages : 0;
    return LayoutError::Ok;
}

size_t e820_map(uint64_t ram_size, Span main, E820 (&out)[E820_COUNT_MAX]) {
    out[0]   = {0, HV_AREA_END, E820_RESERVED};                           // the hypervisor's GDT, page tables, stack
    out[1]   = {ZERO_PAGE_GPA, ACPI_GPA - ZERO_PAGE_GPA, E820_RESERVED};  // zero page, command line
    out[2]   = {ACPI_GPA, ACPI_END - ACPI_GPA, E820_ACPI};
    out[3]   = {ACPI_END, LOW_RAM_END - ACPI_END, E820_RAM};  // low RAM: the AP trampoline's
    out[4]   = {LOW_RAM_END, HIGH_RAM - LOW_RAM_END, E820_RESERVED};
    size_t n = 5;
    if (main.base == HIGH_RAM) {
        out[n++] = {HIGH_RAM, main.size(), E820_RAM};
        return n;
    }
    // Its RAM above 1 MiB is not for Linux: a device could not reach it.
    if (ram_size > HIGH_RAM) out[n++] = {HIGH_RAM, ram_size - HIGH_RAM, E820_RESERVED};
    out[n++] = {main.base, main.size(), E820_RAM};
    return n;
}

const char* to_string(Error e) {
    switch (e) {
    case Error::Ok: return "the bzImage's setup header is usable";
    case Error::TooSmall: return "the file is too small to hold a Linux setup header (is it a bzImage?)";
    case Error::NoBootFlag: return "no boot flag 0xAA55 at offset 0x1FE: not a Linux bzImage";
    case Error::NoHeader: return "no \"HdrS\" setup header at offset 0x202: not a Linux bzImage";
    case Error::OldProtocol: return "the kernel's boot protocol is older than 2.12: it has no 64-bit entry to start";
    case Error::No64BitEntry: return "the kernel has no 64-bit entry point (xloadflags bit 0): build it for x86-64";
    case Error::NotRelocatable: return "the kernel is not relocatable: it could not run at the partition's address";
    case Error::BadSetupSize: return "the setup header's sizes (setup_sects, header length) do not fit the file";
    case Error::BadAlignment: return "the kernel_alignment field is not a power of two up to 1 GiB";
    case Error::VersionNotTerminated: return "the kernel's version string runs to the end of the file";
    }
    return "unknown bzImage error";
}

}  // namespace natsume::linux_boot
