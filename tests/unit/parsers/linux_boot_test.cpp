// The Linux boot protocol: the bzImage's setup header and the zero page.
#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include <natsume/bootinfo.h>

#include "hypervisor/lib/linux_boot.hpp"

using namespace natsume;
using namespace natsume::linux_boot;

namespace {

template <typename T>
void put(std::vector<uint8_t>& b, size_t off, T v) {
    std::memcpy(b.data() + off, &v, sizeof v);
}
template <typename T>
T get(const uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

// A bzImage-shaped file as Debian 12's 6.1 kernel lays it out (setup_sects 39,
// protocol 2.15, xloadflags 0x7f, 2 MiB alignment), with a payload of
// recognisable bytes.
std::vector<uint8_t> bzimage(const std::string& version =
                                 "6.1.0-57-amd64 (debian-kernel@lists.debian.org) #1 SMP "
                                 "PREEMPT_DYNAMIC Debian 6.1.192-3 (2026-11-26)") {
    std::vector<uint8_t> b(40 * 512 + 8192, 0);
    b[SETUP_SECTS] = 39;
    put<uint16_t>(b, BOOT_FLAG, BOOT_FLAG_MAGIC);
    b[JUMP]     = 0xeb;
    b[JUMP + 1] = 0x6a;  // header ends at 0x26c
    put<uint32_t>(b, HEADER, HEADER_MAGIC);
    put<uint16_t>(b, VERSION, 0x020f);
    put<uint16_t>(b, KERNEL_VERSION, 0x0e00);
    std::memcpy(b.data() + 0x200 + 0x0e00, version.c_str(), version.size() + 1);
    b[LOADFLAGS] = LOADED_HIGH | CAN_USE_HEAP;
    put<uint32_t>(b, INITRD_ADDR_MAX, 0x7fffffff);
    put<uint32_t>(b, KERNEL_ALIGNMENT, 0x200000);
    b[RELOCATABLE] = 1;
    put<uint16_t>(b, XLOADFLAGS, 0x7f);
    put<uint32_t>(b, CMDLINE_SIZE, 0x7ff);
    put<uint64_t>(b, PREF_ADDRESS, 0x1000000);
    put<uint32_t>(b, INIT_SIZE, 0x3f98000);
    for (size_t i = 40 * 512; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i);
    return b;
}

Error parse(const std::vector<uint8_t>& b, Kernel& k) { return linux_boot::parse(b.data(), b.size(), k); }

}  // namespace

TEST_CASE("bzImage: Debian's 6.1 layout is read") {
    auto b = bzimage();
    Kernel k;
    REQUIRE(parse(b, k) == Error::Ok);
    CHECK(k.protocol == 0x020f);
    CHECK(k.setup_size == 40 * 512);
    CHECK(k.header_end == 0x26c);
    CHECK(k.payload == b.data() + 40 * 512);
    CHECK(k.payload_size == 8192);
    CHECK(k.alignment == 0x200000);
    CHECK(k.pref_address == 0x1000000);
    // A preferred address outside the RAM (or past the end of the address space) falls back to 16 MiB.
    Kernel far       = k;
    far.pref_address = 0xfffffffffffff000ull;
    Layout l;
    REQUIRE(plan(far, main_memory(0x10000000, 0, 0), 0, l) == LayoutError::Ok);
    CHECK(l.kernel_gpa == DEFAULT_LOAD);
    CHECK(l.kernel_end <= 0x10000000);
    CHECK(k.init_size == 0x3f98000);
    CHECK(k.cmdline_max == 0x7ff);
    CHECK(std::string(k.version).rfind("6.1.0-57-amd64", 0) == 0);
}

TEST_CASE("bzImage: what is not a usable 64-bit bzImage is refused with its reason") {
    Kernel k;
    auto b = bzimage();
    CHECK(linux_boot::parse(b.data(), 0x100, k) == Error::TooSmall);
    b = bzimage(), b[BOOT_FLAG] = 0;
    CHECK(parse(b, k) == Error::NoBootFlag);
    b = bzimage(), b[HEADER] = 'X';
    CHECK(parse(b, k) == Error::NoHeader);
    b = bzimage(), put<uint16_t>(b, VERSION, 0x020b);
    CHECK(parse(b, k) == Error::OldProtocol);
    b = bzimage(), put<uint16_t>(b, XLOADFLAGS, 0x7e);
    CHECK(parse(b, k) == Error::No64BitEntry);
    b = bzimage(), b[RELOCATABLE] = 0;
    CHECK(parse(b, k) == Error::NotRelocatable);
    b = bzimage(), b[SETUP_SECTS] = 200;
    CHECK(parse(b, k) == Error::BadSetupSize);
    b = bzimage(), b[JUMP + 1] = 0x10;  // header shorter than the fields read
    CHECK(parse(b, k) == Error::BadSetupSize);
    b = bzimage(), put<uint32_t>(b, KERNEL_ALIGNMENT, 0x300000);
    CHECK(parse(b, k) == Error::BadAlignment);
    b = bzimage();
    std::memset(b.data() + 0x200 + 0x0e00, 'x', b.size() - (0x200 + 0x0e00));
    CHECK(parse(b, k) == Error::VersionNotTerminated);
    for (Error e : {Error::TooSmall, Error::NoBootFlag, Error::OldProtocol, Error::NotRelocatable})
        CHECK(std::string(to_string(e)).size() > 20);
}

TEST_CASE("bzImage: the upstream version and the decompressor's paging") {
    unsigned a = 0, b = 0, c = 0;
    REQUIRE(
        upstream_version("6.1.0-28-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian "
                         "6.1.119-1 (2024-11-22)",
                         a, b, c));
    CHECK((a == 6 && b == 1 && c == 119));
    CHECK_FALSE(clears_paging_in_decompressor("6.1.0-28-amd64 (x) #1 SMP Debian 6.1.119-1 (2024-11-22)"));
    CHECK(clears_paging_in_decompressor("6.1.0-18-amd64 (x) #1 SMP Debian 6.1.76-1 (2024-02-01)"));
    CHECK_FALSE(clears_paging_in_decompressor("6.1.82 (me@host) #1 SMP"));
    CHECK(clears_paging_in_decompressor("6.1.81 (me@host) #1 SMP"));
    CHECK(clears_paging_in_decompressor("5.10.0-30-amd64 (x) #1 SMP Debian 5.10.218-1"));
    CHECK(clears_paging_in_decompressor("6.4.12 (me@host) #1"));
    CHECK_FALSE(clears_paging_in_decompressor("6.12.9 (me@host) #1"));
    CHECK_FALSE(clears_paging_in_decompressor(""));  // nothing to judge by: the hypervisor catches it at run time
    CHECK_FALSE(upstream_version("no version here 6.1", a, b, c));
}

TEST_CASE("layout: the kernel and initramfs in Linux's main memory, its RAM or its DMA window") {
    auto b = bzimage();
    Kernel k;
    REQUIRE(parse(b, k) == Error::Ok);
    // In its RAM: at the preferred 16 MiB, the initramfs at the top.
    Layout l;
    const Span ram = main_memory(0x10000000, 0, 0);
    CHECK((ram.base == HIGH_RAM && ram.end == 0x10000000));
    REQUIRE(plan(k, ram, 0x5000, l) == LayoutError::Ok);
    CHECK(l.kernel_gpa == 0x1000000);
    CHECK(l.kernel_end == 0x1000000 + 0x3f98000);
    CHECK(l.initrd_gpa == 0x10000000 - 0x5000);
    CHECK(l.end_needed == l.kernel_end + 0x5000);
    // Too little: the end it needs is reported.
    CHECK(plan(k, main_memory(0x4000000, 0, 0), 0x5000, l) == LayoutError::DoesNotFit);
    CHECK(l.end_needed == 0x1000000 + 0x3f98000 + 0x5000);
    // In a DMA window above 16 MiB: at the window's start (2 MiB-aligned), all of it inside.
    const Span win = main_memory(0x400000, 0x08200000, 0x0fe00000);
    CHECK((win.base == 0x08200000 && win.end == 0x18000000));
    REQUIRE(plan(k, win, 0x5000, l) == LayoutError::Ok);
    CHECK(l.kernel_gpa == 0x08200000);
    CHECK(l.initrd_gpa == 0x18000000 - 0x5000);
    CHECK(plan(k, main_memory(0x400000, 0x08200000, 0x3e00000), 0, l) == LayoutError::DoesNotFit);
    CHECK(l.end_needed - 0x08200000 == 0x3f98000);
    // A window that holds 16 MiB: the kernel still prefers it.
    REQUIRE(plan(k, main_memory(0x400000, 0x00800000, 0x08000000), 0, l) == LayoutError::Ok);
    CHECK(l.kernel_gpa == 0x1000000);
    // An initramfs the kernel cannot reach (initrd_addr_max) does not fit in a high window.
    Kernel low          = k;
    low.initrd_addr_max = 0x07ffffff;
    CHECK(plan(low, win, 0x5000, l) == LayoutError::DoesNotFit);
}

TEST_CASE("e820: low RAM for the trampoline, main memory as RAM, the rest reserved") {
    E820 map[E820_COUNT_MAX];
    REQUIRE(e820_map(0x10000000, main_memory(0x10000000, 0, 0), map) == 6);
    CHECK((map[3].base == ACPI_END && map[3].base + map[3].size == LOW_RAM_END && map[3].type == E820_RAM));
    CHECK((map[2].base == ACPI_GPA && map[2].type == E820_ACPI));
    CHECK((map[5].base == HIGH_RAM && map[5].size == 0x10000000 - HIGH_RAM && map[5].type == E820_RAM));
    // With a window, its own RAM above 1 MiB is reserved: no device could reach a buffer there.
    REQUIRE(e820_map(0x400000, main_memory(0x400000, 0x08200000, 0x0fe00000), map) == 7);
    CHECK((map[5].base == HIGH_RAM && map[5].size == 0x300000 && map[5].type == E820_RESERVED));
    CHECK((map[6].base == 0x08200000 && map[6].size == 0x0fe00000 && map[6].type == E820_RAM));
    uint64_t ram = 0;
    for (const E820& e : map)
        if (e.type == E820_RAM) ram += e.size;
    CHECK(ram == (LOW_RAM_END - ACPI_END) + 0x0fe00000);
}

TEST_CASE("zero page: the header copied, loader fields, command line, initramfs, RSDP and e820") {
    auto b = bzimage();
    Kernel k;
    REQUIRE(parse(b, k) == Error::Ok);
    const E820 map[] = {{0, 0x9f000, E820_RAM}, {0x9f000, 0x61000, E820_RESERVED}, {0x100000, 0xff00000, E820_RAM}};
    BootParams bp{0x20000, 0x5000000ull, 0x123456, 0xe0000, map, 3};
    std::vector<uint8_t> zp(ZERO_PAGE_SIZE, 0xcc);
    REQUIRE(write_zero_page(b.data(), k, bp, zp.data()));
    CHECK(get<uint32_t>(zp.data() + HEADER) == HEADER_MAGIC);
    CHECK(get<uint32_t>(zp.data() + INIT_SIZE) == 0x3f98000);
    CHECK(zp[0x26c] == 0);  // past the header: zeroed, not copied
    CHECK(zp[SENTINEL] == 0);
    CHECK(zp[TYPE_OF_LOADER] == LOADER_UNDEFINED);
    CHECK(zp[LOADFLAGS] == LOADED_HIGH);
    CHECK(get<uint32_t>(zp.data() + CMD_LINE_PTR) == 0x20000);
    CHECK(get<uint32_t>(zp.data() + RAMDISK_IMAGE) == 0x5000000);
    CHECK(get<uint32_t>(zp.data() + RAMDISK_SIZE) == 0x123456);
    CHECK(get<uint64_t>(zp.data() + ACPI_RSDP_ADDR) == 0xe0000);
    CHECK(zp[E820_ENTRIES] == 3);
    CHECK(get<uint64_t>(zp.data() + E820_TABLE + 2 * E820_ENTRY_SIZE) == 0x100000);
    CHECK(get<uint32_t>(zp.data() + E820_TABLE + 2 * E820_ENTRY_SIZE + 16) == E820_RAM);
    std::vector<E820> too_many(E820_MAX + 1, E820{0, 4096, E820_RAM});
    bp.e820 = too_many.data(), bp.e820_count = too_many.size();
    CHECK_FALSE(write_zero_page(b.data(), k, bp, zp.data()));
}

TEST_CASE("linux boot: the wake-up mailbox wakes only the core it names, with command 1") {
    using linux_boot::MailboxVerdict;
    CHECK(linux_boot::mailbox_verdict(0, 3, 3) == MailboxVerdict::Idle);
    CHECK(linux_boot::mailbox_verdict(linux_boot::MAILBOX_WAKEUP, 3, 3) == MailboxVerdict::Wake);
    CHECK(linux_boot::mailbox_verdict(linux_boot::MAILBOX_WAKEUP, 2, 3) == MailboxVerdict::Other);
    CHECK(linux_boot::mailbox_verdict(2, 3, 3) == MailboxVerdict::Unknown);
    CHECK(linux_boot::mailbox_verdict(0xffff, 3, 3) == MailboxVerdict::Unknown);
    // The mailbox sits in the reserved first 64 KiB, page-aligned, clear of the GDT and page tables.
    CHECK(linux_boot::MAILBOX_GPA % 4096 == 0);
    CHECK(linux_boot::MAILBOX_GPA + 4096 <= NATSUME_GUEST_GDT_GPA);
    linux_boot::E820 map[linux_boot::E820_COUNT_MAX];
    const size_t n = linux_boot::e820_map(64 << 20, linux_boot::main_memory(64 << 20, 0, 0), map);
    bool reserved  = false;
    for (size_t i = 0; i < n; ++i)
        reserved |= map[i].type == linux_boot::E820_RESERVED && map[i].base <= linux_boot::MAILBOX_GPA &&
                    map[i].base + map[i].size >= linux_boot::MAILBOX_GPA + 4096;
    CHECK(reserved);
}
