// The checks every guest value passes before the hypervisor executes it:
// IA32_APIC_BASE, XCR0, LVT delivery modes, CR0/CR3/CR4, and the rate limit
// on what a partition may make the hypervisor print.
#include <catch2/catch.hpp>
#include <string>

#include "drivers/x86/msr.hpp"

#include "hypervisor/lib/rate_limit.hpp"
#include "hypervisor/vdev/apic_base.hpp"
#include "hypervisor/vdev/control_regs.hpp"
#include "hypervisor/vdev/linux_cpu.hpp"
#include "hypervisor/vdev/lvt.hpp"
#include "hypervisor/vdev/xcr0.hpp"

using namespace natsume;

namespace {
constexpr apic_msr::Caps NEHALEM{36, false}, SKYLAKE{46, true};
constexpr uint64_t XAPIC  = 0xfee00000 | apic_msr::GLOBAL_ENABLE;  // an AP in xAPIC mode
constexpr uint64_t X2APIC = XAPIC | apic_msr::X2APIC_ENABLE;
}  // namespace

TEST_CASE("APIC base: the x2APIC switch is the one change a partition may make", "[apic_base]") {
    using apic_msr::Verdict;
    CHECK(apic_msr::check(XAPIC, XAPIC, NEHALEM) == Verdict::Ok);  // writing back what is there
    CHECK(apic_msr::check(XAPIC, X2APIC, SKYLAKE) == Verdict::Ok);
    CHECK(apic_msr::check(X2APIC, X2APIC, SKYLAKE) == Verdict::Ok);
    // The regression of the hostile-partition report: reserved bit 9 used to reach WRMSR.
    CHECK(apic_msr::check(XAPIC, XAPIC | (1u << 9), NEHALEM) == Verdict::Reserved);
    CHECK(apic_msr::check(XAPIC, XAPIC | 0x1, SKYLAKE) == Verdict::Reserved);
    CHECK(apic_msr::check(XAPIC, XAPIC | (1ull << 36), NEHALEM) == Verdict::Reserved);  // at MAXPHYADDR
    CHECK(apic_msr::check(XAPIC, XAPIC | (1ull << 36), SKYLAKE) == Verdict::Moved);     // below it: a move
    CHECK(apic_msr::check(XAPIC, XAPIC | (1ull << 63), SKYLAKE) == Verdict::Reserved);
    CHECK(apic_msr::check(XAPIC, X2APIC, NEHALEM) == Verdict::Reserved);  // no x2APIC on this CPU
    CHECK(apic_msr::check(XAPIC, XAPIC + 0x1000, SKYLAKE) == Verdict::Moved);
    CHECK(apic_msr::check(XAPIC, XAPIC | apic_msr::BSP, SKYLAKE) == Verdict::Bsp);
    CHECK(apic_msr::check(XAPIC | apic_msr::BSP, XAPIC, SKYLAKE) == Verdict::Bsp);
    CHECK(apic_msr::check(XAPIC, 0xfee00000, SKYLAKE) == Verdict::Disabled);
    CHECK(apic_msr::check(X2APIC, XAPIC, SKYLAKE) == Verdict::LeavesX2apic);  // SDM 10.12.5: #GP
    CHECK(apic_msr::check(X2APIC, 0xfee00000, SKYLAKE) == Verdict::LeavesX2apic);
    CHECK(apic_msr::check(XAPIC, 0xfee00000 | apic_msr::X2APIC_ENABLE, SKYLAKE) == Verdict::Disabled);  // invalid state
    for (auto v :
         {Verdict::Ok, Verdict::Reserved, Verdict::Moved, Verdict::Bsp, Verdict::Disabled, Verdict::LeavesX2apic})
        CHECK(std::string(apic_msr::to_string(v)).size() > 5);
}

TEST_CASE("APIC base: reserved bits follow MAXPHYADDR and the x2APIC feature", "[apic_base]") {
    CHECK(apic_msr::reserved_bits(NEHALEM) == ~(0xffffff000ull | 0x900));
    CHECK(apic_msr::reserved_bits(SKYLAKE) == ~(0x3ffffffff000ull | 0xd00));
    CHECK(apic_msr::reserved_bits({64, true}) == (0xfffull & ~0xd00ull));
}

TEST_CASE("XSETBV: XCR0 combinations of the SDM, CR4.OSXSAVE, CPL and index", "[xcr0]") {
    const uint64_t avx512_cpu = 0xe7;  // x87 SSE AVX + AVX-512
    auto verdict              = [&](uint64_t value, uint32_t index = 0, bool osxsave = true, unsigned cpl = 0) {
        const char* why = nullptr;
        xcr0::Verdict v = xcr0::check({index, value, osxsave, cpl, avx512_cpu}, &why);
        CHECK((v == xcr0::Verdict::Ok) == (why == nullptr));
        return v;
    };
    CHECK(verdict(0x1) == xcr0::Verdict::Ok);
    CHECK(verdict(0x3) == xcr0::Verdict::Ok);
    CHECK(verdict(0x7) == xcr0::Verdict::Ok);
    CHECK(verdict(0xe7) == xcr0::Verdict::Ok);
    CHECK(verdict(0x0) == xcr0::Verdict::Gp);  // x87 must stay
    CHECK(verdict(0x2) == xcr0::Verdict::Gp);
    CHECK(verdict(0x5) == xcr0::Verdict::Gp);     // AVX without SSE
    CHECK(verdict(0x67) == xcr0::Verdict::Gp);    // two of three AVX-512 bits
    CHECK(verdict(0xe3) == xcr0::Verdict::Gp);    // AVX-512 without AVX
    CHECK(verdict(0x1f) == xcr0::Verdict::Gp);    // MPX: the CPU does not enumerate it
    CHECK(verdict(0x3, 1) == xcr0::Verdict::Gp);  // XCR1 is read-only
    CHECK(verdict(0x3, 0, false) == xcr0::Verdict::Ud);
    CHECK(verdict(0x3, 0, true, 3) == xcr0::Verdict::Gp);
    CHECK(xcr0::invalid_reason(0x1f, 0x1f) == nullptr);               // MPX pair on a CPU that has it
    CHECK(xcr0::invalid_reason(0x0f, 0x1f) != nullptr);               // half of the pair
    CHECK(xcr0::invalid_reason((1ull << 17) | 1, ~0ull) != nullptr);  // half of AMX
}

TEST_CASE("LVT: only fixed delivery, or masked entries, in registers with a delivery mode", "[lvt]") {
    for (uint32_t off : {lvt::reg::offset(lvt::reg::Reg::LvtCmci), lvt::reg::offset(lvt::reg::Reg::LvtThermal),
                         lvt::reg::offset(lvt::reg::Reg::LvtPerf), lvt::reg::offset(lvt::reg::Reg::LvtLint0),
                         lvt::reg::offset(lvt::reg::Reg::LvtLint1)}) {
        CHECK(lvt::refuse_reason(off, 0x40) == nullptr);  // fixed, vector 0x40
        for (uint32_t mode : {1u, 2u, 3u, 4u, 5u, 6u, 7u})
            CHECK(lvt::refuse_reason(off, 0x40 | (mode << 8)) != nullptr);
        CHECK(lvt::refuse_reason(off, (7u << 8) | lvt::reg::lvt::MASKED) == nullptr);  // Linux: LINT0 masked ExtINT
    }
    // The timer and error entries have no delivery mode field.
    CHECK(lvt::refuse_reason(lvt::reg::offset(lvt::reg::Reg::LvtTimer), 0x400 | 0x20) == nullptr);
    CHECK(lvt::refuse_reason(lvt::reg::offset(lvt::reg::Reg::LvtError), 0x400 | 0x20) == nullptr);
    CHECK(lvt::refuse_reason(0x80, 0x400) == nullptr);  // TPR: not an LVT entry
}

TEST_CASE("CR0: architectural #GP cases, and the paging-off window only from compatibility mode", "[cregs]") {
    using cregs::Verdict;
    const uint64_t ok = 0x80050033;  // PG WP NE ET MP PE
    CHECK(cregs::check_cr0(ok, true).verdict == Verdict::Ok);
    CHECK(cregs::check_cr0(ok | (1ull << 32), true).verdict == Verdict::Gp);
    CHECK(cregs::check_cr0(ok & ~cregs::cr0::PE, true).verdict == Verdict::Gp);  // PG without PE
    CHECK(cregs::check_cr0(ok | cregs::cr0::NW, true).verdict == Verdict::Gp);   // NW without CD
    CHECK(cregs::check_cr0(ok | cregs::cr0::NW | cregs::cr0::CD, true).verdict == Verdict::Ok);
    CHECK(cregs::check_cr0(ok & ~cregs::cr0::PG, true).verdict == Verdict::Gp);  // from 64-bit code
    CHECK(cregs::check_cr0(ok & ~cregs::cr0::PG, false).verdict == Verdict::PagingOff);
    CHECK(cregs::check_cr0(0x11, false).verdict == Verdict::PagingOff);    // PE ET: Linux's trampoline_compat
    CHECK(cregs::check_cr0(0x10, false).verdict == Verdict::Unsupported);  // PE clear: real mode
    CHECK(cregs::check_cr0(ok, false).why == nullptr);
}

TEST_CASE("CR0 inside the paging-off window: stays off, returns to long mode, or stops", "[cregs]") {
    using cregs::Verdict;
    const uint64_t on = 0x80000011, off = 0x11;                              // Linux's CR0_STATE with and without PG
    CHECK(cregs::check_cr0(off, false, true, true).verdict == Verdict::Ok);  // still off
    CHECK(cregs::check_cr0(on, false, true, true).verdict == Verdict::PagingOn);
    CHECK(cregs::check_cr0(on, false, true, true).why == nullptr);
    // Paging on without EFER.LME would be 32-bit paging: not in IA-32e mode.
    CHECK(cregs::check_cr0(on, false, true, false).verdict == Verdict::Unsupported);
    CHECK(cregs::check_cr0(0x10, false, true, true).verdict == Verdict::Unsupported);  // PE cleared
    CHECK(cregs::check_cr0(on | (1ull << 40), false, true, true).verdict == Verdict::Gp);
    CHECK(cregs::check_cr0(cregs::cr0::PG | 0x10, false, true, true).verdict == Verdict::Gp);  // PG without PE
}

TEST_CASE("CR4: VMXE, reserved bits, PAE, LA57 and PCIDE", "[cregs]") {
    using cregs::Verdict;
    const uint64_t fixed1 = 0x3727ff, old = 0x6a0;  // a Skylake-like FIXED1; PAE OSFXSR OSXMMEXCPT PGE
    CHECK(cregs::check_cr4(old | cregs::cr4::OSXSAVE, old, fixed1, 0).verdict == Verdict::Ok);
    CHECK(cregs::check_cr4(old | cregs::cr4::VMXE, old, fixed1, 0).verdict == Verdict::Gp);
    CHECK(cregs::check_cr4(old | (1ull << 31), old, fixed1, 0).verdict == Verdict::Gp);
    CHECK(cregs::check_cr4(old | (1ull << 63), old, fixed1, 0).verdict == Verdict::Gp);
    CHECK(cregs::check_cr4(old & ~cregs::cr4::PAE, old, fixed1, 0).verdict == Verdict::Gp);
    CHECK(cregs::check_cr4(old | cregs::cr4::LA57, old, fixed1 | cregs::cr4::LA57, 0).verdict == Verdict::Gp);
    CHECK(cregs::check_cr4(old | cregs::cr4::PCIDE, old, fixed1, 0x1000).verdict == Verdict::Ok);
    CHECK(cregs::check_cr4(old | cregs::cr4::PCIDE, old, fixed1, 0x1001).verdict == Verdict::Gp);
}

TEST_CASE("CR3: bits above MAXPHYADDR, and the PCID no-flush bit", "[cregs]") {
    uint64_t load = 0;
    CHECK(cregs::check_cr3(0x1000, 36, false, &load).verdict == cregs::Verdict::Ok);
    CHECK(load == 0x1000);
    CHECK(cregs::check_cr3(1ull << 36, 36, false, &load).verdict == cregs::Verdict::Gp);
    CHECK(cregs::check_cr3((1ull << 63) | 0x2001, 46, false, &load).verdict == cregs::Verdict::Gp);
    CHECK(cregs::check_cr3((1ull << 63) | 0x2001, 46, true, &load).verdict == cregs::Verdict::Ok);
    CHECK(load == 0x2001);
}

TEST_CASE("rate limit: a burst, then tokens at the configured rate, never more than the burst", "[rate]") {
    const rate::Limit l{4, 100};  // 4 saved, one per 100 ticks
    rate::Bucket b{};
    for (int i = 0; i < 4; i++) CHECK(rate::take(b, l, 1000, 1));
    CHECK_FALSE(rate::take(b, l, 1000, 1));
    CHECK_FALSE(rate::take(b, l, 1099, 1));
    CHECK(rate::take(b, l, 1100, 1));
    CHECK_FALSE(rate::take(b, l, 1150, 1));
    CHECK(rate::take(b, l, 1200, 1));       // the remainder was kept
    CHECK_FALSE(rate::take(b, l, 500, 1));  // time going backwards refills nothing
    CHECK(rate::take(b, l, 1000000, 4));    // a long quiet period saves up the burst only
    CHECK_FALSE(rate::take(b, l, 1000000, 1));
    CHECK_FALSE(rate::take(b, l, 2000000, 5));  // more than the burst is never granted
    CHECK(rate::ticks_per_token(10000, 4) == 2500000);
    CHECK(rate::ticks_per_token(0, 4) == 1);
    CHECK(rate::ticks_per_token(1, 0) == 1000);
}

TEST_CASE("linux_cpu: the MSRs a Linux partition reads as fixed values", "[linux_cpu]") {
    namespace msr = drivers::msr;
    uint64_t v    = 1;
    CHECK(linux_cpu::read_msr(msr::IA32_TSC_ADJUST, v));
    CHECK(v == 0);  // no offset, and never the hypervisor's
    v = 1;
    CHECK(linux_cpu::read_msr(msr::IA32_BIOS_SIGN_ID, v));
    CHECK(v == 0);
    CHECK_FALSE(linux_cpu::read_msr(msr::IA32_FEATURE_CONTROL, v));      // the hypervisor's: #GP for Linux
    CHECK_FALSE(linux_cpu::write_msr_dropped(msr::IA32_TSC_ADJUST, 5));  // a write is refused
}
