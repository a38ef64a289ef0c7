// Captured trees changed for one test: a copy under the build directory.
#pragma once
#include <filesystem>
#include <fstream>
#include <string>

namespace probe_test {

inline std::filesystem::path scratch_tree(const char* from, const std::string& name) {
    namespace fs  = std::filesystem;
    fs::path dest = fs::path(NATSUME_PROBE_SCRATCH) / name;
    fs::remove_all(dest);
    fs::create_directories(dest.parent_path());
    fs::copy(fs::path(NATSUME_PROBE_TREES) / from, dest, fs::copy_options::recursive);
    return dest;
}

inline void write_text(const std::filesystem::path& p, const std::string& text) {
    std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

inline std::string read_text(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace probe_test
