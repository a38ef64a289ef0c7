// Writes a multiboot2 boot information block (Multiboot2 Specification 2.0,
// section 3.6) the way GRUB hands it to the hypervisor, so natsume.efi enters
// through the same contract. Into a caller's buffer, no allocation; any tag
// that does not fit marks the block overflowed and finish() fails. Pure:
// host-tested against the hypervisor's own parser.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "lib/multiboot2.hpp"

namespace natsume::efi {

class InfoBuilder {
public:
    InfoBuilder(uint8_t* buf, size_t cap);  // buf 8-byte aligned

    void string(mb2::TagType type, const char* s);  // command line, boot loader name
    void module(uint32_t start, uint32_t end, const char* cmdline);
    void memory_map(const mb2::MemoryRange* ranges, size_t count);
    void efi64_system_table(uint64_t address);
    void rsdp(mb2::TagType type, const void* rsdp, size_t len);  // TAG_ACPI_OLD / TAG_ACPI_NEW copy

    // Writes the end tag and total_size; the block's size, or 0 if anything overflowed.
    [[nodiscard]] size_t finish();

private:
    uint8_t* begin_tag(mb2::TagType type, size_t payload);  // null on overflow
    uint8_t* buf_;
    size_t cap_, len_;
    bool overflow_;
};

}  // namespace natsume::efi
