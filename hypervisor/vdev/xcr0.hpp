// Which XSETBV a partition may execute (SDM Vol. 1 13.3 "Enabling the
// XSAVE feature set"; Vol. 2 XSETBV): only XCR0 (ECX = 0) exists, the
// instruction needs CR4.OSXSAVE (else #UD) and CPL 0, and the new XCR0 must
// be a combination the CPU enumerates in CPUID.(EAX=0DH,ECX=0):EDX:EAX with
// x87 set, SSE with AVX, both MPX bits together, the three AVX-512 bits
// together and with AVX, and both AMX bits together. Anything else is #GP.
#pragma once
#include <stdint.h>

namespace natsume::xcr0 {

inline constexpr uint64_t X87 = 1ull << 0, SSE = 1ull << 1, AVX = 1ull << 2;
inline constexpr uint64_t MPX    = (1ull << 3) | (1ull << 4);
inline constexpr uint64_t AVX512 = (1ull << 5) | (1ull << 6) | (1ull << 7);
inline constexpr uint64_t AMX    = (1ull << 17) | (1ull << 18);

enum class Verdict : uint8_t { Ok, Ud, Gp };

struct Request {
    uint32_t index;      // ECX
    uint64_t value;      // EDX:EAX
    bool osxsave;        // the guest's CR4.OSXSAVE (its own view)
    unsigned cpl;        // the guest's current privilege level
    uint64_t supported;  // CPUID.(EAX=0DH,ECX=0):EDX:EAX
};

// Why a value is refused, or nullptr when it is a valid XCR0.
const char* invalid_reason(uint64_t value, uint64_t supported);
Verdict check(const Request& r, const char** why);

}  // namespace natsume::xcr0
