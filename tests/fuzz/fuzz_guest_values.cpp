// The checks a guest's register values pass before they reach hardware in
// root mode: IA32_APIC_BASE (hypervisor/vdev/apic_base.cpp), XSETBV
// (xcr0.cpp), MOV to CR0/CR3/CR4 (control_regs.cpp) and LVT writes (lvt.cpp).
//
// Asserts, as the SDM states the rules: an accepted APIC base sets no
// reserved bit, keeps the base and BSP flag, stays enabled and never leaves
// x2APIC mode (Vol. 3A 10.12.5: EXTD without EN is invalid); an accepted
// XCR0 write is XCR0 at CPL 0 with CR4.OSXSAVE, keeps x87, enumerates every
// bit, and has AVX only with SSE, AVX-512 only whole and with AVX, MPX and
// AMX only whole (Vol. 1 13.3); CR0 accepted only with bits 63:32 clear,
// PG with PE, NW with CD, paging on; CR4 only within fixed1, without VMXE,
// with PAE, LA57 unchanged; a loaded CR3 has no bit at or above MAXPHYADDR
// (bit 63 dropped with PCIDE); an accepted LVT entry is masked, Fixed or a
// register without a delivery mode. Every refusal carries a reason. A Linux
// partition's virtual 16550 (vuart.cpp) under any sequence of port accesses:
// IER keeps 4 bits, MCR 5, LSR always says the transmitter is empty, IIR
// never names a cause but the empty transmitter, a byte is transmitted only
// by a data write outside DLAB and loopback, and only the written byte. A
// Linux partition's virtual CMOS clock (vrtc.cpp) under any index writes:
// the index stays below 0x80, the update-in-progress bit never reads set,
// and the time registers always decode back to the time they were read at.
#include <fuzzer/FuzzedDataProvider.h>

#include "drivers/x86/cmos.hpp"

#include "fuzz_util.hpp"
#include "hypervisor/lib/rtc_time.hpp"
#include "hypervisor/vdev/apic_base.hpp"
#include "hypervisor/vdev/control_regs.hpp"
#include "hypervisor/vdev/lvt.hpp"
#include "hypervisor/vdev/vrtc.hpp"
#include "hypervisor/vdev/vuart.hpp"
#include "hypervisor/vdev/xcr0.hpp"

using namespace natsume;

namespace {

void apic_base(FuzzedDataProvider& in) {
    const apic_msr::Caps caps{in.ConsumeIntegralInRange<uint8_t>(32, 52), in.ConsumeBool()};
    const uint64_t current = in.ConsumeIntegral<uint64_t>(), value = in.ConsumeIntegral<uint64_t>();
    const apic_msr::Verdict v = apic_msr::check(current, value, caps);
    FUZZ_CHECK(apic_msr::to_string(v) != nullptr);
    if (v != apic_msr::Verdict::Ok) return;
    FUZZ_CHECK((value & apic_msr::reserved_bits(caps)) == 0);
    const uint64_t base_mask = ((1ull << caps.maxphyaddr) - 1) & ~0xFFFull;
    FUZZ_CHECK(((value ^ current) & base_mask) == 0);
    FUZZ_CHECK(((value ^ current) & apic_msr::BSP) == 0);
    FUZZ_CHECK(value & apic_msr::GLOBAL_ENABLE);
    if (current & apic_msr::X2APIC_ENABLE) FUZZ_CHECK(value & apic_msr::X2APIC_ENABLE);
    if (value & apic_msr::X2APIC_ENABLE) FUZZ_CHECK(caps.x2apic);
}

bool whole(uint64_t v, uint64_t group) { return (v & group) == 0 || (v & group) == group; }

void xsetbv(FuzzedDataProvider& in) {
    xcr0::Request r{in.ConsumeIntegral<uint8_t>() < 192 ? 0u : in.ConsumeIntegral<uint32_t>(),
                    in.ConsumeIntegral<uint64_t>(), in.ConsumeBool(), in.ConsumeIntegralInRange<unsigned>(0, 3),
                    in.ConsumeIntegral<uint64_t>()};
    const char* why       = reinterpret_cast<const char*>(1);
    const xcr0::Verdict v = xcr0::check(r, &why);
    FUZZ_CHECK((v == xcr0::Verdict::Ok) == (why == nullptr));
    if (!r.osxsave) FUZZ_CHECK(v == xcr0::Verdict::Ud);
    if (v != xcr0::Verdict::Ok) return;
    const uint64_t x = r.value;
    FUZZ_CHECK(r.index == 0 && r.cpl == 0 && r.osxsave);
    FUZZ_CHECK((x & ~r.supported) == 0 && (x & xcr0::X87));
    FUZZ_CHECK(!(x & xcr0::AVX) || (x & xcr0::SSE));
    FUZZ_CHECK(whole(x, xcr0::MPX) && whole(x, xcr0::AVX512) && whole(x, xcr0::AMX));
    FUZZ_CHECK(!(x & xcr0::AVX512) || (x & xcr0::AVX));
}

void control_registers(FuzzedDataProvider& in) {
    using namespace cregs;
    const uint64_t value  = in.ConsumeIntegral<uint64_t>();
    const bool in_64bit   = in.ConsumeBool();
    const bool paging_off = in.ConsumeBool(), lme = in.ConsumeBool();
    const Result r0 = check_cr0(value, in_64bit, paging_off, lme);
    const bool accepted =
        r0.verdict == Verdict::Ok || r0.verdict == Verdict::PagingOff || r0.verdict == Verdict::PagingOn;
    FUZZ_CHECK(accepted == (r0.why == nullptr));
    if (accepted) {
        FUZZ_CHECK((value >> 32) == 0 && (value & cr0::PE));
        FUZZ_CHECK(!(value & cr0::NW) || (value & cr0::CD));
    }
    // Outside the paging-off window: paging stays on, or the window opens (never from 64-bit code).
    if (r0.verdict == Verdict::Ok && !paging_off) FUZZ_CHECK(value & cr0::PG);
    if (r0.verdict == Verdict::PagingOff) FUZZ_CHECK(!paging_off && !in_64bit && !(value & cr0::PG));
    // Inside it: paging stays off, or comes back only into long mode.
    if (r0.verdict == Verdict::Ok && paging_off) FUZZ_CHECK(!(value & cr0::PG));
    if (r0.verdict == Verdict::PagingOn) FUZZ_CHECK(paging_off && lme && (value & cr0::PG));
    const uint64_t old = in.ConsumeIntegral<uint64_t>(), fixed1 = in.ConsumeIntegral<uint64_t>();
    const uint64_t cr3 = in.ConsumeIntegral<uint64_t>();
    const Result r4    = check_cr4(value, old, fixed1, cr3);
    FUZZ_CHECK((r4.verdict == Verdict::Ok) == (r4.why == nullptr));
    if (r4.verdict == Verdict::Ok) {
        FUZZ_CHECK((value & ~fixed1) == 0 && !(value & cr4::VMXE) && (value & cr4::PAE));
        FUZZ_CHECK(((value ^ old) & cr4::LA57) == 0);
    }
    const uint8_t maxphyaddr = in.ConsumeIntegralInRange<uint8_t>(32, 64);
    const bool pcide         = in.ConsumeBool();
    uint64_t load            = 0xBAD;
    const Result r3          = check_cr3(cr3, maxphyaddr, pcide, &load);
    FUZZ_CHECK((r3.verdict == Verdict::Ok) == (r3.why == nullptr));
    if (r3.verdict == Verdict::Ok) {
        if (maxphyaddr < 64) FUZZ_CHECK((load >> maxphyaddr) == 0);
        FUZZ_CHECK(load == (pcide ? cr3 & ~(1ull << 63) : cr3));
    }
}

void lvt_entry(FuzzedDataProvider& in) {
    static const uint32_t REGS[] = {
        lvt::reg::offset(lvt::reg::Reg::LvtCmci),    lvt::reg::offset(lvt::reg::Reg::LvtTimer),
        lvt::reg::offset(lvt::reg::Reg::LvtThermal), lvt::reg::offset(lvt::reg::Reg::LvtPerf),
        lvt::reg::offset(lvt::reg::Reg::LvtLint0),   lvt::reg::offset(lvt::reg::Reg::LvtLint1),
        lvt::reg::offset(lvt::reg::Reg::LvtError)};
    const uint32_t offset =
        in.ConsumeBool() ? REGS[in.ConsumeIntegralInRange<size_t>(0, 6)] : in.ConsumeIntegral<uint16_t>() & 0xFF0u;
    const uint32_t value = in.ConsumeIntegral<uint32_t>();
    const char* why      = lvt::refuse_reason(offset, value);
    if (why != nullptr) {
        FUZZ_CHECK(why[0] != '\0' && lvt::has_delivery_mode(offset) && !(value & lvt::reg::lvt::MASKED));
        return;
    }
    const uint32_t mode = (value & lvt::reg::lvt::DELIVERY_MASK) >> lvt::reg::lvt::DELIVERY_SHIFT;
    FUZZ_CHECK(!lvt::has_delivery_mode(offset) || (value & lvt::reg::lvt::MASKED) || mode == 0);
}

}  // namespace

static void uart(FuzzedDataProvider& in) {
    namespace u = drivers::uart16550;
    vuart::Uart state;
    while (in.remaining_bytes() >= 2) {
        const auto offset        = static_cast<uint16_t>(in.ConsumeIntegral<uint8_t>() % 9);  // 8: outside the ports
        const auto value         = in.ConsumeIntegral<uint8_t>();
        const vuart::Uart before = state;
        if (in.ConsumeBool()) {
            const uint8_t r = vuart::read(state, offset);
            if (offset == 5) FUZZ_CHECK(r == (u::LSR_THRE | u::LSR_TEMT));
            if (offset == 2) FUZZ_CHECK((r & 0x0f) == u::IIR_NO_INT || (r & 0x0f) == u::IIR_THRE);
            continue;
        }
        const vuart::WriteResult w = vuart::write(state, offset, value);
        const bool data_write      = offset == 0 && !(before.lcr & u::LCR_DLAB) && !(before.mcr & u::MCR_LOOP);
        FUZZ_CHECK(w.transmit == data_write);
        if (w.transmit) FUZZ_CHECK(w.byte == value);
        FUZZ_CHECK((state.ier & ~u::IER_MASK) == 0 && (state.mcr & ~u::MCR_MASK) == 0);
    }
}

static void clock(FuzzedDataProvider& in) {
    namespace cmos                 = drivers::cmos;
    constexpr uint64_t LAST_SECOND = 253402300799;  // 9999-12-31 23:59:59, the clock's decodable end
    const uint64_t now             = in.ConsumeIntegralInRange<uint64_t>(0, LAST_SECOND);
    vrtc::Clock c{};
    auto at = [&](uint8_t index) {
        vrtc::select(c, index);
        return vrtc::read(c, now);
    };
    while (in.remaining_bytes() >= 1) {
        const uint8_t value = in.ConsumeIntegral<uint8_t>();
        const uint8_t r     = at(value);
        FUZZ_CHECK(c.index < 0x80);
        if (c.index == cmos::STATUS_A) FUZZ_CHECK(!(r & cmos::STATUS_A_UIP));
    }
    rtc_time::Civil t{};
    FUZZ_CHECK(rtc_time::decode({at(cmos::SECONDS), at(cmos::MINUTES), at(cmos::HOURS), at(cmos::DAY), at(cmos::MONTH),
                                 at(cmos::YEAR), at(cmos::CENTURY), at(cmos::STATUS_B)},
                                t));
    uint64_t back = 0;
    FUZZ_CHECK(rtc_time::to_epoch(t, back) && back == now);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    if (size && data[0] >= 0xe0 && data[0] < 0xf0) {
        (void)in.ConsumeIntegral<uint8_t>();
        clock(in);
        return 0;
    }
    if (size && data[0] >= 0xf0) {
        (void)in.ConsumeIntegral<uint8_t>();
        uart(in);
        return 0;
    }
    switch (in.ConsumeIntegral<uint8_t>() & 3) {
    case 0: apic_base(in); break;
    case 1: xsetbv(in); break;
    case 2: control_registers(in); break;
    default: lvt_entry(in); break;
    }
    return 0;
}
