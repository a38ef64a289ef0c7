// PCI names as written in partition files: "00:02.0" (bus:device.function,
// hex) and "8086:100e" (vendor:device, hex).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace natsume::tools {

struct PciId {
    uint16_t vendor, device;
};

// The value, or a sentence saying what is wrong with the text.
[[nodiscard]] std::variant<uint16_t, std::string> parse_bdf(std::string_view text);
[[nodiscard]] std::variant<PciId, std::string> parse_pci_id(std::string_view text);

[[nodiscard]] std::string format_bdf(uint16_t bdf);  // "00:02.0"

}  // namespace natsume::tools
