// The 16550 UART (National Semiconductor PC16550D data sheet, table 2 and
// section 8): registers, line settings and a polled transmitter over a port
// I/O policy, for the hypervisor's console and the guest kernel's alike.
// A UART that never becomes ready costs at most `polls` reads per byte:
// output is dropped, nothing hangs.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume::drivers::uart16550 {

inline constexpr uint16_t COM1 = 0x3F8;

// Offsets from the base port; DivLo/DivHi while LCR.DLAB is set; Iir is read where Fcr is written.
enum class Reg : uint16_t {
    Data  = 0,
    Ier   = 1,
    Fcr   = 2,
    Iir   = 2,
    Lcr   = 3,
    Mcr   = 4,
    Lsr   = 5,
    Msr   = 6,
    Scr   = 7,
    DivLo = 0,
    DivHi = 1
};
inline constexpr uint16_t PORT_COUNT = 8;
inline constexpr uint8_t IER_MASK    = 0x0f;                                       // RDI, THRI, RLSI, MSI
inline constexpr uint8_t IIR_NO_INT = 0x01, IIR_THRE = 0x02, IIR_FIFOS_ON = 0xc0;  // FIFOS_ON: a 16550A
inline constexpr uint8_t IER_THRI   = 0x02;  // interrupt when the transmit holding register is empty
inline constexpr uint8_t FCR_ENABLE = 0x01;
inline constexpr uint8_t MCR_MASK = 0x1f, MCR_LOOP = 0x10;
// Modem status: delta bits 3:0, line states 7:4. In loopback, MCR DTR/RTS/OUT1/OUT2 read back as DSR/CTS/RI/DCD.
inline constexpr uint8_t MSR_CTS = 0x10, MSR_DSR = 0x20, MSR_RI = 0x40, MSR_DCD = 0x80;
inline constexpr uint8_t MCR_DTR = 0x01, MCR_RTS = 0x02, MCR_OUT1 = 0x04, MCR_OUT2 = 0x08;
inline constexpr uint8_t LCR_DLAB = 0x80, LCR_8N1 = 0x03;
inline constexpr uint8_t MCR_DTR_RTS                = 0x03;
inline constexpr uint8_t FCR_ENABLE_CLEAR           = 0x07;  // FIFOs on, both cleared
inline constexpr uint8_t FCR_ENABLE_CLEAR_TRIGGER14 = 0xC7;  // the same, receive trigger at 14 bytes
inline constexpr uint8_t LSR_THRE                   = 0x20;  // transmit holding register empty
inline constexpr uint8_t LSR_TEMT                   = 0x40;  // holding and shift registers empty
inline constexpr uint16_t DIVISOR_115200            = 1;     // 1.8432 MHz / 16 / 115200

// Port: static uint8_t in8(uint16_t), static void out8(uint16_t, uint8_t),
// static void relax() (a pause between polls, or nothing).
template <class Port>
struct Uart {
    uint16_t base;
    uint32_t polls;  // per wait

    void out(Reg r, uint8_t v) const { Port::out8(static_cast<uint16_t>(base + static_cast<uint16_t>(r)), v); }
    uint8_t in(Reg r) const { return Port::in8(static_cast<uint16_t>(base + static_cast<uint16_t>(r))); }

    // 115200 8N1, no interrupts, DTR and RTS.
    void init(uint8_t fcr) const {
        out(Reg::Ier, 0);
        out(Reg::Lcr, LCR_DLAB);
        out(Reg::DivLo, DIVISOR_115200 & 0xff);
        out(Reg::DivHi, DIVISOR_115200 >> 8);
        out(Reg::Lcr, LCR_8N1);
        out(Reg::Fcr, fcr);
        out(Reg::Mcr, MCR_DTR_RTS);
    }
    bool wait(uint8_t lsr_bit) const {
        for (uint32_t i = 0; i < polls; ++i) {
            if (in(Reg::Lsr)&lsr_bit) return true;
            Port::relax();
        }
        return false;
    }
    // False when the UART never took the byte.
    bool put(uint8_t c) const {
        if (!wait(LSR_THRE)) return false;
        out(Reg::Data, c);
        return true;
    }
    // Until the last byte has left the shift register (before a power-off).
    bool drain() const { return wait(LSR_TEMT); }
};

}  // namespace natsume::drivers::uart16550
