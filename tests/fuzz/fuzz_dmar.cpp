// DMAR (hypervisor/lib/dmar.cpp): the table as it is and with its checksum
// fixed; every scope path resolved on the PCI test machine
// (tests/unit/pci/test_machine.hpp) and unit_for asked for every function of
// it. Asserts: counts within their arrays, each unit's and RMRR's scopes
// inside the scope array, RMRRs 4 KiB aligned with limit >= base and a size
// (limit - base + 1) that fits in 64 bits, resolved
// BDFs well formed, unit_for names a parsed unit or -1.
#include <vector>

#include "fuzz_util.hpp"
#include "hypervisor/lib/dmar.hpp"
#include "test_machine.hpp"

using namespace natsume;
using natsume::fuzz::load;

namespace {

const test::FakeConfigSpace& machine() {
    static const test::FakeConfigSpace hw = [] {
        test::FakeConfigSpace m;
        test::build_machine(m);
        return m;
    }();
    return hw;
}

uint8_t read8(void* ctx, uint8_t bus, uint8_t device, uint8_t function, uint16_t offset) {
    const auto& hw     = *static_cast<const test::FakeConfigSpace*>(ctx);
    const uint16_t bdf = pci::make_bdf(bus, device, function);
    return hw.has(bdf) ? hw.get8(bdf, offset) : 0xFF;
}

FUZZ_MODEL void check(const dmar::Dmar& d) {
    FUZZ_CHECK(d.unit_count <= dmar::MAX_UNITS);
    FUZZ_CHECK(d.rmrr_count <= dmar::MAX_RMRRS);
    FUZZ_CHECK(d.scope_count <= dmar::MAX_SCOPES);
    for (size_t i = 0; i < d.unit_count; ++i)
        FUZZ_CHECK(d.units[i].first_scope + d.units[i].scope_count <= d.scope_count);
    for (size_t i = 0; i < d.rmrr_count; ++i) {
        const dmar::Rmrr& r = d.rmrrs[i];
        FUZZ_CHECK(r.first_scope + r.scope_count <= d.scope_count);
        FUZZ_CHECK(r.base % 4096 == 0 && r.limit >= r.base && r.limit % 4096 == 4095);
        // The VT-d code keeps an RMRR as {base, limit - base + 1}: that size must not wrap to 0.
        FUZZ_CHECK(r.limit - r.base + 1 != 0);
    }
    void* ctx = const_cast<test::FakeConfigSpace*>(&machine());
    for (size_t i = 0; i < d.scope_count; ++i) {
        FUZZ_CHECK(d.scopes[i].depth <= dmar::MAX_PATH_DEPTH);
        dmar::Bdf bdf{};
        if (dmar::resolve_path(d.scopes[i], &read8, ctx, bdf) == dmar::PathError::Ok)
            FUZZ_CHECK(bdf.device < 32 && bdf.function < 8);
    }
    static const uint16_t BDFS[] = {test::HOST_BDF, test::E1000,  test::PCIE_DEV, test::BRIDGE,
                                    test::MULTI0,   test::MULTI3, test::LOOP_DEV, test::BEHIND};
    for (uint16_t raw : BDFS) {
        const dmar::Bdf bdf{static_cast<uint8_t>(raw >> 8), static_cast<uint8_t>((raw >> 3) & 31),
                            static_cast<uint8_t>(raw & 7)};
        const int u = dmar::unit_for(d, 0, bdf, &read8, ctx);
        FUZZ_CHECK(u == -1 || (u >= 0 && static_cast<size_t>(u) < d.unit_count));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static dmar::Dmar d;
    if (dmar::parse(data, size, d) == dmar::Error::Ok) check(d);
    if (size < 48) return 0;
    std::vector<uint8_t> fixed(data, data + size);
    fuzz::fix_checksum(fixed.data(), std::min<size_t>(size, load<uint32_t>(data + 4)), 9);
    if (dmar::parse(fixed.data(), size, d) == dmar::Error::Ok) check(d);
    return 0;
}
