// The partition file compiler: TOML text -> checked compiled blob
// (include/natsume/config_blob.h). The format is described in
// docs/partition-file.md.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "natsume/config_blob.h"

namespace natsume::tools {

struct Diagnostic {
    std::string file;
    uint32_t line   = 0;
    uint32_t column = 0;
    std::string message;
    bool is_note = false;  // worth knowing, not a reason to refuse the file

    [[nodiscard]] std::string str() const;  // "FILE:LINE:COL: error: MESSAGE" (or "note:")
};

struct CompileOptions {
    // When set, each partition's image must exist as <image_dir>/<image>.elf.
    std::optional<std::filesystem::path> image_dir;
};

struct CompileResult {
    std::vector<Diagnostic> errors;  // every problem found, in file order
    std::vector<Diagnostic> notes;   // facts worth a look (shared INTx lines, ...); only when errors is empty
    std::vector<uint8_t> blob;       // the compiled file; empty unless errors is empty

    [[nodiscard]] bool ok() const { return errors.empty(); }
};

[[nodiscard]] CompileResult compile_partition_text(std::string_view toml_text, std::string_view source_name,
                                                   const CompileOptions& options = {});
[[nodiscard]] CompileResult compile_partition_file(const std::filesystem::path& file,
                                                   const CompileOptions& options = {});

struct Machine {
    std::string name;
    std::vector<natsume_config_partition> partitions;
    std::vector<natsume_config_channel> channels;
};

// Header, partitions, channels and crc32 exactly as config_blob.h lays them out.
[[nodiscard]] std::vector<uint8_t> encode_blob(const Machine& machine);

// Path of a partition's guest image inside an image directory.
[[nodiscard]] std::filesystem::path image_path(const std::filesystem::path& image_dir, std::string_view image);

}  // namespace natsume::tools
