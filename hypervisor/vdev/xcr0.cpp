#include "xcr0.hpp"

namespace natsume::xcr0 {

namespace {
constexpr bool all_or_none(uint64_t value, uint64_t group) { return (value & group) == 0 || (value & group) == group; }
}  // namespace

const char* invalid_reason(uint64_t value, uint64_t supported) {
    if (value & ~supported) return "a state component the CPU does not enumerate";
    if (!(value & X87)) return "x87 state (bit 0) must stay enabled";
    if ((value & AVX) && !(value & SSE)) return "AVX state needs SSE state";
    if (!all_or_none(value, MPX)) return "the two MPX components go together";
    if (!all_or_none(value, AVX512)) return "the three AVX-512 components go together";
    if ((value & AVX512) && !(value & AVX)) return "AVX-512 state needs AVX state";
    if (!all_or_none(value, AMX)) return "the two AMX components go together";
    return nullptr;
}

Verdict check(const Request& r, const char** why) {
    *why = nullptr;
    if (!r.osxsave) {
        *why = "CR4.OSXSAVE is clear";
        return Verdict::Ud;
    }
    if (r.cpl != 0) {
        *why = "XSETBV at CPL > 0";
        return Verdict::Gp;
    }
    if (r.index != 0) {
        *why = "only XCR0 can be written";
        return Verdict::Gp;
    }
    if ((*why = invalid_reason(r.value, r.supported))) return Verdict::Gp;
    return Verdict::Ok;
}

}  // namespace natsume::xcr0
