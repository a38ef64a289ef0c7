#include "devices/acpi.h"

#include <string.h>

namespace natsume::guest::acpi {
namespace {

// The RSDP lies on a 16-byte boundary in the BIOS area 0xE0000-0xFFFFF
// (ACPI 5.2.5.1); the EBDA is not searched (Bochs and QEMU use the BIOS area).
constexpr uint64_t BIOS_AREA_START     = 0xe0000;
constexpr uint64_t BIOS_AREA_END       = 0x100000;
constexpr unsigned RSDT_ADDRESS_OFFSET = 16;
constexpr unsigned HEADER_LENGTH       = 36;  // common table header
constexpr unsigned MADT_ENTRIES_OFFSET = 44;  // after local APIC address and flags
constexpr uint8_t MADT_IOAPIC          = 1;

uint32_t u32(uint64_t p) {
    uint32_t v;
    memcpy(&v, reinterpret_cast<const void*>(p), 4);
    return v;
}

bool checksum_ok(uint64_t p, uint32_t n) {
    uint8_t sum = 0;
    for (uint32_t i = 0; i < n; ++i) sum = static_cast<uint8_t>(sum + *reinterpret_cast<const uint8_t*>(p + i));
    return sum == 0;
}

uint64_t find_rsdp() {
    for (uint64_t p = BIOS_AREA_START; p < BIOS_AREA_END; p += 16)
        if (memcmp(reinterpret_cast<const void*>(p), "RSD PTR ", 8) == 0 && checksum_ok(p, 20)) return p;
    return 0;
}

uint64_t find_table(uint64_t rsdt, const char* sig) {
    uint32_t len = u32(rsdt + 4);
    for (uint32_t off = HEADER_LENGTH; off + 4 <= len; off += 4) {
        uint64_t t = u32(rsdt + off);
        if (memcmp(reinterpret_cast<const void*>(t), sig, 4) == 0) return t;
    }
    return 0;
}

}  // namespace

uint64_t ioapic_address() {
    uint64_t rsdp = find_rsdp();
    if (!rsdp) return 0;
    uint64_t rsdt = u32(rsdp + RSDT_ADDRESS_OFFSET);
    if (rsdt == 0 || memcmp(reinterpret_cast<const void*>(rsdt), "RSDT", 4) != 0) return 0;
    uint64_t madt = find_table(rsdt, "APIC");
    if (!madt) return 0;
    uint32_t len = u32(madt + 4);
    for (uint32_t off = MADT_ENTRIES_OFFSET; off + 2 <= len;) {
        auto* e = reinterpret_cast<const uint8_t*>(madt + off);
        if (e[1] < 2) break;
        // I/O APIC structure: type 1, id, reserved, address, GSI base (5.2.12.3).
        if (e[0] == MADT_IOAPIC && u32(madt + off + 8) == 0) return u32(madt + off + 4);
        off += e[1];
    }
    return 0;
}

}  // namespace natsume::guest::acpi
