// What natsume.efi asks of the UEFI boot services: its own directory and
// volume, whole files, pages at or below an address, the ACPI RSDP, and the
// final memory map with ExitBootServices. Each failure is reported with a
// sentence that names the file or address and the firmware's status.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume::efi {

struct Blob {
    uint8_t* data;
    uint64_t size;
};

// The firmware's status as words ("Not Found"), in a static buffer.
const char* status_text(uint64_t status);

[[nodiscard]] bool open_boot_volume(void* image_handle, char* dir, size_t dir_cap);
// A whole file of the boot volume into pool memory (the loader's own use).
[[nodiscard]] bool read_file(const char* path, Blob& out);
// A whole file into pages at `at` if that is free, else anywhere below 4 GiB;
// `out.data` is its physical address.
[[nodiscard]] bool load_file_pages(const char* path, uint64_t at, Blob& out);
// Pages at exactly [base, base + size) (the hypervisor image).
[[nodiscard]] bool allocate_at(uint64_t base, uint64_t size);
// Pages anywhere below 4 GiB; code pages when `code` (the hand-over trampoline).
[[nodiscard]] uint8_t* allocate_low(uint64_t size, bool code);

struct Rsdp {
    const uint8_t* v2;  // ACPI 2.0+ RSDP (36 bytes), or null
    const uint8_t* v1;  // ACPI 1.0 RSDP (20 bytes), or null
};
Rsdp find_rsdp();
uint64_t system_table_address();

struct FinalMap {
    uint8_t* map;
    size_t size, descriptor_size;
};
// Takes the memory map last and exits boot services, taking it again and
// retrying once if the firmware says the map key went stale. After it
// returns true, no firmware service may be used.
[[nodiscard]] bool exit_boot_services(void* image_handle, FinalMap& out);

}  // namespace natsume::efi
