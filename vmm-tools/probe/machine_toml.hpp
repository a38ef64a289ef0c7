// machine.toml: the machine description as a TOML file (format: docs/probe.md).
// probe writes it; `check --machine` reads it back into the same Machine.
#pragma once
#include <filesystem>
#include <string>
#include <string_view>

#include "vmm-tools/probe/machine.hpp"
#include "vmm-tools/probe/result.hpp"

namespace natsume::probe {

inline constexpr int64_t MACHINE_FILE_VERSION = 1;

[[nodiscard]] std::string machine_toml(const Machine& m);
// Fails with "FILE:LINE:COL: sentence" on a file that is not a machine description.
[[nodiscard]] Result<Machine> parse_machine_toml(std::string_view text, std::string_view source_name);
[[nodiscard]] Result<Machine> read_machine_file(const std::filesystem::path& file);

[[nodiscard]] const char* intx_check_name(IntxCheck c);  // "status-bit", "e1000-icr", "unknown"

}  // namespace natsume::probe
