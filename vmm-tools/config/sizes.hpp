// Byte sizes as written in partition files: integers, or strings with a
// binary suffix ("32M", "1G", "512KiB", "0x2000000").
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace natsume::tools {

// nullopt when the text is not a size (or does not fit in 64 bits).
[[nodiscard]] std::optional<uint64_t> parse_size(std::string_view text);

// The shortest exact spelling: "32M", "1G", "6K", or hex when not a whole KiB.
[[nodiscard]] std::string format_size(uint64_t bytes);

// "32 MiB", "1.5 GiB"-free: whole MiB when exact, else bytes in hex.
[[nodiscard]] std::string describe_mib(uint64_t bytes);

}  // namespace natsume::tools
