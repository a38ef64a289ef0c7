// Calendar arithmetic for the CMOS clock: civil date and time <-> seconds
// since 1970-01-01 00:00 UTC (proleptic Gregorian calendar), BCD, and the
// decoding of the clock's registers in either of its formats. Pure.
#pragma once
#include <stdint.h>

namespace natsume::rtc_time {

struct Civil {
    uint32_t year;                 // 1970 ..
    uint8_t month, day;            // 1-12, 1-31
    uint8_t hour, minute, second;  // 0-23, 0-59, 0-59
    uint8_t weekday;               // 1 = Sunday .. 7 = Saturday (the CMOS convention)
};

// The clock's time registers as read, with status register B.
struct Registers {
    uint8_t second, minute, hour, day, month, year, century, status_b;
};

uint8_t to_bcd(uint8_t binary);  // 0-99
uint8_t from_bcd(uint8_t bcd);

// False when the fields are out of range (or before 1970).
[[nodiscard]] bool to_epoch(const Civil& c, uint64_t& seconds);
Civil from_epoch(uint64_t seconds);

// A reading of the clock in BCD or binary, 12- or 24-hour mode; century 0
// means "no century register": years 00-69 are 2000-2069. False when a field
// is out of range (a clock that was never set, or garbage).
[[nodiscard]] bool decode(const Registers& r, Civil& out);

}  // namespace natsume::rtc_time
