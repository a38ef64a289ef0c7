// VT-d encodings and table builders, checked against the specification's
// bit layouts and against a fake memory that records every store.
#include <array>
#include <catch2/catch.hpp>
#include <deque>
#include <string>
#include <vector>

#include "hypervisor/arch/x86/vtd/caps.hpp"
#include "hypervisor/arch/x86/vtd/domain.hpp"
#include "hypervisor/arch/x86/vtd/erratum.hpp"
#include "hypervisor/arch/x86/vtd/faults.hpp"
#include "hypervisor/arch/x86/vtd/invalidation.hpp"
#include "hypervisor/arch/x86/vtd/irte.hpp"
#include "hypervisor/arch/x86/vtd/regs.hpp"
#include "hypervisor/arch/x86/vtd/tables.hpp"

using namespace natsume::x86;
using namespace natsume::x86::vtd;

namespace {

class FakeMemory {
public:
    static constexpr uint64_t BASE = 0x5000'0000;
    uint64_t alloc_table() {
        tables_.emplace_back();
        tables_.back().fill(0);
        return BASE + (tables_.size() - 1) * PAGE_4K;
    }
    uint64_t* table(uint64_t phys) {
        REQUIRE(phys >= BASE);
        size_t i = (phys - BASE) / PAGE_4K;
        REQUIRE(i < tables_.size());
        return tables_[i].data();
    }
    void store(uint64_t* slot, uint64_t v) {
        stores.push_back(v);
        *slot = v;
    }
    size_t tables_used() const { return tables_.size(); }
    std::vector<uint64_t> stores;

private:
    std::deque<std::array<uint64_t, 512>> tables_;
};

// Walks the tables the way the IOMMU does for `levels` levels from `top`.
bool hw_walk(FakeMemory& m, uint64_t top, unsigned levels, uint64_t iova, uint64_t& hpa, bool& writable) {
    uint64_t table = top;
    for (unsigned level = levels; level-- > 0;) {
        SlEntry e{m.table(table)[(iova >> (12 + 9 * level)) & 511]};
        if (!e.present()) return false;
        if (level == 0 || e.large()) {
            uint64_t page = PAGE_4K << (9 * level);
            hpa           = (e.address() & ~(page - 1)) | (iova & (page - 1));
            writable      = (e.raw() & SlEntry::WRITE) != 0;
            return true;
        }
        table = e.address();
    }
    return false;
}

}  // namespace

TEST_CASE("capability decode: QEMU's 3-level and 48-bit units", "[vtd][caps]") {
    // QEMU 7.2 intel-iommu CAP: ND=2 (16-bit DIDs are 6 here), SAGAW bit 1,
    // MGAW 39, FRO 0x22 (offset 0x220), NFR 0 (1 record), SLLPS 2M|1G, PSI.
    uint64_t raw =
        2 | uint64_t{0x2} << 8 | uint64_t{38} << 16 | uint64_t{0x22} << 24 | uint64_t{3} << 34 | uint64_t{1} << 39;
    Cap cap{raw};
    CHECK(cap.domain_id_bits() == 8);
    CHECK(cap.supports_levels(3));
    CHECK_FALSE(cap.supports_levels(4));
    CHECK(cap.mgaw() == 39);
    CHECK(cap.fault_recording_offset() == 0x220);
    CHECK(cap.fault_recording_count() == 1);
    CHECK(cap.large_2m());
    CHECK(cap.large_1g());
    CHECK_FALSE(cap.caching_mode());
    CHECK_FALSE(cap.rwbf());
    CHECK(levels_for(cap, 39) == 3);
    CHECK(levels_for(cap, 40) == 0);

    Cap wide{raw | uint64_t{0x4} << 8 | uint64_t{1} << 7 | uint64_t{7} << 40};
    CHECK(wide.supports_levels(4));
    CHECK(wide.caching_mode());
    CHECK(wide.fault_recording_count() == 8);
    CHECK(levels_for(wide, 39) == 3);
    CHECK(levels_for(wide, 48) == 4);
    CHECK(context_aw(3) == 1);
    CHECK(context_aw(4) == 2);
    CHECK(address_bits(4) == 48);
}

TEST_CASE("extended capability decode", "[vtd][caps]") {
    Ecap e{1u << 1 | 1u << 3 | uint64_t{0x20} << 8};
    CHECK_FALSE(e.coherent());
    CHECK(e.queued_invalidation());
    CHECK(e.interrupt_remapping());
    CHECK_FALSE(e.extended_interrupt_mode());
    CHECK(e.iotlb_offset() == 0x200);
    Ecap all{0x1f};
    CHECK(all.coherent());
    CHECK(all.extended_interrupt_mode());
}

TEST_CASE("GCMD is written as current status with one bit changed", "[vtd][regs]") {
    // One-shot bits reported in GSTS (RTPS, IRTPS) must not be re-issued.
    uint32_t gsts = gcmd::TE | gcmd::SRTP | gcmd::QIE | gcmd::SIRTP;
    CHECK(gcmd_value(gsts, gcmd::IRE, true) == (gcmd::TE | gcmd::QIE | gcmd::IRE));
    CHECK(gcmd_value(gsts, gcmd::TE, false) == gcmd::QIE);
    CHECK(gcmd_value(0, gcmd::SRTP, true) == gcmd::SRTP);
    CHECK(fsts::fault_index(0x0300 | fsts::PPF) == 3);
}

TEST_CASE("root and context entries", "[vtd][tables]") {
    Entry128 r = root_entry(0x12345000);
    CHECK(r.lo == 0x12345001);
    CHECK(r.hi == 0);
    Entry128 c = context_entry(0xabc000, 3, 7);
    CHECK(c.lo == (0xabc000 | 1));
    CHECK(c.hi == (1 | 7 << 8));
    CHECK(context_domain(c) == 7);
    CHECK(context_levels(c) == 3);
    Entry128 c4 = context_entry(0xabc000, 4, 0x1ff);
    CHECK((c4.hi & 7) == 2);
    CHECK(context_domain(c4) == 0x1ff);
}

TEST_CASE("second-level entry format", "[vtd][tables]") {
    CHECK(SlEntry::table(0x5000).raw() == (0x5000 | 3));
    Attr rw{true, true, false, false, Cache::WB};
    Attr ro{true, false, false, false, Cache::WB};
    CHECK(SlEntry::leaf(0x200000, rw, true).raw() == (0x200000 | 3 | 0x80));
    CHECK(SlEntry::leaf(0x7000, ro, false).raw() == (0x7000 | 1));
    CHECK(SlEntry::leaf(0x7000, ro, false).attr() == ro);
    CHECK(SlEntry::valid(Attr{false, true, false, false, Cache::WB}));  // write-only DMA is fine
    CHECK_FALSE(SlEntry::valid(Attr{false, false, false, false, Cache::WB}));
    CHECK_FALSE(SlEntry::valid(Attr{true, false, true, false, Cache::WB}));
    CHECK_FALSE(SlEntry::valid(Attr{true, false, false, false, Cache::UC}));
    CHECK_FALSE(SlEntry{0x7000}.present());
}

TEST_CASE("3-level domain: the context pointer is the table under root slot 0", "[vtd][domain]") {
    FakeMemory m;
    Domain<FakeMemory> d(m, 5);
    REQUIRE(d.init(3) == MapError::Ok);
    CHECK(m.tables_used() == 2);
    uint64_t top = d.slptptr();
    CHECK(top == FakeMemory::BASE + PAGE_4K);  // the second table, not the 4-level root
    CHECK(m.table(FakeMemory::BASE)[0] == SlEntry::table(top).raw());
    Attr rw{true, true, false, false, Cache::WB};
    REQUIRE(d.map(0x4000000, 0x1234000, 0x1000, rw) == MapError::Ok);
    REQUIRE(d.map(0x8000000, 0x1000000, PAGE_2M, rw) == MapError::Ok);
    uint64_t hpa = 0;
    bool w       = false;
    REQUIRE(hw_walk(m, top, 3, 0x4000abc, hpa, w));
    CHECK(hpa == 0x1234abc);
    CHECK(w);
    REQUIRE(hw_walk(m, top, 3, 0x8012345, hpa, w));
    CHECK(hpa == 0x1012345);
    CHECK_FALSE(hw_walk(m, top, 3, 0x5000000, hpa, w));
    // Beyond 39 bits a 3-level unit cannot translate: refused up front.
    CHECK(d.map(uint64_t{1} << 39, 0x1000, 0x1000, rw) == MapError::OutOfRange);
    CHECK(d.map((uint64_t{1} << 39) - 0x1000, 0x1000, 0x2000, rw) == MapError::OutOfRange);
}

TEST_CASE("4-level domain: the context pointer is the root", "[vtd][domain]") {
    FakeMemory m;
    Domain<FakeMemory> d(m, 1);
    REQUIRE(d.init(4) == MapError::Ok);
    CHECK(m.tables_used() == 1);
    CHECK(d.slptptr() == FakeMemory::BASE);
    Attr ro{true, false, false, false, Cache::WB};
    REQUIRE(d.map(uint64_t{1} << 40, 0x3000, 0x1000, ro) == MapError::Ok);
    uint64_t hpa = 0;
    bool w       = true;
    REQUIRE(hw_walk(m, d.slptptr(), 4, (uint64_t{1} << 40) + 8, hpa, w));
    CHECK(hpa == 0x3008);
    CHECK_FALSE(w);
    Attr got{};
    REQUIRE(d.translate((uint64_t{1} << 40) + 8, hpa, got));
    CHECK(got == ro);
    CHECK(d.map(uint64_t{1} << 48, 0x3000, 0x1000, ro) == MapError::OutOfRange);
}

TEST_CASE("domain: 2 MiB pages only when allowed; each entry one store", "[vtd][domain]") {
    FakeMemory m;
    Domain<FakeMemory> d(m, 1);
    REQUIRE(d.init(3) == MapError::Ok);
    d.allow_large_pages(false);
    Attr rw{true, true, false, false, Cache::WB};
    size_t before = m.stores.size();
    REQUIRE(d.map(0x200000, 0x400000, PAGE_2M, rw) == MapError::Ok);
    // One PD entry linking a page table, then 512 leaf stores.
    CHECK(m.stores.size() - before == 1 + 1 + 512);
    for (size_t i = m.stores.size() - 512; i < m.stores.size(); i++) CHECK((m.stores[i] & SlEntry::LARGE) == 0);
    Domain<FakeMemory> bad(m, 2);
    CHECK(bad.init(5) == MapError::BadAttr);
    CHECK(bad.map(0, 0, 0x1000, rw) == MapError::NoRoot);
}

TEST_CASE("IRTE: remapped format with source-id validation", "[vtd][irte]") {
    IrteSpec s{0x41, 1, false, false, false, 0x0020};
    Entry128 e = make_irte(s);
    CHECK((e.lo & 1) == 1);                    // present
    CHECK(((e.lo >> 16) & 0xff) == 0x41);      // vector
    CHECK(((e.lo >> 40) & 0xff) == 1);         // xAPIC destination in DST[15:8]
    CHECK((e.lo & (1u << 2)) == 0);            // physical destination
    CHECK((e.lo & (1u << 4)) == 0);            // edge
    CHECK((e.lo & (uint64_t{1} << 15)) == 0);  // IM = 0: remapped, not posted
    CHECK((e.hi & 0xffff) == 0x0020);          // SID
    CHECK(((e.hi >> 16) & 3) == 0);            // SQ = 0: all 16 bits compared
    CHECK(((e.hi >> 18) & 3) == 1);            // SVT = 1
    CHECK(irte_vector(e) == 0x41);
    CHECK(irte_source_id(e) == 0x20);

    IrteSpec x2{0x90, 0x12345678, true, true, true, 0x0100};
    Entry128 f = make_irte(x2);
    CHECK((f.lo >> 32) == 0x12345678);
    CHECK((f.lo & (1u << 4)) != 0);
    CHECK((f.lo & (1u << 2)) != 0);
}

TEST_CASE("remappable MSI and IOAPIC encodings", "[vtd][irte]") {
    MsiMessage m = remappable_msi(5);
    CHECK(m.address == (0xfee00000u | 1u << 4 | 5u << 5));
    CHECK(m.data == 0);
    CHECK(msi_index(m.address) == 5);
    MsiMessage hi = remappable_msi(0x8001);
    CHECK((hi.address & (1u << 2)) != 0);
    CHECK(((hi.address >> 5) & 0x7fff) == 1);
    CHECK(msi_index(hi.address) == 0x8001);
    CHECK(msi_index(0xfee01000) == -1);

    uint64_t rte = remappable_rte(9, 0x51, true, true, false);
    CHECK((rte >> 49) == 9);
    CHECK((rte & (uint64_t{1} << 48)) != 0);
    CHECK((rte & 0xff) == 0x51);
    CHECK((rte & (1u << 15)) != 0);
    CHECK((rte & (1u << 13)) != 0);
    CHECK((rte & (1u << 16)) == 0);
    CHECK((rte & 0x700) == 0);  // delivery mode bits must be 000
    uint64_t rte_hi = remappable_rte(0x8000, 0x30, false, false, true);
    CHECK((rte_hi & (1u << 11)) != 0);
    CHECK((rte_hi & (1u << 16)) != 0);

    CHECK(irta_value(0x345000, 8, false) == (0x345000 | 7));
    CHECK(irta_value(0x345000, 8, true) == (0x345000 | 1u << 11 | 7));
}

TEST_CASE("invalidation commands: registers and queued descriptors", "[vtd][inval]") {
    CHECK(ccmd_value(Granularity::Global, 0, 0) == (uint64_t{1} << 63 | uint64_t{1} << 61));
    CHECK(ccmd_value(Granularity::Device, 3, 0x0020) == (uint64_t{1} << 63 | uint64_t{3} << 61 | 0x20u << 16 | 3));
    CHECK(iotlb_value(Granularity::Domain, 4) ==
          (uint64_t{1} << 63 | uint64_t{2} << 60 | uint64_t{3} << 48 | uint64_t{4} << 32));
    Entry128 cc = qi_context(Granularity::Device, 2, 0x0020);
    CHECK((cc.lo & 0xf) == 1);
    CHECK(((cc.lo >> 4) & 3) == 3);
    CHECK(((cc.lo >> 16) & 0xffff) == 2);
    CHECK(((cc.lo >> 32) & 0xffff) == 0x20);
    Entry128 it = qi_iotlb(Granularity::Global, 0);
    CHECK((it.lo & 0xf) == 2);
    CHECK(((it.lo >> 4) & 3) == 1);
    CHECK(qi_iec_global().lo == 4);
    Entry128 iec = qi_iec_index(6);
    CHECK((iec.lo & (1u << 4)) != 0);
    CHECK(((iec.lo >> 32) & 0xffff) == 6);
    Entry128 w = qi_wait(0xfeed, 0x7000);
    CHECK((w.lo & 0xf) == 5);
    CHECK((w.lo >> 32) == 0xfeed);
    CHECK((w.lo & (1u << 5)) != 0);
    CHECK(w.hi == 0x7000);
    CHECK(iqa_value(0x9000, 0) == 0x9000);
    CHECK(iq_offset(3) == 0x30);
}

TEST_CASE("fault record decode and reason text", "[vtd][faults]") {
    // Write fault from 00:03.0 (sid 0x18) at 0x5000000, reason 5.
    FaultRecord f = decode_fault(0x5000000, FRCD_F | uint64_t{5} << 32 | 0x18);
    CHECK(f.valid);
    CHECK(f.source_id == 0x18);
    CHECK(f.reason == 5);
    CHECK_FALSE(f.read);
    CHECK(f.address == 0x5000000);
    CHECK(std::string(fault_reason_text(5)).find("write") != std::string::npos);
    FaultRecord r = decode_fault(0x1234, uint64_t{1} << 62 | uint64_t{6} << 32);
    CHECK_FALSE(r.valid);
    CHECK(r.read);
    CHECK(r.address == 0x1000);
    FaultRecord ir = decode_fault(uint64_t{6} << 48, FRCD_F | uint64_t{0x26} << 32 | 0x18);
    CHECK(is_interrupt_fault(ir.reason));
    CHECK(interrupt_fault_index(ir) == 6);
    CHECK(std::string(fault_reason_text(0x26)).find("source-id") != std::string::npos);
    CHECK(std::string(fault_reason_text(0x77)) == "unknown fault reason");
}

TEST_CASE("X58 IOH interrupt-remapping erratum", "[vtd][erratum]") {
    CHECK(x58_ir_verdict(0x8086, 0x3405, 0x13) == IrVerdict::BrokenIohRevision);
    CHECK(x58_ir_verdict(0x8086, 0x3403, 0x00) == IrVerdict::BrokenIohRevision);
    CHECK(x58_ir_verdict(0x8086, 0x3406, 0x12) == IrVerdict::BrokenIohRevision);
    CHECK(x58_ir_verdict(0x8086, 0x3405, 0x22) == IrVerdict::BrokenIohDrain);
    CHECK(x58_ir_verdict(0x8086, 0x3405, 0x14) == IrVerdict::Usable);
    CHECK(x58_ir_verdict(0x8086, 0x3406, 0x22) == IrVerdict::Usable);
    CHECK(x58_ir_verdict(0x8086, 0x29c0, 0x02) == IrVerdict::Usable);  // q35 host bridge
    CHECK(x58_ir_verdict(0x1234, 0x3405, 0x13) == IrVerdict::Usable);
    CHECK(std::string(to_string(IrVerdict::BrokenIohRevision)).find("DMA remapping stays on") != std::string::npos);
}
