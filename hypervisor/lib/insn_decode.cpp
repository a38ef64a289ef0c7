#include "insn_decode.hpp"

namespace natsume::insn {
namespace {

// Legacy prefixes (SDM Vol. 2A 2.1.1).
constexpr uint8_t OPERAND_SIZE = 0x66, ADDRESS_SIZE = 0x67, LOCK = 0xF0, REPNE = 0xF2, REP = 0xF3;
constexpr uint8_t SEG_CS = 0x2E, SEG_SS = 0x36, SEG_DS = 0x3E, SEG_ES = 0x26, SEG_FS = 0x64, SEG_GS = 0x65;
// REX (SDM Vol. 2A 2.2.1.2): 0100WRXB.
constexpr uint8_t REX_W = 0x8, REX_R = 0x4, REX_X = 0x2, REX_B = 0x1;
constexpr uint8_t TWO_BYTE_ESCAPE = 0x0F;

bool is_rex(uint8_t b) { return (b & 0xF0) == 0x40; }

// The bytes seen so far and the cursor; every read is bounds-checked.
struct Cursor {
    const uint8_t* bytes;
    size_t len;
    size_t pos;

    // n more bytes must exist and the instruction must stay within 15 bytes.
    Error need(size_t n) const {
        if (pos + n > MAX_LENGTH) return Error::TooLong;
        if (pos + n > len) return Error::Truncated;
        return Error::Ok;
    }
    uint8_t take() { return bytes[pos++]; }
    uint64_t take_le(size_t n) {
        uint64_t v = 0;
        for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(bytes[pos + i]) << (8 * i);
        pos += n;
        return v;
    }
};

struct Prefixes {
    bool operand_16  = false;
    bool address_32  = false;
    uint8_t rex      = 0;
    bool rex_present = false;
    Segment segment  = Segment::Default;
};

// Consumes legacy prefixes and a REX byte. A REX byte counts only when the
// opcode follows it directly (SDM Vol. 2A 2.2.1); one before a legacy prefix
// is ignored, which clearing it on every legacy prefix models.
Error read_prefixes(Cursor& c, Prefixes& p) {
    for (;;) {
        if (Error e = c.need(1); e != Error::Ok) return e;
        const uint8_t b = c.bytes[c.pos];
        if (is_rex(b)) {
            p.rex         = b;
            p.rex_present = true;
            ++c.pos;
            continue;
        }
        switch (b) {
        case LOCK: return Error::LockPrefix;
        case REPNE:
        case REP: return Error::RepPrefix;
        case OPERAND_SIZE: p.operand_16 = true; break;
        case ADDRESS_SIZE: p.address_32 = true; break;
        case SEG_FS: p.segment = Segment::Fs; break;
        case SEG_GS: p.segment = Segment::Gs; break;
        case SEG_CS:
        case SEG_SS:
        case SEG_DS:
        case SEG_ES: p.segment = Segment::Default; break;
        default: return Error::Ok;
        }
        p.rex         = 0;
        p.rex_present = false;
        ++c.pos;
    }
}

uint8_t operand_size(const Prefixes& p) {
    if (p.rex & REX_W) return 8;
    return p.operand_16 ? 2 : 4;
}

// What the opcode means, before the ModRM byte is read.
struct Form {
    bool write;
    uint8_t mem_size;
    uint8_t reg_size;
    Operand src;
    uint8_t imm_size;  // bytes of immediate after the memory operand
    bool zero_extend, sign_extend;
    bool needs_reg_zero;  // C6/C7: ModRM.reg is an opcode extension that must be 0
    bool moffs;           // A0-A3: no ModRM, an absolute address, register AL/eAX
};

bool one_byte_form(uint8_t op, const Prefixes& p, Form& f) {
    const uint8_t osz = operand_size(p);
    switch (op) {
    case 0x88: f = {true, 1, 1, Operand::Register, 0, false, false, false, false}; return true;
    case 0x89: f = {true, osz, osz, Operand::Register, 0, false, false, false, false}; return true;
    case 0x8A: f = {false, 1, 1, Operand::Register, 0, false, false, false, false}; return true;
    case 0x8B: f = {false, osz, osz, Operand::Register, 0, false, false, false, false}; return true;
    case 0xC6: f = {true, 1, 1, Operand::Immediate, 1, false, false, true, false}; return true;
    case 0xC7: {
        // MOV r/m64, imm32 sign-extends the immediate (SDM Vol. 2B, MOV).
        const uint8_t imm = osz == 2 ? 2 : 4;
        f                 = {true, osz, osz, Operand::Immediate, imm, false, false, true, false};
        return true;
    }
    // MOV AL/eAX <-> moffs (SDM Vol. 2B, MOV: A0-A3); bit 1 is the direction.
    case 0xA0:
    case 0xA2: f = {op == 0xA2, 1, 1, Operand::Register, 0, false, false, false, true}; return true;
    case 0xA1:
    case 0xA3: f = {op == 0xA3, osz, osz, Operand::Register, 0, false, false, false, true}; return true;
    case 0x63: {
        // MOVSXD: only REX.W widens; without it the form is a plain move.
        const bool widen  = osz == 8;
        const uint8_t msz = widen ? 4 : osz;
        f                 = {false, msz, osz, Operand::Register, 0, false, widen, false, false};
        return true;
    }
    default: return false;
    }
}

bool two_byte_form(uint8_t op, const Prefixes& p, Form& f) {
    const uint8_t osz = operand_size(p);
    const bool zero   = op == 0xB6 || op == 0xB7;
    const bool sign   = op == 0xBE || op == 0xBF;
    if (!zero && !sign) return false;
    const uint8_t msz = (op & 1) ? 2 : 1;
    f                 = {false, msz, osz, Operand::Register, 0, zero, sign, false, false};
    return true;
}

// ModRM, SIB and displacement (SDM Vol. 2A tables 2-2 and 2-3 with the
// 64-bit changes of 2.2.1.3-2.2.1.6). Fills reg and mem.
Error read_modrm(Cursor& c, const Prefixes& p, uint8_t& reg_field, MemOperand& m) {
    if (Error e = c.need(1); e != Error::Ok) return e;
    const uint8_t modrm = c.take();
    const uint8_t mod = modrm >> 6, rm = modrm & 7;
    reg_field = static_cast<uint8_t>(((modrm >> 3) & 7) | ((p.rex & REX_R) ? 8 : 0));
    if (mod == 3) return Error::RegisterOperand;
    m                = {NO_REGISTER, NO_REGISTER, 1, 0, false, p.address_32};
    size_t disp_size = mod == 1 ? 1 : mod == 2 ? 4 : 0;
    if (rm == 4) {
        if (Error e = c.need(1); e != Error::Ok) return e;
        const uint8_t sib   = c.take();
        const uint8_t index = static_cast<uint8_t>(((sib >> 3) & 7) | ((p.rex & REX_X) ? 8 : 0));
        m.scale             = static_cast<uint8_t>(1u << (sib >> 6));
        if (index != 4) m.index = index;  // 100b without REX.X means "no index"
        if ((sib & 7) == 5 && mod == 0) {
            disp_size = 4;  // no base, disp32
        } else {
            m.base = static_cast<uint8_t>((sib & 7) | ((p.rex & REX_B) ? 8 : 0));
        }
    } else if (rm == 5 && mod == 0) {
        m.rip_relative = true;  // REX.B does not change this (2.2.1.6)
        disp_size      = 4;
    } else {
        m.base = static_cast<uint8_t>(rm | ((p.rex & REX_B) ? 8 : 0));
    }
    if (Error e = c.need(disp_size); e != Error::Ok) return e;
    const uint64_t raw = c.take_le(disp_size);
    if (disp_size == 1) m.disp = static_cast<int8_t>(raw);
    if (disp_size == 4) m.disp = static_cast<int32_t>(static_cast<uint32_t>(raw));
    return Error::Ok;
}

uint64_t sign_extend_from(uint64_t v, uint8_t bytes) {
    if (bytes >= 8) return v;
    const unsigned shift = 64u - 8u * bytes;
    return static_cast<uint64_t>(static_cast<int64_t>(v << shift) >> shift);
}

uint64_t low_mask(uint8_t bytes) { return bytes >= 8 ? ~0ull : (1ull << (8u * bytes)) - 1; }

// AH, CH, DH, BH exist only without any REX prefix (SDM Vol. 2A 3.7.2.1).
void set_register(Decoded& d, uint8_t reg_field, const Prefixes& p, uint8_t reg_size) {
    d.reg           = reg_field;
    d.high_byte_reg = reg_size == 1 && !p.rex_present && reg_field >= 4 && reg_field <= 7;
    if (d.high_byte_reg) d.reg = static_cast<uint8_t>(reg_field - 4);
}

// The moffs operand: 8 bytes, or 4 with the address-size prefix (SDM Vol. 2A 2.2.1.4).
Error read_moffs(Cursor& c, const Prefixes& p, MemOperand& m) {
    const size_t n = p.address_32 ? 4 : 8;
    if (Error e = c.need(n); e != Error::Ok) return e;
    m = {NO_REGISTER, NO_REGISTER, 1, static_cast<int64_t>(c.take_le(n)), false, p.address_32};
    return Error::Ok;
}

Error read_opcode(Cursor& c, const Prefixes& p, Decoded& d, Form& f) {
    if (Error e = c.need(1); e != Error::Ok) return e;
    d.opcode = c.take();
    if (d.opcode == TWO_BYTE_ESCAPE) {
        if (Error e = c.need(1); e != Error::Ok) return e;
        d.two_byte_opcode = true;
        d.opcode          = c.take();
        return two_byte_form(d.opcode, p, f) ? Error::Ok : Error::Unsupported;
    }
    return one_byte_form(d.opcode, p, f) ? Error::Ok : Error::Unsupported;
}

}  // namespace

Error decode(const uint8_t* bytes, size_t len, Decoded& out) {
    out     = {};
    out.reg = NO_REGISTER;
    if (bytes == nullptr) len = 0;
    Cursor c{bytes, len, 0};
    Prefixes p;
    Form f{};
    if (Error e = read_prefixes(c, p); e != Error::Ok) return e;
    if (Error e = read_opcode(c, p, out, f); e != Error::Ok) return e;
    uint8_t reg_field = 0;  // AL/eAX for moffs forms
    const Error mem   = f.moffs ? read_moffs(c, p, out.mem) : read_modrm(c, p, reg_field, out.mem);
    if (mem != Error::Ok) return mem;
    if (f.needs_reg_zero && (reg_field & 7) != 0) return Error::Unsupported;
    if (Error e = c.need(f.imm_size); e != Error::Ok) return e;
    if (f.imm_size != 0) out.imm = sign_extend_from(c.take_le(f.imm_size), f.imm_size);
    if (f.src == Operand::Register) set_register(out, reg_field, p, f.reg_size);
    out.write       = f.write;
    out.size        = f.mem_size;
    out.reg_size    = f.src == Operand::Register ? f.reg_size : f.mem_size;
    out.src_kind    = f.src;
    out.zero_extend = f.zero_extend;
    out.sign_extend = f.sign_extend;
    out.segment     = p.segment;
    out.length      = static_cast<uint8_t>(c.pos);
    return Error::Ok;
}

uint64_t merge_register(uint64_t old, uint64_t value, uint8_t size, bool high_byte) {
    if (high_byte) return (old & ~0xFF00ull) | ((value & 0xFF) << 8);
    switch (size) {
    case 1: return (old & ~0xFFull) | (value & 0xFF);
    case 2: return (old & ~0xFFFFull) | (value & 0xFFFF);
    case 4: return value & 0xFFFFFFFFull;  // 32-bit destinations clear bits 63:32
    default: return value;
    }
}

uint64_t store_value(const Decoded& d, uint64_t reg_value) {
    if (d.src_kind == Operand::Immediate) return d.imm & low_mask(d.size);
    const uint64_t v = d.high_byte_reg ? reg_value >> 8 : reg_value;
    return v & low_mask(d.size);
}

uint64_t load_result(const Decoded& d, uint64_t old_reg, uint64_t mem_value) {
    uint64_t v = mem_value & low_mask(d.size);
    if (d.sign_extend) v = sign_extend_from(v, d.size);
    return merge_register(old_reg, v, d.reg_size, d.high_byte_reg);
}

const char* to_string(Error e) {
    switch (e) {
    case Error::Ok: return "ok";
    case Error::Truncated: return "instruction bytes end early";
    case Error::TooLong: return "instruction longer than 15 bytes";
    case Error::Unsupported: return "unsupported opcode for MMIO";
    case Error::LockPrefix: return "LOCK prefix on MMIO";
    case Error::RepPrefix: return "REP/REPNE prefix on MMIO";
    case Error::RegisterOperand: return "no memory operand";
    }
    return "unknown error";
}

}  // namespace natsume::insn
