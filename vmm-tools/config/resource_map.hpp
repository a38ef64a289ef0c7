// Human-readable view of a compiled partition file: what each partition
// owns. Shared by `check`, `compile` and `dump`.
#pragma once
#include <filesystem>
#include <optional>
#include <string>

#include "natsume/config_blob.h"

namespace natsume::tools {

// `h` must have passed config::validate_blob. With an image directory, each
// image line says whether the file is there.
[[nodiscard]] std::string resource_map(const natsume_config_header* h,
                                       const std::optional<std::filesystem::path>& image_dir);

}  // namespace natsume::tools
