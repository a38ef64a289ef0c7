#include "lib/rtc_time.hpp"

#include "drivers/x86/cmos.hpp"

namespace natsume::rtc_time {
namespace {
namespace cmos                 = drivers::cmos;
constexpr uint64_t DAY_SECONDS = 86400;

bool leap(uint32_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
uint8_t days_in_month(uint32_t y, uint8_t m) {
    constexpr uint8_t DAYS[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return static_cast<uint8_t>(m == 2 && leap(y) ? 29 : DAYS[m - 1]);
}
}  // namespace

uint8_t to_bcd(uint8_t v) { return static_cast<uint8_t>((v / 10) << 4 | v % 10); }
uint8_t from_bcd(uint8_t v) { return static_cast<uint8_t>((v >> 4) * 10 + (v & 0xf)); }

bool to_epoch(const Civil& c, uint64_t& seconds) {
    if (c.year < 1970 || c.year > 9999 || c.month < 1 || c.month > 12 || c.day < 1 ||
        c.day > days_in_month(c.year, c.month) || c.hour > 23 || c.minute > 59 || c.second > 59)
        return false;
    uint64_t days = 0;
    for (uint32_t y = 1970; y < c.year; y++) days += leap(y) ? 366u : 365u;
    for (uint8_t m = 1; m < c.month; m++) days += days_in_month(c.year, m);
    days += c.day - 1u;
    seconds = days * DAY_SECONDS + c.hour * 3600u + c.minute * 60u + c.second;
    return true;
}

Civil from_epoch(uint64_t s) {
    Civil c{};
    uint64_t days = s / DAY_SECONDS, rest = s % DAY_SECONDS;
    c.hour    = static_cast<uint8_t>(rest / 3600);
    c.minute  = static_cast<uint8_t>(rest / 60 % 60);
    c.second  = static_cast<uint8_t>(rest % 60);
    c.weekday = static_cast<uint8_t>((days + 4) % 7 + 1);  // 1970-01-01 was a Thursday
    // The Gregorian calendar repeats every 400 years (146,097 days).
    c.year = static_cast<uint32_t>(1970 + 400 * (days / 146097));
    days %= 146097;
    while (days >= (leap(c.year) ? 366u : 365u)) days -= leap(c.year++) ? 366u : 365u;
    c.month = 1;
    while (days >= days_in_month(c.year, c.month)) days -= days_in_month(c.year, c.month++);
    c.day = static_cast<uint8_t>(days + 1);
    return c;
}

bool decode(const Registers& r, Civil& out) {
    const bool binary = r.status_b & cmos::STATUS_B_BINARY;
    auto field        = [binary](uint8_t v) { return binary ? v : from_bcd(v); };
    uint8_t hour      = r.hour;
    bool pm           = false;
    if (!(r.status_b & cmos::STATUS_B_24H)) {
        pm   = hour & cmos::HOURS_PM;
        hour = static_cast<uint8_t>(hour & ~cmos::HOURS_PM);
    }
    out.second = field(r.second);
    out.minute = field(r.minute);
    out.hour   = field(hour);
    if (!(r.status_b & cmos::STATUS_B_24H)) {
        if (out.hour < 1 || out.hour > 12) return false;
        out.hour = static_cast<uint8_t>(out.hour % 12 + (pm ? 12 : 0));
    }
    out.day               = field(r.day);
    out.month             = field(r.month);
    const uint8_t year    = field(r.year);
    const uint8_t century = r.century ? field(r.century) : (year < 70 ? 20 : 19);
    out.year              = century * 100u + year;
    uint64_t seconds      = 0;
    if (year > 99 || !to_epoch(out, seconds)) return false;
    out.weekday = from_epoch(seconds).weekday;
    return true;
}

}  // namespace natsume::rtc_time
