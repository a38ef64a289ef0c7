// The draft as a partition file (docs/partition-file.md) with TOML comments:
// every warning at the top, each choice explained where it is made.
#pragma once
#include <string>
#include <vector>

#include "vmm-tools/probe/draft.hpp"
#include "vmm-tools/probe/warning.hpp"

namespace natsume::probe {

// `warnings`: the machine's and the draft's, in the order they are printed.
[[nodiscard]] std::string draft_toml(const Draft& d, const std::vector<Warning>& warnings);

}  // namespace natsume::probe
