#include "lib/tsc_sources.hpp"

namespace natsume::tsc_sources {
namespace {

uint32_t le32(const uint8_t* p) { return p[0] | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24; }
uint64_t le64(const uint8_t* p) { return le32(p) | uint64_t{le32(p + 4)} << 32; }

// ACPI Generic Address Structure (ACPI 6.x 5.2.3.2): space id, bit width,
// bit offset, access size, 64-bit address.
constexpr uint8_t GAS_MEMORY = 0, GAS_IO = 1;
constexpr size_t GAS_SIZE = 12;

// FADT (ACPI 6.x 5.2.9, Table 5.9).
constexpr size_t FADT_PM_TMR_BLK = 76, FADT_PM_TMR_LEN = 91, FADT_FLAGS = 112, FADT_X_PM_TMR_BLK = 208;
constexpr uint32_t FADT_TMR_VAL_EXT = 1u << 8;
constexpr uint8_t PM_TMR_LEN        = 4;

// HPET description table: header (36), hardware id (4), base address (GAS).
constexpr size_t HPET_BASE_GAS = 40;

}  // namespace

PmTimer pm_timer_from_fadt(const uint8_t* fadt, size_t len) {
    PmTimer t;
    if (!fadt || len < FADT_FLAGS + 4) return t;
    t.bits = (le32(fadt + FADT_FLAGS) & FADT_TMR_VAL_EXT) ? 32 : 24;
    if (len >= FADT_X_PM_TMR_BLK + GAS_SIZE) {
        const uint8_t* gas = fadt + FADT_X_PM_TMR_BLK;
        uint64_t addr      = le64(gas + 4);
        if (addr != 0) {
            if (gas[0] == GAS_IO && addr <= 0xffff) t.port = static_cast<uint16_t>(addr);
            return t;  // the extended block, when set, is the one to use (ACPI 6.x 5.2.9)
        }
    }
    uint32_t port = le32(fadt + FADT_PM_TMR_BLK);
    if (port != 0 && port <= 0xffff && fadt[FADT_PM_TMR_LEN] >= PM_TMR_LEN) t.port = static_cast<uint16_t>(port);
    return t;
}

uint64_t hpet_base_from_table(const uint8_t* table, size_t len) {
    if (!table || len < HPET_BASE_GAS + GAS_SIZE) return 0;
    const uint8_t* gas = table + HPET_BASE_GAS;
    return gas[0] == GAS_MEMORY ? le64(gas + 4) : 0;
}

}  // namespace natsume::tsc_sources
