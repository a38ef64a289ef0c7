// Instruction bytes below come from `objdump -d` of g++ -O2 output for
// volatile loads/stores, and of `as` for register forms g++ rarely picks.
#include <catch2/catch.hpp>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <vector>

#include "hypervisor/lib/insn_decode.hpp"

using namespace natsume::insn;

namespace {

constexpr uint8_t RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7;
constexpr uint8_t R8 = 8, R9 = 9, R10 = 10, R11 = 11, R12 = 12, R13 = 13, R14 = 14, R15 = 15;

// Copies the bytes into a heap buffer of exactly that size, so ASan fails the
// test if the decoder reads one byte too far.
Error decode_exact(std::initializer_list<uint8_t> bytes, Decoded& d) {
    std::unique_ptr<uint8_t[]> buf(new uint8_t[bytes.size() ? bytes.size() : 1]);
    std::copy(bytes.begin(), bytes.end(), buf.get());
    return decode(buf.get(), bytes.size(), d);
}

Decoded ok(std::initializer_list<uint8_t> bytes) {
    Decoded d{};
    const Error e = decode_exact(bytes, d);
    INFO(to_string(e));
    REQUIRE(e == Error::Ok);
    CHECK(d.length == bytes.size());
    return d;
}

}  // namespace

TEST_CASE("store of a 32-bit register: *(volatile uint32_t*)p = v", "[insn]") {
    const Decoded d = ok({0x89, 0x37});  // mov %esi,(%rdi)
    CHECK(d.write);
    CHECK(d.size == 4);
    CHECK(d.src_kind == Operand::Register);
    CHECK(d.reg == RSI);
    CHECK_FALSE(d.high_byte_reg);
    CHECK(d.mem.base == RDI);
    CHECK(d.mem.index == NO_REGISTER);
    CHECK(d.segment == Segment::Default);
    CHECK(store_value(d, 0xAAAAAAAA'12345678ull) == 0x12345678u);
}

TEST_CASE("load of a 32-bit register zero-extends to 64 bits", "[insn]") {
    const Decoded d = ok({0x8B, 0x07});  // mov (%rdi),%eax
    CHECK_FALSE(d.write);
    CHECK(d.size == 4);
    CHECK(d.reg == RAX);
    CHECK(d.reg_size == 4);
    CHECK(load_result(d, 0xFFFFFFFF'FFFFFFFFull, 0xDEADBEEF) == 0x00000000'DEADBEEFull);
}

TEST_CASE("64-bit load and store with REX.W", "[insn]") {
    Decoded d = ok({0x48, 0x89, 0x37});  // mov %rsi,(%rdi)
    CHECK(d.write);
    CHECK(d.size == 8);
    CHECK(d.reg == RSI);
    CHECK(store_value(d, 0x1122334455667788ull) == 0x1122334455667788ull);
    d = ok({0x48, 0x8B, 0x07});  // mov (%rdi),%rax
    CHECK_FALSE(d.write);
    CHECK(d.size == 8);
    CHECK(load_result(d, 1, 0x8000000000000001ull) == 0x8000000000000001ull);
}

TEST_CASE("16-bit store with the operand-size prefix keeps upper bits on load", "[insn]") {
    Decoded d = ok({0x66, 0x89, 0x37});  // mov %si,(%rdi)
    CHECK(d.write);
    CHECK(d.size == 2);
    CHECK(store_value(d, 0x12345678) == 0x5678);
    d = ok({0x66, 0x8B, 0x07});  // mov (%rdi),%ax
    CHECK(d.size == 2);
    CHECK(load_result(d, 0x11223344'55667788ull, 0xBEEF) == 0x11223344'5566BEEFull);
}

TEST_CASE("byte store from SIL needs REX, from AH must not have it", "[insn]") {
    Decoded d = ok({0x40, 0x88, 0x37});  // mov %sil,(%rdi)
    CHECK(d.size == 1);
    CHECK(d.reg == RSI);
    CHECK_FALSE(d.high_byte_reg);
    CHECK(store_value(d, 0x1234) == 0x34);

    d = ok({0x88, 0x27});  // mov %ah,(%rdi)
    CHECK(d.write);
    CHECK(d.high_byte_reg);
    CHECK(d.reg == RAX);
    CHECK(store_value(d, 0xABCD) == 0xAB);

    d = ok({0x8A, 0x3E});  // mov (%rsi),%bh
    CHECK_FALSE(d.write);
    CHECK(d.high_byte_reg);
    CHECK(d.reg == RBX);
    CHECK(d.mem.base == RSI);
    CHECK(load_result(d, 0x1111111111111111ull, 0x5A) == 0x1111111111115A11ull);
}

TEST_CASE("byte store to DIL-numbered register without REX is BH", "[insn]") {
    // 88 3E: mov %bh,(%rsi); the same ModRM with REX (40 88 3E) is %dil.
    Decoded d = ok({0x88, 0x3E});
    CHECK(d.high_byte_reg);
    CHECK(d.reg == RBX);
    d = ok({0x40, 0x88, 0x3E});
    CHECK_FALSE(d.high_byte_reg);
    CHECK(d.reg == RDI);
}

TEST_CASE("MOVZX byte and word loads", "[insn]") {
    Decoded d = ok({0x0F, 0xB6, 0x07});  // movzbl (%rdi),%eax
    CHECK_FALSE(d.write);
    CHECK(d.size == 1);
    CHECK(d.reg_size == 4);
    CHECK(d.zero_extend);
    CHECK(d.two_byte_opcode);
    CHECK(d.opcode == 0xB6);
    CHECK(load_result(d, ~0ull, 0xFFFFFF80) == 0x80);

    d = ok({0x0F, 0xB7, 0x07});  // movzwl (%rdi),%eax
    CHECK(d.size == 2);
    CHECK(load_result(d, ~0ull, 0x12348001) == 0x8001);

    d = ok({0x45, 0x0F, 0xB6, 0x30});  // movzbl (%r8),%r14d
    CHECK(d.reg == R14);
    CHECK(d.mem.base == R8);
    CHECK(d.size == 1);

    d = ok({0x66, 0x0F, 0xB6, 0x07});  // movzbw (%rdi),%ax
    CHECK(d.reg_size == 2);
    CHECK(load_result(d, 0xFFFFFFFF'FFFFFFFFull, 0x7F) == 0xFFFFFFFF'FFFF007Full);
}

TEST_CASE("MOVZX with SIB, index and disp8", "[insn]") {
    const Decoded d = ok({0x0F, 0xB7, 0x44, 0x8B, 0x08});  // movzwl 0x8(%rbx,%rcx,4),%eax
    CHECK(d.mem.base == RBX);
    CHECK(d.mem.index == RCX);
    CHECK(d.mem.scale == 4);
    CHECK(d.mem.disp == 8);
    CHECK(d.reg == RAX);
}

TEST_CASE("MOVSX and MOVSXD sign-extend", "[insn]") {
    Decoded d = ok({0x0F, 0xBE, 0x07});  // movsbl (%rdi),%eax
    CHECK(d.sign_extend);
    CHECK(d.size == 1);
    CHECK(d.reg_size == 4);
    CHECK(load_result(d, ~0ull, 0x80) == 0xFFFFFF80ull);  // 32-bit dest clears 63:32

    d = ok({0x0F, 0xBF, 0x07});  // movswl (%rdi),%eax
    CHECK(load_result(d, 0, 0xFFFE) == 0xFFFFFFFEull);

    d = ok({0x48, 0x63, 0x07});  // movslq (%rdi),%rax
    CHECK(d.size == 4);
    CHECK(d.reg_size == 8);
    CHECK(load_result(d, 0, 0x80000000) == 0xFFFFFFFF80000000ull);

    d = ok({0x48, 0x0F, 0xBE, 0x07});  // movsbq (%rdi),%rax
    CHECK(load_result(d, 0, 0xFF) == ~0ull);

    d = ok({0x48, 0x0F, 0xBF, 0x57, 0x02});  // movswq 0x2(%rdi),%rdx
    CHECK(d.reg == RDX);
    CHECK(d.mem.disp == 2);
    CHECK(load_result(d, 0, 0x7FFF) == 0x7FFF);
}

TEST_CASE("stores of immediates", "[insn]") {
    Decoded d = ok({0xC7, 0x07, 0x78, 0x56, 0x34, 0x12});  // movl $0x12345678,(%rdi)
    CHECK(d.write);
    CHECK(d.src_kind == Operand::Immediate);
    CHECK(d.size == 4);
    CHECK(store_value(d, 0) == 0x12345678u);

    d = ok({0x48, 0xC7, 0x07, 0x00, 0x00, 0x00, 0x80});  // movq $0xffffffff80000000,(%rdi)
    CHECK(d.size == 8);
    CHECK(d.imm == 0xFFFFFFFF80000000ull);
    CHECK(store_value(d, 0) == 0xFFFFFFFF80000000ull);

    d = ok({0x48, 0xC7, 0x07, 0xFE, 0xFF, 0xFF, 0xFF});  // movq $-2,(%rdi)
    CHECK(store_value(d, 0) == 0xFFFFFFFFFFFFFFFEull);

    d = ok({0xC6, 0x07, 0xA5});  // movb $0xa5,(%rdi)
    CHECK(d.size == 1);
    CHECK(store_value(d, 0) == 0xA5);

    d = ok({0x66, 0xC7, 0x47, 0x02, 0x34, 0x12});  // movw $0x1234,0x2(%rdi)
    CHECK(d.size == 2);
    CHECK(d.mem.disp == 2);
    CHECK(store_value(d, 0) == 0x1234);

    d = ok({0x41, 0xC6, 0x04, 0x24, 0x7F});  // movb $0x7f,(%r12)
    CHECK(d.mem.base == R12);
    CHECK(store_value(d, 0) == 0x7F);
}

TEST_CASE("REX.R and REX.B select r8-r15", "[insn]") {
    Decoded d = ok({0x45, 0x89, 0x0A});  // mov %r9d,(%r10)
    CHECK(d.reg == R9);
    CHECK(d.mem.base == R10);
    CHECK(d.size == 4);

    d = ok({0x45, 0x8B, 0x23});  // mov (%r11),%r12d
    CHECK(d.reg == R12);
    CHECK(d.mem.base == R11);

    d = ok({0x4D, 0x89, 0x7D, 0x10});  // mov %r15,0x10(%r13)
    CHECK(d.reg == R15);
    CHECK(d.mem.base == R13);
    CHECK(d.size == 8);
    CHECK(d.mem.disp == 0x10);

    d = ok({0x43, 0x89, 0x04, 0xEC});  // mov %eax,(%r12,%r13,8)
    CHECK(d.reg == RAX);
    CHECK(d.mem.base == R12);
    CHECK(d.mem.index == R13);
    CHECK(d.mem.scale == 8);
}

TEST_CASE("RSP, RBP, R12 and R13 bases take their special encodings", "[insn]") {
    Decoded d = ok({0x89, 0x04, 0x24});  // mov %eax,(%rsp): SIB required
    CHECK(d.mem.base == RSP);
    CHECK(d.mem.index == NO_REGISTER);
    d = ok({0x8B, 0x4D, 0x40});  // mov 0x40(%rbp),%ecx
    CHECK(d.mem.base == RBP);
    CHECK(d.reg == RCX);
    d = ok({0x41, 0x8B, 0x45, 0x00});  // mov 0x0(%r13),%eax: mod 01, not RIP-relative
    CHECK(d.mem.base == R13);
    CHECK_FALSE(d.mem.rip_relative);
    d = ok({0x41, 0x8B, 0x04, 0x24});  // mov (%r12),%eax
    CHECK(d.mem.base == R12);
}

TEST_CASE("RIP-relative and absolute disp32 operands", "[insn]") {
    Decoded d = ok({0x8B, 0x05, 0x00, 0x00, 0x00, 0x00});  // mov 0x0(%rip),%eax
    CHECK(d.mem.rip_relative);
    CHECK(d.mem.base == NO_REGISTER);
    d = ok({0x89, 0x05, 0x78, 0x56, 0x34, 0x12});  // mov %eax,0x12345678(%rip)
    CHECK(d.mem.rip_relative);
    CHECK(d.mem.disp == 0x12345678);
    CHECK(d.write);
    d = ok({0x89, 0x3D, 0xF0, 0xFF, 0xFF, 0xFF});  // mov %edi,-0x10(%rip)
    CHECK(d.mem.disp == -16);
    d = ok({0x8B, 0x0C, 0xC5, 0x10, 0x00, 0x00, 0x00});  // mov 0x10(,%rax,8),%ecx
    CHECK(d.mem.base == NO_REGISTER);
    CHECK(d.mem.index == RAX);
    CHECK(d.mem.scale == 8);
    CHECK(d.mem.disp == 0x10);
    d = ok({0x89, 0xB7, 0x00, 0x03, 0x00, 0x00});  // mov %esi,0x300(%rdi)
    CHECK(d.mem.disp == 0x300);
    CHECK_FALSE(d.mem.rip_relative);
}

TEST_CASE("MOV moffs: g++ -O2 for a constant address above 2 GiB", "[insn]") {
    // *(volatile uint32_t*)0xFEC00010 = v  ->  movabs %eax,0xfec00010
    Decoded d = ok({0xA3, 0x10, 0x00, 0xC0, 0xFE, 0x00, 0x00, 0x00, 0x00});
    CHECK(d.write);
    CHECK(d.size == 4);
    CHECK(d.reg == RAX);
    CHECK(d.src_kind == Operand::Register);
    CHECK(d.mem.base == NO_REGISTER);
    CHECK(d.mem.index == NO_REGISTER);
    CHECK(d.mem.disp == 0xFEC00010);
    // v = *(volatile uint32_t*)0xFEC00010  ->  movabs 0xfec00010,%eax
    d = ok({0xA1, 0x10, 0x00, 0xC0, 0xFE, 0x00, 0x00, 0x00, 0x00});
    CHECK_FALSE(d.write);
    CHECK(load_result(d, ~0ull, 0x11) == 0x11);
    // byte store from AL; a REX prefix does not turn AL into anything else
    d = ok({0xA2, 0x10, 0x00, 0xC0, 0xFE, 0x00, 0x00, 0x00, 0x00});
    CHECK(d.size == 1);
    CHECK_FALSE(d.high_byte_reg);
    CHECK(store_value(d, 0x1234) == 0x34);
    d = ok({0x41, 0xA0, 0x10, 0x00, 0xC0, 0xFE, 0x00, 0x00, 0x00, 0x00});
    CHECK(d.reg == RAX);
    CHECK_FALSE(d.write);
    // 64-bit load: movabs 0xfec00010,%rax
    d = ok({0x48, 0xA1, 0x10, 0x00, 0xC0, 0xFE, 0x00, 0x00, 0x00, 0x00});
    CHECK(d.size == 8);
    // 16-bit, and a 32-bit offset with the address-size prefix
    d = ok({0x66, 0xA3, 0x00, 0x00, 0xE0, 0xFE, 0x00, 0x00, 0x00, 0x00});
    CHECK(d.size == 2);
    d = ok({0x67, 0xA1, 0xB0, 0x00, 0xE0, 0xFE});
    CHECK(d.mem.address_32);
    CHECK(d.mem.disp == 0xFEE000B0);
    // A high address that does not fit 32 bits survives intact.
    d = ok({0xA1, 0x00, 0x10, 0x00, 0x00, 0x00, 0x01, 0x00, 0x80});
    CHECK(static_cast<uint64_t>(d.mem.disp) == 0x8000010000001000ull);
}

TEST_CASE("absolute disp32 below 2 GiB uses a SIB without base", "[insn]") {
    // *(volatile uint32_t*)0xB0000 = v  ->  mov %edi,0xb0000
    const Decoded d = ok({0x89, 0x3C, 0x25, 0x00, 0x00, 0x0B, 0x00});
    CHECK(d.reg == RDI);
    CHECK(d.mem.base == NO_REGISTER);
    CHECK(d.mem.index == NO_REGISTER);
    CHECK(d.mem.disp == 0xB0000);
}

TEST_CASE("segment overrides: FS/GS reported, others ignored", "[insn]") {
    Decoded d = ok({0x64, 0x8B, 0x04, 0x25, 0x10, 0x00, 0x00, 0x00});  // mov %fs:0x10,%eax
    CHECK(d.segment == Segment::Fs);
    CHECK(d.mem.base == NO_REGISTER);
    CHECK(d.mem.disp == 0x10);
    d = ok({0x65, 0x89, 0x10});  // mov %edx,%gs:(%rax)
    CHECK(d.segment == Segment::Gs);
    CHECK(d.reg == RDX);
    d = ok({0x3E, 0x89, 0x10});  // ds: override
    CHECK(d.segment == Segment::Default);
    d = ok({0x2E, 0x26, 0x36, 0x89, 0x10});
    CHECK(d.segment == Segment::Default);
    CHECK(d.length == 5);
}

TEST_CASE("address-size prefix decodes with the same length", "[insn]") {
    const Decoded d = ok({0x67, 0x89, 0x08});  // mov %ecx,(%eax)
    CHECK(d.mem.address_32);
    CHECK(d.reg == RCX);
}

TEST_CASE("REX is ignored unless it directly precedes the opcode", "[insn]") {
    // 48 66 89 37: REX.W then 66: the REX is dropped, a 16-bit store remains.
    Decoded d = ok({0x48, 0x66, 0x89, 0x37});
    CHECK(d.size == 2);
    // 66 48 89 37: REX.W wins over 66 (SDM Vol. 2A 2.2.1.2).
    d = ok({0x66, 0x48, 0x89, 0x37});
    CHECK(d.size == 8);
    // 41 40 88 37: a second REX replaces the first; with REX present, 6 = SIL.
    d = ok({0x41, 0x40, 0x88, 0x37});
    CHECK(d.reg == RSI);
    CHECK(d.mem.base == RDI);
}

TEST_CASE("truncated input is reported at every length and never overread", "[insn]") {
    const std::vector<std::vector<uint8_t>> encodings = {
        {0x48, 0xC7, 0x07, 0x00, 0x00, 0x00, 0x80},
        {0x64, 0x8B, 0x04, 0x25, 0x10, 0x00, 0x00, 0x00},
        {0x45, 0x0F, 0xB6, 0x30},
        {0x0F, 0xB7, 0x44, 0x8B, 0x08},
        {0x89, 0x05, 0x78, 0x56, 0x34, 0x12},
        {0x66, 0xC7, 0x47, 0x02, 0x34, 0x12},
        {0x48, 0xA1, 0x10, 0x00, 0xC0, 0xFE, 0x00, 0x00, 0x00, 0x00},
        {0x67, 0xA3, 0xB0, 0x00, 0xE0, 0xFE},
    };
    for (const auto& full : encodings) {
        for (size_t n = 0; n < full.size(); ++n) {
            std::unique_ptr<uint8_t[]> buf(new uint8_t[n ? n : 1]);
            std::memcpy(buf.get(), full.data(), n);
            Decoded d{};
            INFO("bytes " << n << " of " << full.size());
            CHECK(decode(buf.get(), n, d) == Error::Truncated);
        }
        Decoded d{};
        CHECK(decode(full.data(), full.size(), d) == Error::Ok);
    }
    Decoded d{};
    CHECK(decode(nullptr, 0, d) == Error::Truncated);
}

TEST_CASE("trailing bytes after the instruction are not part of it", "[insn]") {
    const uint8_t bytes[15] = {0x89, 0x37, 0xC3, 0x90, 0x90};
    Decoded d{};
    REQUIRE(decode(bytes, sizeof bytes, d) == Error::Ok);
    CHECK(d.length == 2);
}

TEST_CASE("more than 15 bytes of prefixes is too long", "[insn]") {
    std::vector<uint8_t> bytes(14, 0x3E);
    bytes.push_back(0x89);
    bytes.push_back(0x37);
    Decoded d{};
    CHECK(decode(bytes.data(), bytes.size(), d) == Error::TooLong);
    // 13 prefixes + 89 37 = 15 bytes: still legal.
    std::vector<uint8_t> ok_bytes(13, 0x3E);
    ok_bytes.push_back(0x89);
    ok_bytes.push_back(0x37);
    REQUIRE(decode(ok_bytes.data(), ok_bytes.size(), d) == Error::Ok);
    CHECK(d.length == 15);
    // A 15-byte limit applies even when fewer bytes were supplied.
    std::vector<uint8_t> all_prefixes(15, 0x66);
    CHECK(decode(all_prefixes.data(), all_prefixes.size(), d) == Error::TooLong);
}

TEST_CASE("unsupported opcodes and prefixes are refused with the opcode", "[insn]") {
    Decoded d{};
    CHECK(decode_exact({0x01, 0x07}, d) == Error::Unsupported);  // add %eax,(%rdi)
    CHECK(d.opcode == 0x01);
    CHECK_FALSE(d.two_byte_opcode);
    CHECK(decode_exact({0x0F, 0xAE, 0x07}, d) == Error::Unsupported);  // fxsave (%rdi)
    CHECK(d.opcode == 0xAE);
    CHECK(d.two_byte_opcode);
    CHECK(decode_exact({0xC5, 0xF9, 0x6F, 0x07}, d) == Error::Unsupported);  // VEX vmovdqa
    CHECK(d.opcode == 0xC5);
    CHECK(decode_exact({0xA4}, d) == Error::Unsupported);  // movsb
    CHECK(decode_exact({0xA5}, d) == Error::Unsupported);  // movsl
    CHECK(decode_exact({0xF0, 0x83, 0x07, 0x01}, d) == Error::LockPrefix);
    CHECK(decode_exact({0xF3, 0xA4}, d) == Error::RepPrefix);
    CHECK(decode_exact({0xF2, 0x89, 0x07}, d) == Error::RepPrefix);
    CHECK(decode_exact({0x89, 0xC3}, d) == Error::RegisterOperand);                            // mov %eax,%ebx
    CHECK(decode_exact({0xC7, 0x4F, 0x00, 0x01, 0x00, 0x00, 0x00}, d) == Error::Unsupported);  // C7 /1
    CHECK(decode_exact({0xC6, 0xF8, 0x01}, d) == Error::RegisterOperand);                      // xabort-like C6 F8
}

TEST_CASE("merge_register follows the x86 destination rules", "[insn]") {
    const uint64_t old = 0x1122334455667788ull;
    CHECK(merge_register(old, 0xAB, 1, false) == 0x11223344556677ABull);
    CHECK(merge_register(old, 0xAB, 1, true) == 0x112233445566AB88ull);
    CHECK(merge_register(old, 0xFFFFABCD, 2, false) == 0x112233445566ABCDull);
    CHECK(merge_register(old, 0xFFFFFFFF'DEADBEEFull, 4, false) == 0xDEADBEEFull);
    CHECK(merge_register(old, 0xCAFEBABE'DEADBEEFull, 8, false) == 0xCAFEBABE'DEADBEEFull);
}

TEST_CASE("every single-byte input decodes or fails without overreading", "[insn]") {
    for (unsigned b = 0; b < 256; ++b) {
        uint8_t one[1] = {static_cast<uint8_t>(b)};
        Decoded d{};
        const Error e = decode(one, 1, d);
        CHECK(e != Error::Ok);  // no supported instruction is one byte long
    }
}
