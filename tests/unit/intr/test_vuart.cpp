// The virtual 16550A: what Linux's 8250 autoconfig and console code see.
#include <catch2/catch.hpp>

#include "hypervisor/vdev/vuart.hpp"

using namespace natsume;
namespace u = natsume::drivers::uart16550;

TEST_CASE("vuart: the 8250 driver's probe finds a 16550A") {
    vuart::Uart uart;
    // IER holds exactly its four bits (autoconfig writes 0, then 0x0f, and reads back).
    CHECK_FALSE(vuart::write(uart, 1, 0).transmit);
    CHECK((vuart::read(uart, 1) & 0x0f) == 0);
    (void)vuart::write(uart, 1, 0xff);
    CHECK(vuart::read(uart, 1) == 0x0f);
    // Loopback: MCR_LOOP | RTS | OUT2 reads back as CTS | DCD in MSR's high nibble.
    (void)vuart::write(uart, 4, u::MCR_LOOP | 0x0a);
    CHECK((vuart::read(uart, 6) & 0xf0) == 0x90);
    (void)vuart::write(uart, 4, u::MCR_LOOP | 0x05);
    CHECK((vuart::read(uart, 6) & 0xf0) == 0x60);
    // A byte written in loopback never reaches the console.
    CHECK_FALSE(vuart::write(uart, 0, 'x').transmit);
    (void)vuart::write(uart, 4, 0x0b);
    CHECK(vuart::read(uart, 6) == (u::MSR_DCD | u::MSR_DSR | u::MSR_CTS));
    // FIFOs: IIR bits 7:6 follow FCR bit 0; with no interrupt enabled, none is pending.
    (void)vuart::write(uart, 1, 0);
    CHECK(vuart::read(uart, 2) == u::IIR_NO_INT);
    (void)vuart::write(uart, 2, 0x07);
    CHECK(vuart::read(uart, 2) == (u::IIR_NO_INT | u::IIR_FIFOS_ON));
    // With the transmitter interrupt enabled, IIR names the empty transmitter (Linux's polled TX).
    (void)vuart::write(uart, 1, u::IER_THRI);
    CHECK(vuart::read(uart, 2) == (u::IIR_THRE | u::IIR_FIFOS_ON));
    (void)vuart::write(uart, 1, 0);
    CHECK(vuart::read(uart, 2) == (u::IIR_NO_INT | u::IIR_FIFOS_ON));
    // The scratch register keeps what is written.
    (void)vuart::write(uart, 7, 0xa5);
    CHECK(vuart::read(uart, 7) == 0xa5);
}

TEST_CASE("vuart: divisor latch, line status and transmission") {
    vuart::Uart uart;
    (void)vuart::write(uart, 3, u::LCR_DLAB);
    CHECK_FALSE(vuart::write(uart, 0, 0x01).transmit);  // DLL, not a byte
    (void)vuart::write(uart, 1, 0x00);                  // DLM
    CHECK(vuart::read(uart, 0) == 0x01);
    CHECK(vuart::read(uart, 1) == 0x00);
    (void)vuart::write(uart, 3, u::LCR_8N1);
    CHECK(vuart::read(uart, 3) == u::LCR_8N1);
    CHECK(vuart::read(uart, 1) == 0);  // IER again, untouched by the DLM write
    // The transmitter is always empty; nothing is ever received.
    CHECK(vuart::read(uart, 5) == (u::LSR_THRE | u::LSR_TEMT));
    CHECK(vuart::read(uart, 0) == 0);
    auto w = vuart::write(uart, 0, 'A');
    CHECK(w.transmit);
    CHECK(w.byte == 'A');
    // Writes to the read-only status registers change nothing.
    (void)vuart::write(uart, 5, 0);
    (void)vuart::write(uart, 6, 0);
    CHECK(vuart::read(uart, 5) == (u::LSR_THRE | u::LSR_TEMT));
    CHECK(vuart::read(uart, 8) == 0xff);  // outside the eight ports
}
