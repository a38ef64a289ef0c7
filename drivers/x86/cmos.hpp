// The PC's CMOS real-time clock (MC146818-compatible; register map as in
// the Motorola MC146818A datasheet and every PC chipset since): an index
// port and a data port, the time registers, and status registers A-D.
#pragma once
#include <stdint.h>

namespace natsume::drivers::cmos {

inline constexpr uint16_t INDEX_PORT = 0x70, DATA_PORT = 0x71;
inline constexpr uint8_t INDEX_MASK = 0x7f;  // bit 7 of the index write gates NMI on PCs

inline constexpr uint8_t SECONDS = 0x00, MINUTES = 0x02, HOURS = 0x04, WEEKDAY = 0x06, DAY = 0x07, MONTH = 0x08,
                         YEAR = 0x09, STATUS_A = 0x0a, STATUS_B = 0x0b, STATUS_C = 0x0c, STATUS_D = 0x0d;
inline constexpr uint8_t CENTURY = 0x32;  // the PC/AT convention (ACPI FADT CENTURY names it)

inline constexpr uint8_t STATUS_A_UIP     = 0x80;  // an update is in progress: the time may be inconsistent
inline constexpr uint8_t STATUS_A_DIVIDER = 0x20;  // 32.768 kHz time base, clock running
inline constexpr uint8_t STATUS_A_RATE    = 0x06;  // 1024 Hz periodic rate (the power-on value)
inline constexpr uint8_t STATUS_B_24H     = 0x02;  // hours 0-23 (else 1-12 with bit 7 = PM)
inline constexpr uint8_t STATUS_B_BINARY  = 0x04;  // binary registers (else BCD)
inline constexpr uint8_t HOURS_PM         = 0x80;  // 12-hour mode
inline constexpr uint8_t STATUS_D_VRT     = 0x80;  // valid RAM and time: the battery is good

}  // namespace natsume::drivers::cmos
