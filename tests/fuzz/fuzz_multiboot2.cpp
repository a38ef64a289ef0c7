// Multiboot2 boot information (hypervisor/lib/multiboot2.cpp) and the
// hypervisor command-line lookups on what it returns (hypervisor/lib/cmdline.cpp).
//
// The input is copied into a buffer of exactly its size (8-byte aligned, as
// the boot loader promises) so ASan sees any read past it. Asserts on
// success: counts within their arrays, info_size within the buffer, every
// string and RSDP copy inside the buffer and NUL-terminated there, modules
// with start <= end, memory ranges that do not wrap.
#include <memory>
#include <string>

#include "fuzz_util.hpp"
#include "hypervisor/lib/cmdline.hpp"
#include "hypervisor/lib/multiboot2.hpp"

using namespace natsume;

namespace {

struct Buffer {
    const uint8_t* begin;
    size_t size;
    FUZZ_MODEL bool holds(const void* p, size_t len) const {
        const auto* b = static_cast<const uint8_t*>(p);
        return b >= begin && b <= begin + size && len <= static_cast<size_t>(begin + size - b);
    }
    // A NUL-terminated string that ends inside the buffer.
    FUZZ_MODEL bool holds_string(const char* s) const {
        if (!holds(s, 0)) return false;
        for (const char* c = s; holds(c, 1); ++c)
            if (*c == '\0') return true;
        return false;
    }
};

void check(const mb2::Info& info, const Buffer& buf) {
    FUZZ_CHECK(info.info_size <= buf.size);
    FUZZ_CHECK(info.memory_count <= mb2::MAX_MEMORY_RANGES);
    FUZZ_CHECK(info.module_count <= mb2::MAX_MODULES);
    FUZZ_CHECK(buf.holds_string(info.cmdline) || info.cmdline[0] == '\0');
    FUZZ_CHECK(info.bootloader_name != nullptr);
    FUZZ_CHECK(buf.holds_string(info.bootloader_name) || info.bootloader_name[0] == '\0');
    for (size_t i = 0; i < info.memory_count; ++i)
        FUZZ_CHECK(info.memory[i].base + info.memory[i].length >= info.memory[i].base);
    for (size_t i = 0; i < info.module_count; ++i) {
        const mb2::Module& m = info.modules[i];
        FUZZ_CHECK(m.start <= m.end);
        FUZZ_CHECK(buf.holds_string(m.cmdline));
        const char* args = mb2::module_args(m);
        FUZZ_CHECK(buf.holds_string(args));
        // The module is found by its first word (an earlier one may share it).
        const std::string word(m.cmdline, std::strcspn(m.cmdline, " \t"));
        if (!word.empty()) {
            const mb2::Module* found = mb2::find_module(info, word.c_str());
            FUZZ_CHECK(found != nullptr && found <= &m);
        }
    }
    if (info.rsdp_v1 != nullptr) FUZZ_CHECK(buf.holds(info.rsdp_v1, info.rsdp_v1_len));
    if (info.rsdp_v2 != nullptr) FUZZ_CHECK(buf.holds(info.rsdp_v2, info.rsdp_v2_len));
    (void)mb2::find_module(info, "natsume-config");
    (void)cmdline::has_word(info.cmdline, "emulator-exit");
    (void)cmdline::number(info.cmdline, "log", 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static mb2::Info info;
    std::unique_ptr<uint8_t[]> copy(new uint8_t[size == 0 ? 1 : size]);
    if (size != 0) std::memcpy(copy.get(), data, size);
    if (mb2::parse(copy.get(), size, info) == mb2::Error::Ok) check(info, Buffer{copy.get(), size});
    return 0;
}
