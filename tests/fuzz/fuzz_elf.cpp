// ELF64 partition images (hypervisor/lib/elf.cpp): parse, check_placement
// with the hypervisor's limits (NATSUME_GUEST_IMAGE_MIN_GPA, a 4 MiB
// partition), and load into a buffer that ends exactly where the partition's
// RAM ends, so ASan catches a byte written past it.
//
// Asserts: a parsed image has 1..MAX_SEGMENTS segments, mem_size >= file_size,
// file ranges inside the file, lowest < highest covering every segment, the
// entry inside an executable segment; a placed image loads with its file
// bytes copied and the rest zeroed; a destination one byte short, or an
// Image tampered with after the checks, is refused by load.
#include <memory>

#include "fuzz_util.hpp"
#include "hypervisor/lib/elf.hpp"
#include "natsume/bootinfo.h"

using namespace natsume;

namespace {

constexpr uint64_t RAM = 4ull << 20;  // NATSUME_CONFIG_RAM_MIN: the smallest partition

uint8_t* ram() {
    static uint8_t* r = new uint8_t[RAM];
    return r;
}

FUZZ_MODEL void check_image(const elf::Image& img, size_t size) {
    FUZZ_CHECK(img.segment_count >= 1 && img.segment_count <= elf::MAX_SEGMENTS);
    FUZZ_CHECK(img.lowest < img.highest);
    bool entry_found = false;
    for (size_t i = 0; i < img.segment_count; ++i) {
        const elf::Segment& s = img.segments[i];
        FUZZ_CHECK(s.mem_size > 0 && s.file_size <= s.mem_size);
        FUZZ_CHECK(s.offset <= size && s.file_size <= size - s.offset);
        FUZZ_CHECK(s.paddr + s.mem_size >= s.paddr);  // no wrap
        FUZZ_CHECK(s.paddr >= img.lowest && s.paddr + s.mem_size <= img.highest);
        // The first executable segment holding the entry translates it.
        if (!entry_found && (s.flags & elf::FLAG_EXECUTE) && img.entry >= s.vaddr && img.entry - s.vaddr < s.mem_size) {
            entry_found = true;
            FUZZ_CHECK(img.entry_paddr >= s.paddr && img.entry_paddr - s.paddr < s.mem_size);
        }
    }
    FUZZ_CHECK(entry_found);
}

FUZZ_MODEL void check_load(const elf::Image& img, const uint8_t* data, size_t size) {
    uint8_t* dest = ram();
    FUZZ_CHECK(elf::load(img, data, size, dest, RAM) == elf::Error::Ok);
    for (size_t i = 0; i < img.segment_count; ++i) {
        const elf::Segment& s = img.segments[i];
        FUZZ_CHECK(std::memcmp(dest + s.paddr, data + s.offset, s.file_size) == 0);
        for (uint64_t b = s.file_size; b < s.mem_size; ++b) FUZZ_CHECK(dest[s.paddr + b] == 0);
    }
    // One byte less RAM than the image needs: refused, nothing written past it.
    const uint64_t short_size = img.highest - 1;
    FUZZ_CHECK(elf::load(img, data, size, dest + (RAM - short_size), short_size) == elf::Error::DestinationTooSmall);
    // An Image changed after the checks cannot write outside dest either.
    elf::Image bad        = img;
    const elf::Segment& s = bad.segments[0];
    bad.segments[0].paddr = RAM - s.mem_size + 1;
    FUZZ_CHECK(elf::load(bad, data, size, dest, RAM) == elf::Error::DestinationTooSmall);
    bad                       = img;
    bad.segments[0].file_size = size - s.offset + 1;
    bad.segments[0].mem_size  = bad.segments[0].file_size;
    FUZZ_CHECK(elf::load(bad, data, size, dest, RAM) != elf::Error::Ok);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    elf::Image img;
    if (elf::parse(data, size, img) != elf::Error::Ok) return 0;
    check_image(img, size);
    if (elf::check_placement(img, NATSUME_GUEST_IMAGE_MIN_GPA, RAM) != elf::Error::Ok) return 0;
    FUZZ_CHECK(img.lowest >= NATSUME_GUEST_IMAGE_MIN_GPA && img.highest <= RAM);
    check_load(img, data, size);
    return 0;
}
