// Remapping-unit registers (VT-d spec 10.4) as typed offsets: the enum picks
// the access width, so a 32-bit register is never read with a 64-bit access.
#pragma once
#include <stdint.h>

namespace natsume::x86::vtd {

enum class Reg32 : uint32_t {
    VER     = 0x000,
    GCMD    = 0x018,  // 10.4.4
    GSTS    = 0x01c,  // 10.4.5
    FSTS    = 0x034,  // 10.4.9
    FECTL   = 0x038,  // 10.4.10
    FEDATA  = 0x03c,
    FEADDR  = 0x040,
    FEUADDR = 0x044,
    PMEN    = 0x064,  // protected memory enable: must be off for remapping alone to decide
    ICS     = 0x09c,  // invalidation completion status, 10.4.25
};

enum class Reg64 : uint32_t {
    CAP    = 0x008,
    ECAP   = 0x010,
    RTADDR = 0x020,  // 10.4.6
    CCMD   = 0x028,  // 10.4.7
    IQH    = 0x080,  // 10.4.22
    IQT    = 0x088,
    IQA    = 0x090,
    IRTA   = 0x0b8,  // 10.4.29
};

// Global command / status bits (10.4.4, 10.4.5): same positions in both.
namespace gcmd {
inline constexpr uint32_t TE    = 1u << 31;  // translation enable
inline constexpr uint32_t SRTP  = 1u << 30;  // set root table pointer (one-shot)
inline constexpr uint32_t WBF   = 1u << 27;  // write buffer flush (one-shot)
inline constexpr uint32_t QIE   = 1u << 26;  // queued invalidation enable
inline constexpr uint32_t IRE   = 1u << 25;  // interrupt remapping enable
inline constexpr uint32_t SIRTP = 1u << 24;  // set interrupt remap table pointer (one-shot)
inline constexpr uint32_t CFI   = 1u << 23;  // compatibility format interrupts allowed
// Bits that keep state: software writes GCMD as "current status with one bit
// changed", so the one-shot bits must never be copied from GSTS (10.4.4).
inline constexpr uint32_t PERSISTENT = TE | QIE | IRE | CFI;
}  // namespace gcmd

// GCMD value that changes exactly `bit` to `on`, given the current GSTS.
constexpr uint32_t gcmd_value(uint32_t gsts, uint32_t bit, bool on) {
    uint32_t keep = gsts & gcmd::PERSISTENT;
    return on ? keep | bit : keep & ~bit;
}

namespace fsts {
inline constexpr uint32_t PFO       = 1u << 0;  // primary fault overflow
inline constexpr uint32_t PPF       = 1u << 1;  // primary pending fault (any F bit set)
inline constexpr uint32_t IQE       = 1u << 4;  // invalidation queue error
inline constexpr uint32_t ICE       = 1u << 5;
inline constexpr uint32_t ITE       = 1u << 6;
inline constexpr uint32_t CLEAR_ALL = PFO | IQE | ICE | ITE;  // RW1C bits
constexpr unsigned fault_index(uint32_t v) { return (v >> 8) & 0xff; }
}  // namespace fsts

inline constexpr uint32_t FECTL_IM = 1u << 31;  // fault event interrupt masked

}  // namespace natsume::x86::vtd
