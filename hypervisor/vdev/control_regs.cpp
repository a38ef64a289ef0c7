#include "control_regs.hpp"

namespace natsume::cregs {

namespace {
constexpr Result ok() { return {Verdict::Ok, nullptr}; }
constexpr Result gp(const char* why) { return {Verdict::Gp, why}; }
constexpr uint64_t CR3_PCID_MASK = 0xfff, CR3_NO_FLUSH = 1ull << 63;
}  // namespace

Result check_cr0(uint64_t value, bool in_64bit_code, bool paging_off, bool lme) {
    if (value >> 32) return gp("CR0 bits 63:32 are reserved");
    if ((value & cr0::PG) && !(value & cr0::PE)) return gp("CR0.PG set with CR0.PE clear");
    if ((value & cr0::NW) && !(value & cr0::CD)) return gp("CR0.NW set with CR0.CD clear");
    if (!(value & cr0::PE)) return {Verdict::Unsupported, "leaving protected mode needs unrestricted guest"};
    if (paging_off) {
        if (!(value & cr0::PG)) return ok();
        if (!lme) return {Verdict::Unsupported, "paging without long mode (EFER.LME clear) needs unrestricted guest"};
        return {Verdict::PagingOn, nullptr};
    }
    if (!(value & cr0::PG) && in_64bit_code) return gp("CR0.PG cleared in 64-bit mode");
    if (!(value & cr0::PG)) return {Verdict::PagingOff, nullptr};
    return ok();
}

Result check_cr4(uint64_t value, uint64_t old, uint64_t fixed1, uint64_t cr3) {
    if (value & cr4::VMXE) return gp("CR4.VMXE: nested VMX is not offered");
    if (value & ~fixed1) return gp("a CR4 bit this CPU reserves");
    if (!(value & cr4::PAE)) return gp("CR4.PAE cleared in IA-32e mode");
    if ((value ^ old) & cr4::LA57) return gp("CR4.LA57 changed in IA-32e mode");
    if ((value & cr4::PCIDE) && !(old & cr4::PCIDE) && (cr3 & CR3_PCID_MASK))
        return gp("CR4.PCIDE set while CR3[11:0] is not 0");
    return ok();
}

Result check_cr3(uint64_t value, uint8_t maxphyaddr, bool pcide, uint64_t* load) {
    uint64_t v        = pcide ? value & ~CR3_NO_FLUSH : value;
    uint64_t reserved = maxphyaddr >= 64 ? 0 : ~((1ull << maxphyaddr) - 1);
    if (v & reserved) return gp("CR3 bits above MAXPHYADDR are reserved");
    *load = v;
    return ok();
}

}  // namespace natsume::cregs
