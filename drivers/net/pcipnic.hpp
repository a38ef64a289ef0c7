// The command protocol of Bochs' pcipnic (PCI fefe:efef), the "pseudo NIC"
// of the Etherboot/gPXE pnic API 1.1: one I/O BAR with a command/status
// register, a length register and a byte-wide data port. Pure code over an
// I/O policy, so the host tests drive it against a model of the device.
#pragma once
#include <stdint.h>

namespace natsume::drivers::pcipnic {

inline constexpr uint16_t VENDOR = 0xfefe;
inline constexpr uint16_t DEVICE = 0xefef;
inline constexpr unsigned IO_BAR = 4;  // the device decodes BAR4 only

// Register offsets in the I/O BAR. CMD (write) and STAT (read) share offset 0.
enum class Reg : uint16_t { Cmd = 0x00, Stat = 0x00, Len = 0x02, Data = 0x04 };

enum class Command : uint16_t {
    Noop            = 0,
    ApiVersion      = 1,
    ReadMac         = 2,
    Reset           = 3,
    Xmit            = 4,
    Recv            = 5,
    RecvQueueLength = 6,
    MaskIrq         = 7,  // 1 data byte: 1 = interrupts enabled; lowers INTx while the receive queue is empty
    ForceIrq        = 8,  // raises INTx until MASK_IRQ or RECV lowers it
};

// Status values avoid what a floating bus reads (0x0000, 0xffff).
inline constexpr uint16_t STATUS_OK              = 0x4f4b;  // "OK"
inline constexpr uint16_t STATUS_UNKNOWN_COMMAND = 0x3f3f;  // "??"
inline constexpr uint16_t API_VERSION            = 0x0101;  // 1.1
// The device keeps one frame-sized data buffer; a longer length is a device error.
inline constexpr uint16_t MAX_DATA = 1536;

struct Reply {
    uint16_t status = 0;
    uint16_t length = 0;  // bytes the device returned (may exceed what was copied)
    bool ok() const { return status == STATUS_OK; }
};

// Io needs: void out16(Reg, uint16_t), void out8(Reg, uint8_t),
// uint16_t in16(Reg), uint8_t in8(Reg).
// The length register is always written first, also for commands without
// data: it resets the device's data cursor, and the device insists that the
// bytes written equal the length when the command runs. Only as many bytes
// as the reply has are read back: reading past them is a device error.
template <typename Io>
Reply run_command(Io& io, Command c, const uint8_t* in, uint16_t in_len, uint8_t* out, uint16_t out_cap) {
    if (in_len > MAX_DATA) return Reply{};
    io.out16(Reg::Len, in_len);
    for (uint16_t i = 0; i < in_len; ++i) io.out8(Reg::Data, in[i]);
    io.out16(Reg::Cmd, static_cast<uint16_t>(c));
    Reply r;
    r.status   = io.in16(Reg::Stat);
    r.length   = io.in16(Reg::Len);
    uint16_t n = r.length < out_cap ? r.length : out_cap;
    for (uint16_t i = 0; i < n; ++i) out[i] = io.in8(Reg::Data);
    return r;
}

}  // namespace natsume::drivers::pcipnic
