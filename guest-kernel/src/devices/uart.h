// 16550 UART, polled transmit only.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "drivers/uart16550.hpp"

namespace natsume::guest::uart {

inline constexpr uint16_t COM1 = natsume::drivers::uart16550::COM1;

void init(uint16_t base);  // 115200 8N1, FIFOs on, interrupts off
void write(uint16_t base, const char* s, size_t n);
// Waits (bounded) until the transmitter is completely empty, so that a
// shutdown right after does not cut the last byte.
void drain(uint16_t base);

}  // namespace natsume::guest::uart
