#include "vdev/vrtc.hpp"

#include "drivers/x86/cmos.hpp"

#include "lib/rtc_time.hpp"

namespace natsume::vrtc {
namespace cmos = drivers::cmos;

void select(Clock& c, uint8_t value) { c.index = static_cast<uint8_t>(value & cmos::INDEX_MASK); }

uint8_t read(const Clock& c, uint64_t epoch_seconds) {
    const rtc_time::Civil t = rtc_time::from_epoch(epoch_seconds);
    using rtc_time::to_bcd;
    switch (c.index) {
    case cmos::SECONDS: return to_bcd(t.second);
    case cmos::MINUTES: return to_bcd(t.minute);
    case cmos::HOURS: return to_bcd(t.hour);
    case cmos::WEEKDAY: return t.weekday;
    case cmos::DAY: return to_bcd(t.day);
    case cmos::MONTH: return to_bcd(t.month);
    case cmos::YEAR: return to_bcd(static_cast<uint8_t>(t.year % 100));
    case cmos::CENTURY: return to_bcd(static_cast<uint8_t>(t.year / 100 % 100));
    case cmos::STATUS_A: return cmos::STATUS_A_DIVIDER | cmos::STATUS_A_RATE;
    case cmos::STATUS_B: return cmos::STATUS_B_24H;
    case cmos::STATUS_D: return cmos::STATUS_D_VRT;
    default: return 0;  // status C (no interrupt flags), alarms, CMOS RAM
    }
}

}  // namespace natsume::vrtc
