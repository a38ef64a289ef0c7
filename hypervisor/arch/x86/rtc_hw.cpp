#include "arch/x86/rtc_hw.hpp"

#include "drivers/x86/cmos.hpp"
#include "drivers/x86/cpu.hpp"

#include "arch/x86/timing.hpp"
#include "base/clock.hpp"
#include "base/log.hpp"
#include "lib/rtc_time.hpp"

static_assert(sizeof(natsume::rtc_time::Registers) == 8, "compared byte for byte");

namespace natsume::x86::rtc_hw {
namespace {
namespace cmos = drivers::cmos;

// An update takes at most 1984 us after UIP rises (MC146818A); two readings
// that agree are one consistent time.
constexpr uint64_t UIP_TIMEOUT_US = 10000;
constexpr int READ_ATTEMPTS       = 5;

uint64_t boot_epoch, boot_tsc;

uint8_t reg(uint8_t index) {
    outb(cmos::INDEX_PORT, index);
    return inb(cmos::DATA_PORT);
}

rtc_time::Registers snapshot() {
    return {reg(cmos::SECONDS), reg(cmos::MINUTES), reg(cmos::HOURS),   reg(cmos::DAY),
            reg(cmos::MONTH),   reg(cmos::YEAR),    reg(cmos::CENTURY), reg(cmos::STATUS_B)};
}

// Eight bytes, no padding: two readings agree when their bytes do.
bool same(const rtc_time::Registers& a, const rtc_time::Registers& b) {
    return __builtin_memcmp(&a, &b, sizeof a) == 0;
}
}  // namespace

bool read_at_boot(char* why, size_t n) {
    boot_tsc = rdtsc();
    for (int attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
        if (!wait_until(UIP_TIMEOUT_US, [] { return !(reg(cmos::STATUS_A) & cmos::STATUS_A_UIP); })) {
            log::format(why, n, "its update-in-progress bit stayed set for %lu ms", UIP_TIMEOUT_US / 1000);
            return false;
        }
        const rtc_time::Registers a = snapshot(), b = snapshot();
        if (!same(a, b)) continue;
        rtc_time::Civil t{};
        if (!rtc_time::decode(a, t)) {
            log::format(why, n, "it holds no valid date (year %02x month %02x day %02x, status B 0x%02x)", a.year,
                        a.month, a.day, a.status_b);
            return false;
        }
        boot_tsc = rdtsc();
        return rtc_time::to_epoch(t, boot_epoch);
    }
    log::format(why, n, "it changed during %d readings in a row", READ_ATTEMPTS);
    return false;
}

uint64_t epoch_now() {
    const uint64_t khz = clock::tsc_khz();
    return boot_epoch + (khz ? (rdtsc() - boot_tsc) / (khz * 1000) : 0);
}

}  // namespace natsume::x86::rtc_hw
