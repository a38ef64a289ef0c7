#include "vmm-tools/config/resource_map.hpp"

#include <fmt/format.h>

#include "common/config/validate.hpp"
#include "vmm-tools/config/partition_file.hpp"
#include "vmm-tools/config/pci_names.hpp"
#include "vmm-tools/config/sizes.hpp"

namespace natsume::tools {

namespace {

// An ELF guest image is <dir>/<image>.elf; a Linux partition's files are named as they are.
std::string image_status(const natsume_config_partition& p, const char* name,
                         const std::optional<std::filesystem::path>& dir) {
    if (!dir) return "not checked: no --image-dir";
    auto path = p.kind == NATSUME_KIND_LINUX ? *dir / name : image_path(*dir, name);
    std::error_code ec;
    return fmt::format("{}: {}", std::filesystem::is_regular_file(path, ec) ? "found" : "MISSING", path.string());
}

std::string describe_device(const natsume_config_device& d) {
    std::string id =
        d.vendor_id == NATSUME_DEVICE_ANY_ID ? "any id" : fmt::format("id {:04x}:{:04x}", d.vendor_id, d.device_id);
    std::string gsi =
        d.intx_gsi == NATSUME_GSI_AUTO ? "INTx GSI from the platform" : fmt::format("INTx GSI {}", d.intx_gsi);
    const char* dma = (d.flags & NATSUME_DEVICE_NO_DMA) != 0 ? "no DMA" : "DMA";
    return fmt::format("{} {}, {}, {}", format_bdf(d.bdf), id, gsi, dma);
}

void describe_partition(std::string& out, const natsume_config_partition& p,
                        const std::optional<std::filesystem::path>& image_dir) {
    out += fmt::format("partition '{}'\n", p.name);
    if (p.core_count > 1)  // a Linux partition: it boots on the first, Linux starts the others
        out +=
            fmt::format("  cores    {} (boot CPU {})\n", fmt::join(p.cores, p.cores + p.core_count, " "), p.cores[0]);
    else
        out += fmt::format("  core     {}\n", fmt::join(p.cores, p.cores + p.core_count, " "));
    out += fmt::format("  ram      host {:#x}-{:#x} ({}), guest {:#x}-{:#x}\n", p.ram_base, p.ram_base + p.ram_size - 1,
                       describe_mib(p.ram_size), 0, p.ram_size - 1);
    if (p.dma_size != 0)
        out += fmt::format("  dma      host {:#x}-{:#x} ({}), guest the same (identity-mapped)\n", p.dma_base,
                           p.dma_base + p.dma_size - 1, describe_mib(p.dma_size));
    for (uint32_t k = 0; k < p.device_count && k < NATSUME_CONFIG_MAX_DEVICES; ++k)
        out += fmt::format("  device   {}\n", describe_device(p.devices[k]));
    if (p.kind == NATSUME_KIND_LINUX) {
        out += fmt::format("  kind     linux (64-bit boot protocol, ACPI tables of its own)\n");
        out += fmt::format("  kernel   {} ({})\n", p.image, image_status(p, p.image, image_dir));
        if (p.initramfs[0])
            out += fmt::format("  initrd   {} ({})\n", p.initramfs, image_status(p, p.initramfs, image_dir));
    } else {
        out += fmt::format("  image    {} ({})\n", p.image, image_status(p, p.image, image_dir));
    }
    out += fmt::format("  lapic    {}\n", config::lapic_mode_name(p.lapic_mode));
    if (p.flags & NATSUME_PARTITION_SHARE_SMT)
        out += "  trusts   SMT siblings outside the partition (allow_smt_sharing)\n";
    if (p.flags & NATSUME_PARTITION_UNISOLATED_DMA)
        out += "  trusts   its devices without DMA/interrupt remapping (allow_unisolated_dma)\n";
    if (p.flags & NATSUME_PARTITION_L1D_FLUSH) out += "  l1d      flushed on every VM entry\n";
    out += fmt::format("  cmdline  {}\n", p.cmdline[0] ? p.cmdline : "(empty)");
}

void describe_channel(std::string& out, const natsume_config_channel& c, const natsume_config_partition* parts) {
    out += fmt::format("channel '{}'\n", c.name);
    out += fmt::format("  memory   host {:#x}-{:#x} ({})\n", c.base, c.base + c.size - 1, describe_mib(c.size));
    out +=
        fmt::format("  doorbell {} a second per side after a burst of {}\n",
                    c.doorbell_rate ? c.doorbell_rate : NATSUME_CHANNEL_DOORBELL_RATE, NATSUME_CHANNEL_DOORBELL_BURST);
    for (uint32_t side : {NATSUME_CHANNEL_FRONTEND, NATSUME_CHANNEL_BACKEND}) {
        const natsume_config_channel_end& e = c.ends[side];
        bool dma = side == NATSUME_CHANNEL_BACKEND && (c.flags & NATSUME_CHANNEL_BACKEND_DMA);
        out +=
            fmt::format("  {} {} at guest {:#x}-{:#x}{}\n", side == NATSUME_CHANNEL_FRONTEND ? "frontend" : "backend ",
                        parts[e.partition].name, e.gpa, e.gpa + c.size - 1, dma ? ", its devices may DMA into it" : "");
    }
}

}  // namespace

std::string resource_map(const natsume_config_header* h, const std::optional<std::filesystem::path>& image_dir) {
    const natsume_config_partition* parts = config::partitions(h);
    std::vector<uint32_t> cores;
    for (uint32_t i = 0; i < h->partition_count; ++i)
        cores.insert(cores.end(), parts[i].cores, parts[i].cores + parts[i].core_count);
    std::string out = fmt::format(
        "machine '{}': {} partition{}, partition cores {}; the boot core and any other "
        "core stay with the hypervisor\n",
        h->name, h->partition_count, h->partition_count == 1 ? "" : "s", fmt::join(cores, " "));
    for (uint32_t i = 0; i < h->partition_count; ++i) describe_partition(out, parts[i], image_dir);
    const natsume_config_channel* chans = config::channels(h);
    for (uint32_t i = 0; i < h->channel_count; ++i) describe_channel(out, chans[i], parts);
    return out;
}

}  // namespace natsume::tools
