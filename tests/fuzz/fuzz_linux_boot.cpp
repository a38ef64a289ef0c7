// A Linux partition's bzImage (hypervisor/lib/linux_boot.cpp): the setup
// header of a boot module, the layout in the partition's RAM and the zero
// page written from it.
//
// The first 8 bytes are the RAM size (in 2 MiB units, 64 MiB to 4 GiB) and
// the initramfs size; the rest is the file, copied to a buffer of exactly its
// size so ASan sees any read past it. On success: the payload lies inside the
// file after the header, the version string is terminated, the kernel and the
// initramfs fit the RAM without overlapping, and the zero page is written
// inside its 4 KiB with the loader fields set.
#include <memory>
#include <string>

#include "fuzz_util.hpp"
#include "hypervisor/lib/linux_boot.hpp"

using namespace natsume;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 8) return 0;
    const uint64_t ram    = (32 + fuzz::load<uint16_t>(data) % 2017) * 0x200000ull;
    const uint64_t initrd = fuzz::load<uint32_t>(data + 2) & 0x3fffffff;
    const uint16_t where  = fuzz::load<uint16_t>(data + 6);  // bit 0: a DMA window; the rest: its offset
    data += 8, size -= 8;
    std::unique_ptr<uint8_t[]> file(new uint8_t[size == 0 ? 1 : size]);
    if (size) std::memcpy(file.get(), data, size);
    linux_boot::Kernel k;
    if (linux_boot::parse(file.get(), size, k) != linux_boot::Error::Ok) return 0;
    FUZZ_CHECK(k.setup_size < size && k.header_end <= k.setup_size);
    FUZZ_CHECK(k.payload == file.get() + k.setup_size && k.payload_size == size - k.setup_size);
    FUZZ_CHECK(std::memchr(k.version, 0, sizeof k.version) != nullptr);
    FUZZ_CHECK(k.init_size >= k.payload_size);
    unsigned a, b, c;
    (void)linux_boot::upstream_version(k.version, a, b, c);
    (void)linux_boot::clears_paging_in_decompressor(k.version);
    // Half the inputs place Linux's main memory in a DMA window above its RAM.
    const bool window           = where & 1;
    const uint64_t window_base  = ram + (where >> 1) * 0x200000ull;
    const linux_boot::Span main = linux_boot::main_memory(ram, window ? window_base : 0, window ? ram : 0);
    linux_boot::Layout l;
    if (linux_boot::plan(k, main, initrd, l) == linux_boot::LayoutError::Ok) {
        FUZZ_CHECK(l.kernel_gpa >= linux_boot::HIGH_RAM && l.kernel_gpa >= main.base && l.kernel_end <= main.end);
        FUZZ_CHECK(l.kernel_end - l.kernel_gpa >= k.payload_size);
        if (initrd) FUZZ_CHECK(l.initrd_gpa >= l.kernel_end && l.initrd_gpa + initrd <= main.end);
    }
    linux_boot::E820 map[linux_boot::E820_COUNT_MAX];
    const size_t entries = linux_boot::e820_map(ram, main, map);
    FUZZ_CHECK(entries == (window ? 7u : 6u));
    static uint8_t zp[linux_boot::ZERO_PAGE_SIZE];
    linux_boot::BootParams bp{linux_boot::CMDLINE_GPA, l.initrd_gpa, initrd, linux_boot::ACPI_GPA, map, entries};
    FUZZ_CHECK(linux_boot::write_zero_page(file.get(), k, bp, zp));
    FUZZ_CHECK(zp[linux_boot::TYPE_OF_LOADER] == linux_boot::LOADER_UNDEFINED);
    FUZZ_CHECK(zp[linux_boot::E820_ENTRIES] == entries);
    return 0;
}
