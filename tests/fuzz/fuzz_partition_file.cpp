// The partition-file compiler (vmm-tools/config/partition_file.cpp): TOML
// text to blob, in memory (compile_partition_text, no image directory, so no
// file system access), then the resource map natsume-config prints.
//
// Asserts: the compiler never throws; it succeeds exactly when it reports no
// error, with a blob, and never by way of its own last-resort self-check
// ("the compiled file fails the hypervisor's check": the offline checks
// must catch every problem first, with a file position); a blob it returns
// passes the hypervisor's validate_blob; every diagnostic names the file
// and a line inside it; notes come only with success.
#include <string>
#include <string_view>
#include <vector>

#include "common/config/validate.hpp"
#include "fuzz_util.hpp"
#include "vmm-tools/config/partition_file.hpp"
#include "vmm-tools/config/resource_map.hpp"

using namespace natsume;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    const tools::CompileResult r = tools::compile_partition_text(text, "fuzz.toml");
    uint32_t lines               = 1;
    for (char c : text) lines += c == '\n';

    FUZZ_CHECK(r.ok() == r.errors.empty());
    FUZZ_CHECK(r.ok() == !r.blob.empty());
    if (!r.ok()) FUZZ_CHECK(r.notes.empty());
    for (const tools::Diagnostic& d : r.errors) {
        FUZZ_CHECK(!d.is_note && d.file == "fuzz.toml" && !d.message.empty());
        FUZZ_CHECK(d.line <= lines);
        FUZZ_CHECK(d.message.rfind("the compiled file fails the hypervisor's check", 0) != 0);
        FUZZ_CHECK(d.str().rfind("fuzz.toml", 0) == 0);
    }
    for (const tools::Diagnostic& d : r.notes) {
        FUZZ_CHECK(d.is_note && d.line <= lines);
        (void)d.str();
    }
    if (!r.ok()) return 0;

    // The hypervisor copies the blob to an aligned buffer before validating it.
    std::vector<uint64_t> aligned((r.blob.size() + 7) / 8);
    std::memcpy(aligned.data(), r.blob.data(), r.blob.size());
    config::Report rep;
    FUZZ_CHECK(config::validate_blob(aligned.data(), r.blob.size(), rep));
    const auto* h = reinterpret_cast<const natsume_config_header*>(aligned.data());
    FUZZ_CHECK(!tools::resource_map(h, std::nullopt).empty());
    return 0;
}
