// The probe side of natsume-config's command line (vmm-tools/config/main.cpp).
#pragma once
#include <filesystem>

#include "natsume/config_blob.h"

namespace natsume::probe {

// natsume-config probe [--root DIR] [-o OUTDIR]: writes OUTDIR/machine.toml
// and OUTDIR/partitions.toml, warnings on stderr. 0, or 1 with one sentence.
[[nodiscard]] int run_probe(const std::filesystem::path& root, const std::filesystem::path& out_dir);

// The --machine half of check, for a file that compiled: prints refusals as
// "FILE:LINE:COL: error: ..." (notes as "note:"), returns 0 or 1.
[[nodiscard]] int check_file_on_machine(const std::filesystem::path& file, const natsume_config_header* h,
                                        const std::filesystem::path& machine_file);

}  // namespace natsume::probe
