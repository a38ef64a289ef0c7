// natsume.efi's pure parts (hypervisor/efi/): the loader file a person edits,
// and the firmware memory map it hands over, written into a multiboot2 block.
//
// The first byte chooses. 0-127: the rest is a loader file; on success every
// path starts with '\' and holds no '/', every string is NUL-terminated in its
// array, every module has a name. 128-255: the rest is a descriptor size and
// loader spans then an EFI memory map; on success the ranges are sorted,
// disjoint (for a map whose descriptors do not overlap), merged and within
// the cap, every loader span lies in reserved ranges only, and the block the
// builder writes from them parses with the hypervisor's own parser and gives
// back the same ranges.
#include <memory>
#include <string>

#include "fuzz_util.hpp"
#include "hypervisor/efi/info_builder.hpp"
#include "hypervisor/efi/loader_config.hpp"
#include "hypervisor/efi/memory_map.hpp"
#include "hypervisor/lib/multiboot2.hpp"

using namespace natsume;

namespace {

FUZZ_MODEL bool terminated(const char* s, size_t cap) { return std::memchr(s, 0, cap) != nullptr; }

void loader_file(const uint8_t* data, size_t size) {
    static efi::LoaderConfig cfg;
    efi::ConfigError err;
    std::unique_ptr<char[]> text(new char[size == 0 ? 1 : size]);
    if (size) std::memcpy(text.get(), data, size);
    if (!efi::parse_loader_config(text.get(), size, cfg, err)) {
        FUZZ_CHECK(terminated(err.text, sizeof err.text) && err.text[0] != '\0');
        return;
    }
    FUZZ_CHECK(cfg.hypervisor[0] == '\\' && terminated(cfg.hypervisor, efi::MAX_PATH));
    FUZZ_CHECK(std::strchr(cfg.hypervisor, '/') == nullptr);
    FUZZ_CHECK(terminated(cfg.cmdline, efi::MAX_CMDLINE));
    FUZZ_CHECK(cfg.module_count <= mb2::MAX_MODULES);
    for (size_t i = 0; i < cfg.module_count; ++i) {
        const efi::ModuleEntry& m = cfg.modules[i];
        FUZZ_CHECK(m.path[0] == '\\' && terminated(m.path, efi::MAX_PATH) && !std::strchr(m.path, '/'));
        FUZZ_CHECK(terminated(m.cmdline, efi::MAX_CMDLINE) && m.cmdline[0] != '\0' && m.cmdline[0] != ' ');
        FUZZ_CHECK(m.line >= 1);
    }
}

// Whether [base, base+size) is covered by reserved ranges only.
FUZZ_MODEL bool reserved_only(const mb2::MemoryRange* r, size_t n, const efi::Span& s) {
    for (size_t i = 0; i < n; ++i) {
        const uint64_t end = r[i].base + r[i].length, s_end = s.base + s.size;
        if (r[i].base < s_end && s.base < end && r[i].type == mb2::MEMORY_AVAILABLE) return false;
    }
    return true;
}

void memory_map(const uint8_t* data, size_t size) {
    if (size < 2) return;
    const size_t dsize = 40 + 8 * (data[0] & 3);
    const size_t spans = data[1] % 4;
    data += 2, size -= 2;
    efi::Span keep[4];
    for (size_t i = 0; i < spans; ++i, data += 16, size -= 16) {
        if (size < 16) return;
        // Page-aligned spans below 4 GiB, as the loader allocates them.
        keep[i] = {fuzz::load<uint32_t>(data) & ~0xfffull, (fuzz::load<uint32_t>(data + 8) & 0xffffff000ull)};
    }
    static mb2::MemoryRange scratch[512], out[mb2::MAX_MEMORY_RANGES];
    size_t n        = 0;
    efi::MapError e = efi::translate(data, size, dsize, keep, spans, scratch, 512, out, mb2::MAX_MEMORY_RANGES, n);
    if (e != efi::MapError::Ok) return;
    FUZZ_CHECK(n <= mb2::MAX_MEMORY_RANGES);
    for (size_t i = 0; i < n; ++i) {
        FUZZ_CHECK(out[i].length > 0);
        if (i) FUZZ_CHECK(out[i - 1].base <= out[i].base);
    }
    for (size_t i = 0; i < spans; ++i)
        if (keep[i].size) FUZZ_CHECK(reserved_only(out, n, keep[i]));

    alignas(8) static uint8_t block[8192];
    efi::InfoBuilder b(block, sizeof block);
    b.string(mb2::TAG_CMDLINE, "fuzz");
    b.memory_map(out, n);
    const size_t len = b.finish();
    if (len == 0) return;  // too large for this block: refused, not cut
    static mb2::Info info;
    FUZZ_CHECK(mb2::parse(block, len, info) == mb2::Error::Ok);
    FUZZ_CHECK(info.memory_count == n);
    for (size_t i = 0; i < n; ++i)
        FUZZ_CHECK(info.memory[i].base == out[i].base && info.memory[i].length == out[i].length &&
                   info.memory[i].type == out[i].type);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    if (data[0] < 128)
        loader_file(data + 1, size - 1);
    else
        memory_map(data + 1, size - 1);
    return 0;
}
