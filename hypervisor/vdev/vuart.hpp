// A virtual 16550A UART for a partition that owns no serial port (a Linux
// partition's console=ttyS0): the registers Linux's 8250 driver probes and
// programs (PC16550D data sheet, table 2), its transmitter always empty, no
// receiver input, no interrupt line (IIR still names the empty transmitter as
// the pending cause while its interrupt is enabled: Linux polls a port without
// an IRQ and transmits on that). Transmitted bytes go to the partition's
// console line. Enough of the chip that the driver's autoconfig finds a
// 16550A (IER holds 4 bits, FCR turns the FIFO bits of IIR on, loopback
// reflects MCR into MSR) and polls it. Pure: host-tested.
#pragma once
#include <stdint.h>

#include "drivers/uart16550.hpp"

namespace natsume::vuart {

struct Uart {
    uint8_t ier = 0, lcr = 0, mcr = 0, scr = 0, dll = 0, dlm = 0;
    bool fifo = false;
};

// What a write did: a byte to transmit, or nothing.
struct WriteResult {
    bool transmit;
    uint8_t byte;
};

uint8_t read(const Uart& u, uint16_t offset);                // offset 0..7 from the base port
WriteResult write(Uart& u, uint16_t offset, uint8_t value);  // loopback bytes are not transmitted

}  // namespace natsume::vuart
