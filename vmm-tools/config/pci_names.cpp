#include "vmm-tools/config/pci_names.hpp"

#include <charconv>
#include <fmt/format.h>
#include <optional>

#include "common/bdf.hpp"
#include "natsume/config_blob.h"

namespace natsume::tools {

namespace {

// 1 to `max_digits` hex digits, nothing else (no sign, no prefix).
std::optional<uint32_t> hex_field(std::string_view s, size_t max_digits) {
    if (s.empty() || s.size() > max_digits) return std::nullopt;
    uint32_t v     = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return v;
}

}  // namespace

std::variant<uint16_t, std::string> parse_bdf(std::string_view text) {
    const std::string syntax = "is not bus:device.function in hex, e.g. \"00:02.0\"";
    size_t colon             = text.find(':');
    size_t dot               = text.find('.', colon == std::string_view::npos ? 0 : colon);
    if (colon == std::string_view::npos || dot == std::string_view::npos) return syntax;
    auto bus = hex_field(text.substr(0, colon), 4);
    auto dev = hex_field(text.substr(colon + 1, dot - colon - 1), 4);
    auto fn  = hex_field(text.substr(dot + 1), 4);
    if (!bus || !dev || !fn) return syntax;
    if (*bus >= PCI_BUSES) return fmt::format("has bus {:#x}; buses are 00 to ff", *bus);
    if (*dev >= PCI_DEVICES) return fmt::format("has device {:#x}; devices are 00 to 1f", *dev);
    if (*fn >= PCI_FUNCTIONS) return fmt::format("has function {:#x}; functions are 0 to 7", *fn);
    return NATSUME_BDF(*bus, *dev, *fn);
}

std::variant<PciId, std::string> parse_pci_id(std::string_view text) {
    size_t colon = text.find(':');
    if (colon == std::string_view::npos) return std::string("is not vendor:device in hex, e.g. \"8086:100e\"");
    auto vendor = hex_field(text.substr(0, colon), 4);
    auto device = hex_field(text.substr(colon + 1), 4);
    if (!vendor || !device) return std::string("is not vendor:device in hex, e.g. \"8086:100e\"");
    // ffff is what an empty slot reads, and what the blob uses for "any".
    if (*vendor == NATSUME_DEVICE_ANY_ID || *device == NATSUME_DEVICE_ANY_ID)
        return std::string(
            "uses ffff, which no device has (an empty slot reads ffff); leave id out to accept "
            "any device");
    return PciId{static_cast<uint16_t>(*vendor), static_cast<uint16_t>(*device)};
}

std::string format_bdf(uint16_t bdf) {
    return fmt::format("{:02x}:{:02x}.{:x}", pci::bdf_bus(bdf), pci::bdf_dev(bdf), pci::bdf_fn(bdf));
}

}  // namespace natsume::tools
