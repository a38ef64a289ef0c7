#include "vmm-tools/config/resource_map.hpp"

#include <fmt/format.h>

#include "common/config/validate.hpp"
#include "vmm-tools/config/partition_file.hpp"
#include "vmm-tools/config/sizes.hpp"

namespace natsume::tools {

namespace {

std::string image_status(const natsume_config_partition& p, const std::optional<std::filesystem::path>& dir) {
    if (!dir)
        return "not checked: no --image-dir";
    auto path = image_path(*dir, p.image);
    std::error_code ec;
    return fmt::format("{}: {}", std::filesystem::is_regular_file(path, ec) ? "found" : "MISSING", path.string());
}

void describe_partition(std::string& out, const natsume_config_partition& p,
                        const std::optional<std::filesystem::path>& image_dir) {
    out += fmt::format("partition '{}'\n", p.name);
    out += fmt::format("  core     {}\n", fmt::join(p.cores, p.cores + p.core_count, " "));
    out += fmt::format("  ram      host {:#x}-{:#x} ({}), guest {:#x}-{:#x}\n", p.ram_base,
                       p.ram_base + p.ram_size - 1, describe_mib(p.ram_size), 0, p.ram_size - 1);
    out += fmt::format("  image    {} ({})\n", p.image, image_status(p, image_dir));
    out += fmt::format("  lapic    {}\n", config::lapic_mode_name(p.lapic_mode));
    out += fmt::format("  cmdline  {}\n", p.cmdline[0] ? p.cmdline : "(empty)");
}

}  // namespace

std::string resource_map(const natsume_config_header* h, const std::optional<std::filesystem::path>& image_dir) {
    const natsume_config_partition* parts = config::partitions(h);
    std::vector<uint32_t> cores;
    for (uint32_t i = 0; i < h->partition_count; ++i)
        cores.insert(cores.end(), parts[i].cores, parts[i].cores + parts[i].core_count);
    std::string out = fmt::format("machine '{}': {} partition{}, partition cores {}; the boot core and any other "
                                  "core stay with the hypervisor\n",
                                  h->name, h->partition_count, h->partition_count == 1 ? "" : "s",
                                  fmt::join(cores, " "));
    for (uint32_t i = 0; i < h->partition_count; ++i)
        describe_partition(out, parts[i], image_dir);
    return out;
}

}  // namespace natsume::tools
