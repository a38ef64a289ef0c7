#include "vmm-tools/config/sizes.hpp"

#include <cctype>
#include <charconv>
#include <fmt/format.h>

namespace natsume::tools {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

std::optional<unsigned> suffix_shift(std::string_view s) {
    if (s.empty() || s == "B") return 0;
    static constexpr struct {
        char letter;
        unsigned shift;
    } units[] = {{'K', 10}, {'M', 20}, {'G', 30}, {'T', 40}};
    for (auto u : units) {
        char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(u.letter)));
        if (s.size() >= 1 && (s[0] == u.letter || s[0] == lower) &&
            (s.size() == 1 || s.substr(1) == "iB" || s.substr(1) == "B"))
            return u.shift;
    }
    return std::nullopt;
}

}  // namespace

std::optional<uint64_t> parse_size(std::string_view text) {
    text     = trim(text);
    int base = 10;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text.remove_prefix(2);
    }
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (ec != std::errc{} || end == text.data()) return std::nullopt;
    auto shift = suffix_shift(trim(std::string_view(end, static_cast<size_t>(text.data() + text.size() - end))));
    if (!shift || (base == 16 && *shift != 0)) return std::nullopt;
    if (*shift != 0 && value > (UINT64_MAX >> *shift)) return std::nullopt;
    return value << *shift;
}

std::string format_size(uint64_t bytes) {
    if (bytes == 0) return "0";
    static constexpr struct {
        const char* suffix;
        unsigned shift;
    } units[] = {{"T", 40}, {"G", 30}, {"M", 20}, {"K", 10}};
    for (auto u : units)
        if ((bytes & ((uint64_t{1} << u.shift) - 1)) == 0) return fmt::format("{}{}", bytes >> u.shift, u.suffix);
    return fmt::format("{:#x}", bytes);
}

std::string describe_mib(uint64_t bytes) {
    if ((bytes & 0xfffff) == 0) return fmt::format("{} MiB", bytes >> 20);
    return fmt::format("{:#x} bytes", bytes);
}

}  // namespace natsume::tools
