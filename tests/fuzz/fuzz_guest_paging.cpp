// The guest page walker (hypervisor/lib/guest_paging.cpp) on fake guest RAM,
// and the MMIO path it serves: fetch the 15 bytes at a guest RIP and decode
// them (hypervisor/lib/insn_decode.cpp).
//
// Input: guest RAM (guest-physical 0 upwards), then (taken from the end) CR3,
// the linear address and MAXPHYADDR. Asserts: every read is 8-byte aligned;
// a successful walk keeps the page offset, has a 4 KiB/2 MiB/1 GiB page and
// a gpa below 2^MAXPHYADDR, agrees with translate, and fails on
// non-canonical addresses; fetch copies at most len bytes, all of them on
// success, each equal to RAM at its own translation; the decoder accepts
// nothing longer than what was fetched.
#include <fuzzer/FuzzedDataProvider.h>
#include <vector>

#include "fuzz_util.hpp"
#include "hypervisor/lib/guest_paging.hpp"
#include "hypervisor/lib/insn_decode.hpp"

using namespace natsume;

namespace {

struct Ram {
    std::vector<uint8_t> bytes;
    FUZZ_MODEL static bool read64(void* ctx, uint64_t gpa, uint64_t& v) {
        const auto& r = static_cast<const Ram*>(ctx)->bytes;
        FUZZ_CHECK(gpa % 8 == 0);
        if (gpa > r.size() || r.size() - gpa < 8) return false;
        std::memcpy(&v, r.data() + gpa, 8);
        return true;
    }
};

bool canonical(uint64_t linear) {
    const uint64_t top = linear >> 47;
    return top == 0 || top == 0x1FFFF;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const uint64_t cr3       = in.ConsumeIntegral<uint64_t>();
    const uint64_t linear    = in.ConsumeIntegral<uint64_t>();
    const uint8_t maxphyaddr = in.ConsumeIntegralInRange<uint8_t>(32, 52);
    Ram ram{in.ConsumeRemainingBytes<uint8_t>()};
    const gpt::PhysRead mem{&Ram::read64, &ram};

    gpt::Walk w{};
    const gpt::Error e = gpt::walk(cr3, linear, mem, w, maxphyaddr);
    if (!canonical(linear)) FUZZ_CHECK(e == gpt::Error::NonCanonical);
    uint64_t gpa = 0;
    FUZZ_CHECK(gpt::translate(cr3, linear, mem, gpa, maxphyaddr) == e);
    if (e == gpt::Error::Ok) {
        FUZZ_CHECK(w.page_size == (1ull << 12) || w.page_size == (1ull << 21) || w.page_size == (1ull << 30));
        FUZZ_CHECK((w.gpa & (w.page_size - 1)) == (linear & (w.page_size - 1)));
        FUZZ_CHECK(maxphyaddr >= 52 || (w.gpa >> maxphyaddr) == 0);
        FUZZ_CHECK(gpa == w.gpa);
    }

    // The instruction fetch at RIP = linear, as after an MMIO EPT violation.
    uint8_t bytes[insn::MAX_LENGTH];
    size_t fetched      = 0;
    const gpt::Error fe = gpt::fetch(cr3, linear, bytes, sizeof bytes, mem, fetched, maxphyaddr);
    FUZZ_CHECK(fetched <= sizeof bytes);
    if (fe == gpt::Error::Ok) FUZZ_CHECK(fetched == sizeof bytes);
    for (size_t i = 0; i < fetched; ++i) {
        uint64_t at = 0;
        FUZZ_CHECK(gpt::translate(cr3, linear + i, mem, at, maxphyaddr) == gpt::Error::Ok);
        FUZZ_CHECK(at < ram.bytes.size() && bytes[i] == ram.bytes[at]);
    }
    std::vector<uint8_t> exact(bytes, bytes + fetched);  // ASan: nothing read past `fetched`
    insn::Decoded d{};
    if (insn::decode(exact.data(), exact.size(), d) == insn::Error::Ok) FUZZ_CHECK(d.length <= fetched);
    return 0;
}
