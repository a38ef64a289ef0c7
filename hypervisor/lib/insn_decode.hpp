// Decoding of the one guest instruction behind an MMIO EPT violation.
//
// Only the forms compilers emit for volatile loads and stores are accepted:
// MOV r/m <-> reg (88, 89, 8A, 8B), MOV r/m, imm (C6 /0, C7 /0), MOV
// AL/eAX <-> moffs64 (A0-A3: what GCC emits for a constant address above
// 2 GiB such as 0xFEC00000), MOVZX (0F B6, 0F B7) and MOVSX (0F BE, 0F BF,
// and MOVSXD 63). Anything else is
// refused with the opcode, so the caller can report what the guest ran.
// Encodings: Intel SDM Vol. 2A, chapter 2 (2.1 format, 2.2.1 REX, table 2-2
// ModRM, table 2-3 SIB) and the instruction pages for MOV, MOVZX, MOVSX.
//
// The guest-physical address comes from the EPT violation itself, so the
// memory operand is decoded only for length and reported for diagnostics.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume::insn {

// SDM Vol. 2A 2.3.11: an instruction is at most 15 bytes long.
inline constexpr size_t MAX_LENGTH = 15;

enum class [[nodiscard]] Error : uint8_t{
    Ok,
    Truncated,        // the bytes end before the instruction does
    TooLong,          // more than 15 bytes of prefixes and instruction
    Unsupported,      // opcode not in the accepted set (Decoded::opcode says which)
    LockPrefix,       // F0: an atomic MMIO access cannot be emulated as a plain one
    RepPrefix,        // F2/F3 change the meaning or are reserved for these opcodes
    RegisterOperand,  // ModRM.mod == 3: no memory operand, so it cannot be the faulting access
};

enum class Operand : uint8_t { Register, Immediate };

// Only FS and GS have a base in 64-bit mode (SDM Vol. 3A 3.4.4); CS/DS/ES/SS
// overrides are accepted and ignored.
enum class Segment : uint8_t { Default, Fs, Gs };

// Register numbers follow the encoding: 0 RAX, 1 RCX, 2 RDX, 3 RBX, 4 RSP,
// 5 RBP, 6 RSI, 7 RDI, 8..15 R8..R15.
inline constexpr uint8_t NO_REGISTER = 0xFF;

struct MemOperand {
    uint8_t base;   // NO_REGISTER when absent
    uint8_t index;  // NO_REGISTER when absent
    uint8_t scale;  // 1, 2, 4 or 8
    // With no base, no index and not RIP-relative, disp is an absolute
    // address (for MOV moffs the full 64-bit one).
    int64_t disp;
    bool rip_relative;  // disp is relative to the next instruction's RIP
    bool address_32;    // 67 prefix: the effective address wraps at 4 GiB
};

struct Decoded {
    uint8_t length;    // bytes to add to RIP after emulation
    bool write;        // true: guest stores to MMIO; false: guest loads
    uint8_t size;      // bytes accessed in memory: 1, 2, 4 or 8
    Operand src_kind;  // for writes: where the stored value comes from
    // The general register read (write) or written (load). When high_byte_reg
    // is set the operand is AH/CH/DH/BH and reg is already the register that
    // holds it (0..3: RAX..RBX), the byte being bits 15:8.
    uint8_t reg;
    bool high_byte_reg;
    // (NO_REGISTER for an Immediate source)
    uint64_t imm;      // Immediate source, already sign-extended to 64 bits
    bool zero_extend;  // MOVZX: load widens with zeros into reg_size bytes
    bool sign_extend;  // MOVSX/MOVSXD: load widens with the sign into reg_size bytes
    uint8_t reg_size;  // width of the register operand: 1, 2, 4 or 8
    Segment segment;
    MemOperand mem;
    // The opcode (after 0F for two-byte opcodes); also filled on Unsupported.
    uint8_t opcode;
    bool two_byte_opcode;
};

// Decodes bytes[0..len) in 64-bit mode. Never reads at or beyond bytes + len.
// On error, out.opcode/out.two_byte_opcode hold the opcode if it was reached.
[[nodiscard]] Error decode(const uint8_t* bytes, size_t len, Decoded& out);

// The register value after writing `size` bytes of `value` into `old`, as the
// CPU does for a register destination (SDM Vol. 1 3.4.1.1): 8- and 16-bit
// writes keep the other bits, 32-bit writes clear bits 63:32, 64-bit writes
// replace. high_byte writes value's low byte into bits 15:8 (AH..BH).
uint64_t merge_register(uint64_t old, uint64_t value, uint8_t size, bool high_byte);

// For a write: the value the guest stores, `size` bytes wide (zero-extended).
// reg_value is the current value of register d.reg (ignored for immediates).
uint64_t store_value(const Decoded& d, uint64_t reg_value);

// For a load: the new value of register d.reg, given its old value and the
// `size`-byte value read from the device (applies MOVZX/MOVSX widening and
// the merge rules above).
uint64_t load_result(const Decoded& d, uint64_t old_reg, uint64_t mem_value);

const char* to_string(Error);

}  // namespace natsume::insn
