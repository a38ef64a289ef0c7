#include "uart.h"

#include "cpu.h"

namespace uart {
namespace {

// 16550 register offsets from the base port (PC16550D data sheet, table 2).
enum class Reg : uint16_t { Data = 0, Ier = 1, Fcr = 2, Lcr = 3, Mcr = 4, Lsr = 5, DivLo = 0, DivHi = 1 };
constexpr uint8_t kLcrDlab = 0x80;
constexpr uint8_t kLcr8N1 = 0x03;
constexpr uint8_t kLsrThre = 0x20;  // transmit holding register empty
constexpr uint8_t kLsrTemt = 0x40;  // holding and shift registers empty
constexpr uint16_t kDivisor115200 = 1;  // 1.8432 MHz / 16 / 115200
// Generous: 16 bytes at 115200 baud take ~1.4 ms; one poll is >= 1 port read.
constexpr uint32_t kPollLimit = 1000000;

void out(uint16_t base, Reg r, uint8_t v) { cpu::outb(static_cast<uint16_t>(base + static_cast<uint16_t>(r)), v); }
uint8_t in(uint16_t base, Reg r) { return cpu::inb(static_cast<uint16_t>(base + static_cast<uint16_t>(r))); }

bool wait_lsr(uint16_t base, uint8_t bit)
{
    for (uint32_t i = 0; i < kPollLimit; ++i)
        if (in(base, Reg::Lsr) & bit)
            return true;
    return false;  // a missing or stuck UART drops output rather than hang
}

}  // namespace

void init(uint16_t base)
{
    out(base, Reg::Ier, 0);
    out(base, Reg::Lcr, kLcrDlab);
    out(base, Reg::DivLo, kDivisor115200 & 0xff);
    out(base, Reg::DivHi, kDivisor115200 >> 8);
    out(base, Reg::Lcr, kLcr8N1);
    out(base, Reg::Fcr, 0x07);  // enable and clear both FIFOs
    out(base, Reg::Mcr, 0x03);  // DTR, RTS
}

// Bytes go out unchanged (no CR insertion): the harness reads the same
// stream from a UART and from the hypercall console.
void write(uint16_t base, const char* s, size_t n)
{
    for (size_t i = 0; i < n; ++i) {
        if (!wait_lsr(base, kLsrThre))
            return;
        out(base, Reg::Data, static_cast<uint8_t>(s[i]));
    }
}

void drain(uint16_t base) { (void)wait_lsr(base, kLsrTemt); }

}  // namespace uart
