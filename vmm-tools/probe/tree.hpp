// The file system probe reads, rooted at "/" on the target machine or at a
// captured tree (--root DIR, tests/probe-trees/README.md): every path is
// written as on the live system and looked up under the root.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "vmm-tools/probe/result.hpp"

namespace natsume::probe {

class Tree {
public:
    explicit Tree(std::filesystem::path root) : root_(std::move(root)) {}

    [[nodiscard]] std::filesystem::path at(std::string_view live_path) const;
    [[nodiscard]] bool exists(std::string_view live_path) const;
    // The whole file; the failure names the live path, the root and the reason.
    [[nodiscard]] Result<std::vector<uint8_t>> bytes(std::string_view live_path) const;
    [[nodiscard]] Result<std::string> text(std::string_view live_path) const;
    // Names in a directory (files, directories or symlinks), sorted; empty
    // when the directory does not exist.
    [[nodiscard]] std::vector<std::string> list(std::string_view live_path) const;
    [[nodiscard]] const std::filesystem::path& root() const { return root_; }

private:
    std::filesystem::path root_;
};

// "0x1f\n" -> 31; decimal when there is no 0x. nullopt when not a number.
[[nodiscard]] std::optional<uint64_t> parse_number(std::string_view text);

}  // namespace natsume::probe
