// The compiled partition file validator (common/config/validate.cpp), which
// the hypervisor runs at boot on a blob it does not trust, and what reads a
// validated blob afterwards: shared_intx_lines, validate_platform and the
// resource map (vmm-tools/config/resource_map.cpp, natsume-config dump).
//
// The input is validated as it is and once more with its crc32 fixed, so
// mutations reach the checks behind the CRC. Asserts: the report is a
// NUL-terminated sentence; a valid blob's partitions lie inside it; shared
// lines are in ascending GSI order and within their arrays; a valid blob
// passes validate_platform on a machine that has everything it asks for (its
// cores, a boot core it does not use, all RAM usable, its devices, an
// IOMMU), so the two validators agree.
#include <algorithm>
#include <vector>

#include "common/config/validate.hpp"
#include "common/crc32.hpp"
#include "fuzz_util.hpp"
#include "vmm-tools/config/resource_map.hpp"

using namespace natsume;

namespace {

void check_report(const config::Report& r) { FUZZ_CHECK(std::memchr(r.text, 0, sizeof r.text) != nullptr); }

void check_valid(const natsume_config_header* h, size_t size) {
    FUZZ_CHECK(h->total_size <= size);
    FUZZ_CHECK(uint64_t{h->header_size} + uint64_t{h->partition_count} * h->partition_size +
                   uint64_t{h->channel_count} * h->channel_size <=
               h->total_size);
    // Every channel's two sides are partitions of the blob, and different ones.
    const natsume_config_channel* chans = config::channels(h);
    for (uint32_t i = 0; i < h->channel_count; ++i) {
        FUZZ_CHECK(chans[i].ends[0].partition < h->partition_count && chans[i].ends[1].partition < h->partition_count);
        FUZZ_CHECK(chans[i].ends[0].partition != chans[i].ends[1].partition);
    }
    const natsume_config_partition* parts = config::partitions(h);

    // A machine with everything the blob asks for.
    std::vector<uint32_t> apic_ids;
    std::vector<config::PlatformDevice> devices;
    for (uint32_t i = 0; i < h->partition_count; ++i) {
        const natsume_config_partition& p = parts[i];
        FUZZ_CHECK(p.core_count <= NATSUME_CONFIG_MAX_CORES && p.device_count <= NATSUME_CONFIG_MAX_DEVICES);
        apic_ids.insert(apic_ids.end(), p.cores, p.cores + p.core_count);
        for (uint32_t k = 0; k < p.device_count; ++k) {
            const natsume_config_device& d = p.devices[k];
            devices.push_back({d.bdf, d.vendor_id, d.device_id, NATSUME_GSI_AUTO, false});
        }
    }
    uint32_t bsp = 0;
    while (std::find(apic_ids.begin(), apic_ids.end(), bsp) != apic_ids.end()) ++bsp;
    apic_ids.push_back(bsp);
    // [0, 2^64) in two ranges: a Range cannot hold a size of 2^64.
    const config::Range usable[] = {{0, UINT64_MAX}, {1, UINT64_MAX}};
    config::Platform plat{apic_ids.data(), apic_ids.size(), bsp,  usable,  2, nullptr, 0,
                          devices.data(),  devices.size(),  true, nullptr, 0};
    config::Report r;
    const bool fits = config::validate_platform(h, plat, r);
    check_report(r);
    if (!fits) std::fprintf(stderr, "validate_platform: %s\n", r.text);
    FUZZ_CHECK(fits);
    plat.iommu = false;
    (void)config::validate_platform(h, plat, r);
    check_report(r);

    config::SharedLine lines[4];
    const size_t n = config::shared_intx_lines(h, plat, lines, 4);
    for (size_t i = 0; i < std::min<size_t>(n, 4); ++i) {
        FUZZ_CHECK(lines[i].count >= 2 && lines[i].count <= NATSUME_CONFIG_MAX_DEVICES);
        if (i > 0) FUZZ_CHECK(lines[i - 1].gsi < lines[i].gsi);
    }
    FUZZ_CHECK(!tools::resource_map(h, std::nullopt).empty());
}

void run(const uint8_t* data, size_t size) {
    std::vector<uint64_t> buf((size + 7) / 8 + 1);
    std::memcpy(buf.data(), data, size);
    config::Report r;
    const bool ok = config::validate_blob(buf.data(), size, r);
    check_report(r);
    if (ok) check_valid(reinterpret_cast<const natsume_config_header*>(buf.data()), size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    run(data, size);
    if (size < sizeof(natsume_config_header)) return 0;
    // The same blob with a correct crc32 over min(total_size, size) bytes.
    std::vector<uint8_t> fixed(data, data + size);
    constexpr size_t at  = offsetof(natsume_config_header, crc32);
    const uint32_t total = std::min<uint32_t>(fuzz::load<uint32_t>(data + offsetof(natsume_config_header, total_size)),
                                              static_cast<uint32_t>(size));
    if (total < at + 4) return 0;
    fuzz::store<uint32_t>(fixed.data() + at, 0);
    fuzz::store<uint32_t>(fixed.data() + at, crc32(fixed.data(), total));
    run(fixed.data(), size);
    return 0;
}
