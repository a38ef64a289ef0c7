// One partition's virtual PCI configuration space (hypervisor/vdev/vpci.cpp)
// over the PCI test machine (tests/unit/pci/test_machine.hpp): a fuzzed set
// of owned functions with fuzzed options (an MSI route with a fuzzed owner
// and core list, the owner among it or not), then a sequence of guest
// config reads and writes at fuzzed BDFs, offsets, sizes and values.
//
// Asserts: reads carry only `size` bytes and foreign functions read as all
// ones; no hardware write ever reaches a function the partition does not
// own, a BAR or ROM BAR, or extended config space; Bus Master never reaches
// a device without DMA permission; with intx_virtual the guest's INTx
// Disable never reaches hardware; add_device refuses an MSI route whose
// cores do not fit (more than MAX_CORES, the owner not among them, an APIC ID
// above 255 without remapping); with msi_virtual the hardware MSI address
// (or, remapped, the remapping entry) delivers to one of the route's cores:
// the guest's physical destination (bits 19:12 of its address, bit 2 clear,
// not 0xFF) when it is one of them, the owner otherwise; MSI is enabled only
// with a vector >= 0x10.
#include <fuzzer/FuzzedDataProvider.h>
#include <memory>

#include "fuzz_util.hpp"
#include "test_machine.hpp"
#include "vdev/vpci.hpp"

using namespace natsume;
using namespace natsume::test;

namespace {

struct Machine {
    FakeConfigSpace hw;
    std::unique_ptr<pci::Inventory> inv = std::make_unique<pci::Inventory>();
    Machine() {
        build_machine(hw);
        pci::ConfigAccess a = hw.access();
        FUZZ_CHECK(pci::enumerate(a, *inv) == pci::Error::Ok);
        FUZZ_CHECK(pci::size_all_bars(a, *inv) == pci::Error::Ok);
        hw.writes.clear();
    }
};

Machine& machine() {
    static Machine m;
    return m;
}

// Undoes every logged hardware write from the pristine copy, so one fake
// serves every input without a 100 KiB copy each time.
FUZZ_MODEL void restore(FakeConfigSpace& hw) {
    static const FakeConfigSpace pristine = machine().hw;
    for (const ConfigWrite& w : hw.writes) hw.set32(w.bdf, w.offset, pristine.get32(w.bdf, w.offset));
    hw.writes.clear();
}

uint32_t size_mask(uint8_t size) { return size >= 4 ? ~0u : (1u << (8u * size)) - 1; }

bool is_bar_or_rom(const pci::Function& fn, uint16_t aligned) {
    const uint16_t bars_end = fn.is_bridge ? 0x18 : 0x28;
    const uint16_t rom      = fn.is_bridge ? pci::ROM_BAR_TYPE1 : pci::ROM_BAR_TYPE0;
    return (aligned >= pci::BAR0 && aligned < bars_end) || aligned == rom;
}

// A remapping route as the hypervisor's, refusing vector 0xEE as a unit might.
constexpr uint32_t FAKE_REMAP_ADDRESS = 0xFEE00010u;
uint8_t fake_remap_vector;
uint32_t fake_remap_apic;
uint32_t msi_address_written;
const char* fake_remap(void*, uint16_t slot, uint8_t vector, uint32_t apic_id, msi::Message& out) {
    FUZZ_CHECK(slot == 0 && vector >= 0x10);
    if (vector == 0xEE) return "fake unit refused the entry";
    fake_remap_vector = vector;
    fake_remap_apic   = apic_id;
    out               = {FAKE_REMAP_ADDRESS, 0};
    return nullptr;
}

// One function's MSI route as the harness chose it, kept apart from msi::Route.
struct Cores {
    uint16_t bdf;
    bool remapped;
    uint32_t owner;
    uint32_t list[msi::MAX_CORES + 1];
    uint8_t count;
    FUZZ_MODEL bool listed(uint32_t apic_id) const {
        if (count == 0) return apic_id == owner;
        for (uint8_t i = 0; i < count && i < msi::MAX_CORES; ++i)
            if (list[i] == apic_id) return true;
        return false;
    }
    FUZZ_MODEL bool fits() const {
        if (count > msi::MAX_CORES || !listed(owner)) return false;
        if (remapped) return true;
        bool wide = owner > 0xFF;
        for (uint8_t i = 0; i < count; ++i) wide |= list[i] > 0xFF;
        return !wide;
    }
    FUZZ_MODEL uint32_t destination(uint32_t address_lo) const {
        const uint32_t dest = address_lo >> 12 & 0xFF;
        if ((address_lo & 4) || dest == 0xFF || !listed(dest)) return owner;
        return dest;
    }
};
Cores models[16];

// A core's APIC ID: mostly one a guest address can name, some too wide for
// the compatibility format, some the broadcast ID (which a list may hold
// but no guest address names).
FUZZ_MODEL uint32_t choose_id(FuzzedDataProvider& in) {
    const uint32_t id = in.ConsumeIntegralInRange<uint32_t>(0, 0x117);
    return id >= 0x110 ? 0xFF : id;
}

// A guest MSI address naming one of the cores, the owner or the broadcast
// ID, in either destination mode: random addresses seldom name a core.
FUZZ_MODEL uint32_t named_address(FuzzedDataProvider& in, const Cores& c) {
    const uint8_t n   = c.count < msi::MAX_CORES ? c.count : msi::MAX_CORES;
    const uint8_t k   = in.ConsumeIntegralInRange<uint8_t>(0, static_cast<uint8_t>(n + 1));
    const uint32_t id = k < n ? c.list[k] : k == n ? c.owner : 0xFF;
    return msi::ADDRESS_BASE | (id & 0xFF) << 12 | (in.ConsumeIntegral<uint8_t>() & 0xCu);
}

FUZZ_MODEL const Cores& model(uint16_t bdf) {
    for (const Cores& c : models)
        if (c.bdf == bdf) return c;
    FUZZ_CHECK(false);
    return models[0];
}

struct Owned {
    const pci::Function* fn;
    vpci::DeviceOptions options;
};

FUZZ_MODEL void check_writes(const FakeConfigSpace& hw, size_t first, const vpci::ConfigSpace& view,
                             uint16_t cmd_before[], uint32_t& msi_data_written) {
    for (size_t i = first; i < hw.writes.size(); ++i) {
        const ConfigWrite& w  = hw.writes[i];
        const vpci::Device* d = view.find(w.bdf);
        FUZZ_CHECK(d != nullptr);
        FUZZ_CHECK(w.offset < pci::CONFIG_SIZE && w.offset % 4 == 0);
        FUZZ_CHECK(!is_bar_or_rom(d->fn, w.offset));
        const size_t idx = static_cast<size_t>(d - &view.device(0));
        if (w.offset == pci::COMMAND) {
            if (!d->options.dma_allowed) FUZZ_CHECK((w.value & pci::CMD_BUS_MASTER) == 0);
            if (d->options.intx_virtual) FUZZ_CHECK((w.value & 0x400) == (cmd_before[idx] & 0x400u));
        }
        if (d->options.msi_virtual && d->fn.cap_msi != 0) {
            const uint16_t cap     = d->fn.cap_msi;
            const bool is64        = (hw.get16(w.bdf, static_cast<uint16_t>(cap + 2)) & 0x80) != 0;
            const uint16_t data_at = static_cast<uint16_t>(cap + (is64 ? 0xC : 0x8));
            const msi::Route& r    = d->options.msi_route;
            const Cores& c         = model(w.bdf);
            // The guest's core, or the owner's while the vector is unusable
            // (the idle message, also what a disabled remapped device holds).
            const bool usable   = (d->msi_data & 0xFFu) >= 0x10;
            const uint32_t dest = usable ? c.destination(d->msi_address_lo) : c.owner;
            FUZZ_CHECK(c.listed(dest));
            const bool compat = w.value == (0xFEE00000u | (dest & 0xFFu) << 12);
            if (w.offset == cap + 4) {
                const bool through_remap = r.remapped() && w.value == FAKE_REMAP_ADDRESS;
                FUZZ_CHECK(compat || through_remap);
                if (through_remap) FUZZ_CHECK(fake_remap_apic == dest);
                if (!r.remapped()) FUZZ_CHECK(dest <= 0xFF);
                msi_address_written = w.value;
            }
            if (w.offset == data_at) msi_data_written = w.value & 0xFF;
            // Enabled only with a usable vector: in the data register, or in
            // the remapping entry the message names.
            if (w.offset == cap && (w.value & (1u << 16))) {
                if (r.remapped())
                    FUZZ_CHECK(msi_address_written == FAKE_REMAP_ADDRESS && fake_remap_vector >= 0x10);
                else
                    FUZZ_CHECK(msi_data_written >= 0x10);
            }
        }
    }
}

FUZZ_MODEL void snapshot_commands(const FakeConfigSpace& hw, const vpci::ConfigSpace& view, uint16_t out[]) {
    for (size_t i = 0; i < view.device_count(); ++i) out[i] = hw.get16(view.device(i).fn.bdf, pci::COMMAND);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    Machine& m          = machine();
    FakeConfigSpace& hw = m.hw;
    restore(hw);
    const pci::ConfigAccess a = hw.access();

    const uint32_t shown    = in.ConsumeBool() ? vpci::DEFAULT_SHOWN_CAPABILITIES : in.ConsumeIntegral<uint32_t>();
    auto view               = std::make_unique<vpci::ConfigSpace>(shown);
    const uint16_t own_mask = in.ConsumeIntegral<uint16_t>();
    for (Cores& c : models) c.bdf = 0xFFFF;  // no function there
    for (size_t i = 0; i < m.inv->count && i < 16; ++i) {
        if (!(own_mask & (1u << i))) continue;
        const uint8_t o = in.ConsumeIntegral<uint8_t>();
        Cores& c        = models[i];
        c               = Cores{};
        c.bdf           = m.inv->functions[i].bdf;
        c.remapped      = (o & 16) != 0;
        c.owner         = choose_id(in);
        // Mostly IDs a guest address can name, sometimes a list that does not fit.
        c.count         = (o & 32) ? in.ConsumeIntegralInRange<uint8_t>(1, msi::MAX_CORES + 1) : 0;
        const bool wide = (o & 64) != 0;
        for (uint8_t k = 0; k < c.count; ++k) c.list[k] = wide ? in.ConsumeIntegral<uint32_t>() : choose_id(in);
        if (c.count > 0 && !(o & 128)) c.owner = c.list[in.ConsumeIntegralInRange<uint8_t>(0, c.count - 1)];
        msi::Route route = c.remapped ? msi::Route{c.owner, fake_remap, nullptr} : msi::Route{c.owner};
        route.core_count = c.count;
        for (uint8_t k = 0; k < c.count && k < msi::MAX_CORES; ++k) route.cores[k] = c.list[k];
        vpci::DeviceOptions opt{(o & 1) != 0, (o & 2) != 0, (o & 4) != 0, route, (o & 8) != 0};
        const vpci::Error e = view->add_device(m.inv->functions[i], opt, a);
        if (opt.msi_virtual && !c.fits()) FUZZ_CHECK(e != vpci::Error::Ok);
        if (e == vpci::Error::BadMsiRoute) FUZZ_CHECK(opt.msi_virtual && !c.fits());
    }
    uint32_t msi_data_written = 0;
    fake_remap_vector         = 0;
    fake_remap_apic           = 0;
    msi_address_written       = 0;
    uint16_t cmd_before[vpci::MAX_DEVICES];
    snapshot_commands(hw, *view, cmd_before);
    check_writes(hw, 0, *view, cmd_before, msi_data_written);

    while (in.remaining_bytes() > 0) {
        const uint8_t op          = in.ConsumeIntegral<uint8_t>();
        const uint8_t pick        = in.ConsumeIntegral<uint8_t>();
        const uint16_t bdf        = pick < m.inv->count ? m.inv->functions[pick].bdf
                                    : pick < 0xF0       ? static_cast<uint16_t>(pick)
                                                        : in.ConsumeIntegral<uint16_t>();
        const vpci::Device* owned = view->find(bdf);
        uint16_t offset           = (op & 1) ? in.ConsumeIntegral<uint8_t>() : in.ConsumeIntegral<uint16_t>() & 0x1FFF;
        // Often enough at the MSI registers: control, address, upper address, data.
        if ((op & 0x40) && owned && owned->fn.cap_msi)
            offset = static_cast<uint16_t>(owned->fn.cap_msi + 4 * in.ConsumeIntegralInRange<uint8_t>(0, 3));
        const uint8_t sz =
            (op & 2) ? in.ConsumeIntegralInRange<uint8_t>(0, 5) : static_cast<uint8_t>(1u << ((op >> 2) & 3) & 7);
        if (op & 0x10) {
            const uint32_t v = view->read(bdf, offset, sz, a);
            const bool valid = (sz == 1 || sz == 2 || sz == 4) && (offset & 3u) + sz <= 4 && offset < 0x1000;
            if (valid) {
                FUZZ_CHECK((v & ~size_mask(sz)) == 0);
                // Not owned: absent, except the host bridge and the function-0 stub of a slot with an owned
                // later function (its IDs, class and header type; zero below 0x100, absent above).
                const bool stub = pci::bdf_fn(bdf) == 0 && view->owns_later_function(bdf);
                if (!view->owns(bdf) && bdf != 0 && !stub) FUZZ_CHECK(v == size_mask(sz));
                if (!view->owns(bdf) && stub && offset >= 0x100) FUZZ_CHECK(v == size_mask(sz));
                if (!view->owns(bdf) && stub && offset >= 0x10 && offset < 0x100) FUZZ_CHECK(v == 0);
            }
            continue;
        }
        snapshot_commands(hw, *view, cmd_before);
        const size_t first = hw.writes.size();
        uint32_t value     = in.ConsumeIntegral<uint32_t>();
        if ((op & 0x20) && owned) value = named_address(in, model(bdf));
        const vpci::WriteResult r = view->write(bdf, offset, sz, value, a);
        FUZZ_CHECK((r.kind == vpci::WriteResult::Kind::Refused) == (r.why != nullptr));
        check_writes(hw, first, *view, cmd_before, msi_data_written);
    }
    return 0;
}
