#include "vmm-tools/probe/tree.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>

namespace natsume::probe {

std::filesystem::path Tree::at(std::string_view live_path) const {
    std::string_view rel = live_path;
    while (!rel.empty() && rel.front() == '/') rel.remove_prefix(1);
    return root_ / std::filesystem::path(rel);
}

bool Tree::exists(std::string_view live_path) const {
    std::error_code ec;
    return std::filesystem::exists(at(live_path), ec);
}

namespace {

std::string where(const Tree& t, std::string_view live_path) {
    if (t.root() == "/") return std::string(live_path);
    return fmt::format("{} (under {})", live_path, t.root().string());
}

std::string reason(int err) {
    if (err == EACCES || err == EPERM) return "permission denied; run probe as root";
    if (err == ENOENT) return "no such file";
    return std::strerror(err);
}

}  // namespace

// sysfs reports a size of 4096 for every attribute: read to the end instead.
Result<std::vector<uint8_t>> Tree::bytes(std::string_view live_path) const {
    std::FILE* f = std::fopen(at(live_path).c_str(), "rb");
    if (!f)
        return Result<std::vector<uint8_t>>::failure(
            fmt::format("cannot read {}: {}", where(*this, live_path), reason(errno)));
    std::vector<uint8_t> data;
    uint8_t buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) data.insert(data.end(), buf, buf + n);
    int err = std::ferror(f) ? errno : 0;
    std::fclose(f);
    if (err)
        return Result<std::vector<uint8_t>>::failure(
            fmt::format("cannot read {}: {}", where(*this, live_path), reason(err)));
    return data;
}

Result<std::string> Tree::text(std::string_view live_path) const {
    auto b = bytes(live_path);
    if (!b) return Result<std::string>::failure(b.error());
    return std::string(b->begin(), b->end());
}

std::vector<std::string> Tree::list(std::string_view live_path) const {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(at(live_path), ec))
        names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

std::optional<uint64_t> parse_number(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
    int base = 10;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text.remove_prefix(2);
    }
    if (text.empty() || text.size() > 20) return std::nullopt;
    uint64_t v = 0;
    for (char c : text) {
        int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                : (base == 16 && std::isxdigit(static_cast<unsigned char>(c)))
                    ? std::tolower(static_cast<unsigned char>(c)) - 'a' + 10
                    : -1;
        if (d < 0) return std::nullopt;
        if (v > (UINT64_MAX - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) return std::nullopt;
        v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
    }
    return v;
}

}  // namespace natsume::probe
