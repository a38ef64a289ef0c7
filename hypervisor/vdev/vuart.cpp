#include "vuart.hpp"

namespace natsume::vuart {
namespace {

namespace u16550 = drivers::uart16550;
using Reg        = u16550::Reg;

bool dlab(const Uart& u) { return (u.lcr & u16550::LCR_DLAB) != 0; }

// In loopback the modem outputs come back as the modem inputs; otherwise a
// cable with a terminal that is always there (carrier, data set and clear to send).
uint8_t modem_status(const Uart& u) {
    if (!(u.mcr & u16550::MCR_LOOP)) return u16550::MSR_DCD | u16550::MSR_DSR | u16550::MSR_CTS;
    uint8_t m = 0;
    if (u.mcr & u16550::MCR_DTR) m |= u16550::MSR_DSR;
    if (u.mcr & u16550::MCR_RTS) m |= u16550::MSR_CTS;
    if (u.mcr & u16550::MCR_OUT1) m |= u16550::MSR_RI;
    if (u.mcr & u16550::MCR_OUT2) m |= u16550::MSR_DCD;
    return m;
}

}  // namespace

uint8_t read(const Uart& u, uint16_t offset) {
    switch (static_cast<Reg>(offset)) {
    case Reg::Data: return dlab(u) ? u.dll : 0;  // no input ever arrives
    case Reg::Ier: return dlab(u) ? u.dlm : u.ier;
    case Reg::Iir: {
        // The transmitter is always empty: with its interrupt enabled, that is
        // always the pending cause (Linux's polled 8250 transmits on it).
        const uint8_t cause = dlab(u) || !(u.ier & u16550::IER_THRI) ? u16550::IIR_NO_INT : u16550::IIR_THRE;
        return static_cast<uint8_t>(cause | (u.fifo ? u16550::IIR_FIFOS_ON : 0));
    }
    case Reg::Lcr: return u.lcr;
    case Reg::Mcr: return u.mcr;
    case Reg::Lsr: return u16550::LSR_THRE | u16550::LSR_TEMT;
    case Reg::Msr: return modem_status(u);
    case Reg::Scr: return u.scr;
    }
    return 0xff;
}

WriteResult write(Uart& u, uint16_t offset, uint8_t value) {
    switch (static_cast<Reg>(offset)) {
    case Reg::Data:
        if (dlab(u)) {
            u.dll = value;
            return {false, 0};
        }
        return {(u.mcr & u16550::MCR_LOOP) == 0, value};
    case Reg::Ier:
        if (dlab(u))
            u.dlm = value;
        else
            u.ier = value & u16550::IER_MASK;
        return {false, 0};
    case Reg::Fcr: u.fifo = (value & u16550::FCR_ENABLE) != 0; return {false, 0};
    case Reg::Lcr: u.lcr = value; return {false, 0};
    case Reg::Mcr: u.mcr = value & u16550::MCR_MASK; return {false, 0};
    case Reg::Scr: u.scr = value; return {false, 0};
    case Reg::Lsr:
    case Reg::Msr: return {false, 0};  // read-only: a write changes nothing
    }
    return {false, 0};
}

}  // namespace natsume::vuart
