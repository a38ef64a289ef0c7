// The MMIO instruction decoder and the register helpers the emulation uses
// (hypervisor/lib/insn_decode.cpp).
//
// Input: the instruction bytes, then (taken from the end) a register value
// and a device value. Asserts on a decoded instruction: 1 <= length <= 15
// and within the bytes, the same decode from exactly `length` bytes and
// Truncated from every shorter prefix, sizes in {1,2,4,8}, registers 0..15 (AH..BH
// only as a byte operand), scale in {1,2,4,8}, immediates only for stores,
// widening only for loads, never into a narrower register; store_value has only
// `size` bytes; load_result keeps exactly the bits the CPU keeps.
#include <fuzzer/FuzzedDataProvider.h>
#include <vector>

#include "fuzz_util.hpp"
#include "hypervisor/lib/insn_decode.hpp"

using namespace natsume;
using namespace natsume::insn;

namespace {

bool valid_size(uint8_t s) { return s == 1 || s == 2 || s == 4 || s == 8; }
uint64_t mask(uint8_t size) { return size >= 8 ? ~0ull : (1ull << (8u * size)) - 1; }

bool same(const Decoded& a, const Decoded& b) {
    return a.length == b.length && a.write == b.write && a.size == b.size && a.src_kind == b.src_kind &&
           a.reg == b.reg && a.high_byte_reg == b.high_byte_reg && a.imm == b.imm && a.zero_extend == b.zero_extend &&
           a.sign_extend == b.sign_extend && a.reg_size == b.reg_size && a.segment == b.segment &&
           a.mem.base == b.mem.base && a.mem.index == b.mem.index && a.mem.scale == b.mem.scale &&
           a.mem.disp == b.mem.disp && a.mem.rip_relative == b.mem.rip_relative &&
           a.mem.address_32 == b.mem.address_32 && a.opcode == b.opcode;
}

void check(const Decoded& d, const std::vector<uint8_t>& bytes, uint64_t reg, uint64_t mem) {
    FUZZ_CHECK(d.length >= 1 && d.length <= MAX_LENGTH && d.length <= bytes.size());
    FUZZ_CHECK(valid_size(d.size) && valid_size(d.reg_size));
    FUZZ_CHECK(d.mem.scale == 1 || d.mem.scale == 2 || d.mem.scale == 4 || d.mem.scale == 8);
    FUZZ_CHECK(d.mem.base < 16 || d.mem.base == NO_REGISTER);
    FUZZ_CHECK(d.mem.index < 16 || d.mem.index == NO_REGISTER);
    FUZZ_CHECK(!(d.zero_extend && d.sign_extend));
    if (d.src_kind == Operand::Immediate)
        FUZZ_CHECK(d.write);
    else
        FUZZ_CHECK(d.reg < 16);
    if (d.high_byte_reg) FUZZ_CHECK(d.reg < 4 && d.reg_size == 1 && d.size == 1);
    // MOVZX/MOVSX widen; with a 66 prefix 0F B7/BF is a plain 16-bit load.
    if (d.zero_extend || d.sign_extend)
        FUZZ_CHECK(!d.write && d.reg_size >= d.size);
    else if (d.src_kind == Operand::Register)
        FUZZ_CHECK(d.reg_size == d.size);

    // The decoder reads nothing past the instruction.
    Decoded again{};
    FUZZ_CHECK(decode(bytes.data(), d.length, again) == Error::Ok && same(d, again));
    // Any shorter prefix says Truncated, never another error: the MMIO
    // emulator decodes the first 8 bytes and fetches all 15 only on Truncated.
    for (size_t k = 0; k < d.length; ++k) FUZZ_CHECK(decode(bytes.data(), k, again) == Error::Truncated);

    if (d.write) {
        const uint64_t v = store_value(d, reg);
        FUZZ_CHECK((v & ~mask(d.size)) == 0);
        if (d.src_kind == Operand::Register && !d.high_byte_reg) FUZZ_CHECK(v == (reg & mask(d.size)));
        return;
    }
    const uint64_t r = load_result(d, reg, mem & mask(d.size));
    switch (d.reg_size) {
    case 1: {
        const uint64_t lane = d.high_byte_reg ? 0xFF00ull : 0xFFull;
        FUZZ_CHECK((r & ~lane) == (reg & ~lane));
        break;
    }
    case 2: FUZZ_CHECK((r >> 16) == (reg >> 16)); break;
    case 4: FUZZ_CHECK((r >> 32) == 0); break;
    default: break;
    }
    if (!d.high_byte_reg) FUZZ_CHECK((r & mask(d.size)) == (mem & mask(d.size)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const uint64_t reg = in.ConsumeIntegral<uint64_t>();
    const uint64_t mem = in.ConsumeIntegral<uint64_t>();
    // An exact-size copy: ASan reports any read at or past bytes + len.
    std::vector<uint8_t> bytes = in.ConsumeRemainingBytes<uint8_t>();
    bytes.shrink_to_fit();
    Decoded d{};
    if (decode(bytes.data(), bytes.size(), d) == Error::Ok) check(d, bytes, reg, mem);
    return 0;
}
