// The Linux x86 boot protocol (Documentation/arch/x86/boot.rst, "The Real-Mode
// Kernel Header" and "64-bit Boot Protocol"): the bzImage's setup header,
// checked before anything is loaded, and the zero page (struct boot_params)
// a 64-bit entry hands the kernel. The bzImage comes from a boot module, so
// every offset is checked against the file. Pure: host-tested, and used by
// natsume-config to check a kernel offline with the same rules.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume::linux_boot {

// Offsets in the bzImage file (= in the zero page) of the setup header fields used.
inline constexpr size_t SETUP_SECTS = 0x1f1, BOOT_FLAG = 0x1fe, JUMP = 0x200, HEADER = 0x202, VERSION = 0x206,
                        KERNEL_VERSION = 0x20e, TYPE_OF_LOADER = 0x210, LOADFLAGS = 0x211, RAMDISK_IMAGE = 0x218,
                        RAMDISK_SIZE = 0x21c, HEAP_END_PTR = 0x224, CMD_LINE_PTR = 0x228, INITRD_ADDR_MAX = 0x22c,
                        KERNEL_ALIGNMENT = 0x230, RELOCATABLE = 0x234, XLOADFLAGS = 0x236, CMDLINE_SIZE = 0x238,
                        PREF_ADDRESS = 0x258, INIT_SIZE = 0x260;
// Zero page fields outside the setup header (struct boot_params).
inline constexpr size_t ACPI_RSDP_ADDR = 0x070, EXT_RAMDISK_IMAGE = 0x0c0, EXT_RAMDISK_SIZE = 0x0c4,
                        EXT_CMD_LINE_PTR = 0x0c8, E820_ENTRIES = 0x1e8, SENTINEL = 0x1ef, E820_TABLE = 0x2d0;
inline constexpr size_t ZERO_PAGE_SIZE = 4096, E820_MAX = 128, E820_ENTRY_SIZE = 20;
inline constexpr uint16_t BOOT_FLAG_MAGIC = 0xaa55;
inline constexpr uint32_t HEADER_MAGIC    = 0x53726448;  // "HdrS"
inline constexpr uint16_t MIN_VERSION     = 0x020c;      // 2.12: xloadflags and the 64-bit entry
inline constexpr uint16_t XLF_KERNEL_64   = 1u << 0;     // a 64-bit entry at load address + 0x200
inline constexpr uint8_t LOADED_HIGH = 1u << 0, CAN_USE_HEAP = 1u << 7;
inline constexpr uint8_t LOADER_UNDEFINED = 0xff;
inline constexpr uint64_t ENTRY_64_OFFSET = 0x200;

// e820 types (ACPI address range types, as the zero page carries them).
inline constexpr uint32_t E820_RAM = 1, E820_RESERVED = 2, E820_ACPI = 3, E820_NVS = 4;

struct Kernel {
    uint16_t protocol;       // boot protocol version, e.g. 0x020f
    size_t setup_size;       // bytes before the protected-mode kernel: (setup_sects + 1) * 512
    size_t header_end;       // the setup header is [SETUP_SECTS, header_end) of the file
    const uint8_t* payload;  // the protected-mode kernel, copied to the load address
    size_t payload_size;
    uint64_t alignment;        // kernel_alignment
    uint64_t pref_address;     // where it wants to run (it relocates itself elsewhere)
    uint64_t init_size;        // bytes from the load address it needs to decompress and start
    uint32_t cmdline_max;      // cmdline_size: longest command line, without the NUL
    uint64_t initrd_addr_max;  // the initramfs must end at or below this + 1
    char version[96];          // the kernel's version string ("" when absent)
};

enum class [[nodiscard]] Error{
    Ok,           TooSmall,       NoBootFlag,   NoHeader,     OldProtocol,
    No64BitEntry, NotRelocatable, BadSetupSize, BadAlignment, VersionNotTerminated,
};
const char* to_string(Error);

[[nodiscard]] Error parse(const uint8_t* image, size_t size, Kernel& out);

// The upstream version the string names: the highest X.Y.Z in it (Debian's
// "6.1.0-28-amd64 ... Debian 6.1.119-1" is 6.1.119). False when none.
bool upstream_version(const char* version, unsigned& major, unsigned& minor, unsigned& patch);
// Kernels whose decompressor clears CR0.PG (before 6.1.82 in 6.1.y; 6.2-6.5):
// without unrestricted guest they cannot start. True when the string says so.
bool clears_paging_in_decompressor(const char* version);

struct E820 {
    uint64_t base, size;
    uint32_t type;
};

// What the zero page carries besides the copied setup header (guest-physical).
struct BootParams {
    uint64_t cmdline_gpa;
    uint64_t initrd_gpa, initrd_size;  // 0/0: none
    uint64_t rsdp_gpa;                 // 0: the kernel searches (it must not, here)
    const E820* e820;
    size_t e820_count;
};

// Writes the zero page into zp[0, ZERO_PAGE_SIZE): zeroes it, copies the
// setup header from the image, sets the loader fields and the e820 table.
[[nodiscard]] bool write_zero_page(const uint8_t* image, const Kernel& k, const BootParams& bp, uint8_t* zp);

// Where a Linux partition's pieces go in its guest-physical memory
// (docs/linux.md): the first 64 KiB keep the hypervisor's GDT, page tables and
// stack; the zero page, the command line and the ACPI tables follow; low RAM
// up to 0x9F000 is Linux's own (its AP trampoline lives there); 0x9F000-1 MiB
// is the legacy hole. Above 1 MiB is Linux's main memory: the kernel runs at
// its preferred 2 MiB-aligned address there, and the initramfs ends at its top
// (or at initrd_addr_max).
inline constexpr uint64_t HV_AREA_END = 0x10000, ZERO_PAGE_GPA = 0x10000, CMDLINE_GPA = 0x11000, ACPI_GPA = 0x12000,
                          ACPI_END = 0x20000, LOW_RAM_END = 0x9f000, HIGH_RAM = 0x100000, DEFAULT_LOAD = 0x1000000;

// The ACPI multiprocessor wake-up mailbox of a multi-core partition (ACPI
// 6.5 5.2.12.19, MADT structure type 0x10): one 4 KiB page in the reserved
// hypervisor area. Linux writes the APIC ID and the 64-bit wake-up vector,
// then the command (release order), and spins until the woken core clears it.
inline constexpr uint64_t MAILBOX_GPA   = 0x1000;
inline constexpr size_t MAILBOX_COMMAND = 0x0, MAILBOX_APIC_ID = 0x4, MAILBOX_WAKEUP_VECTOR = 0x8;
inline constexpr uint16_t MAILBOX_WAKEUP = 1;  // the only command ACPI 6.5 defines

enum class MailboxVerdict : uint8_t {
    Idle,     // command 0: nothing asked
    Wake,     // a wake-up for this core: take the vector, clear the command
    Other,    // a wake-up for another core of the partition
    Unknown,  // a command ACPI does not define: left alone
};
// What the core with APIC ID `self` makes of the mailbox's command and APIC ID.
MailboxVerdict mailbox_verdict(uint16_t command, uint32_t apic_id, uint32_t self);

// Guest-physical [base, end).
struct Span {
    uint64_t base, end;
    uint64_t size() const { return end - base; }
};

// Linux's main memory: the rest of its partition RAM [1 MiB, ram_size), or,
// when the partition has a DMA window, the whole window, which it sees at
// the window's host address. Without an IOMMU a device's DMA addresses are
// host addresses, and Linux hands its devices buffers from anywhere in its
// main memory, so all of it must be the identity window; the partition's own
// RAM then only carries the first megabyte (docs/linux.md, "Devices").
Span main_memory(uint64_t ram_size, uint64_t window_base, uint64_t window_size);

struct Layout {
    uint64_t kernel_gpa, kernel_end;  // [load address, load address + init_size)
    uint64_t initrd_gpa;              // 0 when there is no initramfs
    uint64_t end_needed;              // main memory must reach this far for the kernel and initramfs
};

enum class [[nodiscard]] LayoutError{Ok, DoesNotFit};

[[nodiscard]] LayoutError plan(const Kernel& k, Span main, uint64_t initrd_size, Layout& out);

// The e820 map of a partition of ram_size bytes laid out as above; returns
// the number of entries written. Its RAM above 1 MiB is reserved when the
// main memory is elsewhere.
inline constexpr size_t E820_COUNT_MAX = 7;
size_t e820_map(uint64_t ram_size, Span main, E820 (&out)[E820_COUNT_MAX]);

}  // namespace natsume::linux_boot
