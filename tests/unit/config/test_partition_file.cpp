#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include "common/config/validate.hpp"
#include "vmm-tools/config/partition_file.hpp"
#include "vmm-tools/config/resource_map.hpp"
#include "vmm-tools/config/sizes.hpp"

using namespace natsume::tools;
namespace fs = std::filesystem;

namespace {

const fs::path kData = NATSUME_CONFIG_TEST_DATA;
const fs::path kConfigs = NATSUME_CONFIGS_DIR;

std::string all_errors(const CompileResult& r) {
    std::string s;
    for (const auto& d : r.errors)
        s += d.str() + "\n";
    return s;
}

const natsume_config_header& header(const CompileResult& r) {
    return *reinterpret_cast<const natsume_config_header*>(r.blob.data());
}

const natsume_config_partition& part(const CompileResult& r, uint32_t i) {
    return natsume::config::partitions(&header(r))[i];
}

// A minimal valid file with one partition whose body lines are replaced.
std::string one_partition(const std::string& body) {
    return "version = 1\nname = \"t\"\n[[partition]]\n" + body;
}
const std::string kBody =
    "name = \"p\"\ncores = [1]\nram = { base = 0x04000000, size = \"32M\" }\nimage = \"g\"\nlapic = \"passthrough\"\n";

}  // namespace

TEST_CASE("sizes parse integers, suffixes and hex", "[config][sizes]") {
    CHECK(parse_size("32M") == 32ull << 20);
    CHECK(parse_size("1G") == 1ull << 30);
    CHECK(parse_size("512K") == 512ull << 10);
    CHECK(parse_size("64MiB") == 64ull << 20);
    CHECK(parse_size(" 4 M ") == 4ull << 20);
    CHECK(parse_size("0x2000000") == 0x2000000ull);
    CHECK(parse_size("4096") == 4096ull);
    CHECK_FALSE(parse_size("32X"));
    CHECK_FALSE(parse_size("M"));
    CHECK_FALSE(parse_size(""));
    CHECK_FALSE(parse_size("-4M"));
    CHECK_FALSE(parse_size("0x10M"));
    CHECK_FALSE(parse_size("99999999999999999999"));
    CHECK_FALSE(parse_size("17179869184G"));  // 2^34 GiB does not fit in 64 bits
    CHECK(format_size(32ull << 20) == "32M");
    CHECK(format_size(1ull << 30) == "1G");
    CHECK(format_size(34ull << 20) == "34M");
    CHECK(format_size(0x1234) == "0x1234");
}

TEST_CASE("configs/default.toml compiles to the documented layout", "[config][compiler]") {
    CompileResult r = compile_partition_file(kConfigs / "default.toml");
    INFO(all_errors(r));
    REQUIRE(r.ok());
    REQUIRE(r.blob.size() == sizeof(natsume_config_header) + 2 * sizeof(natsume_config_partition));
    natsume::config::Report rep;
    CHECK(natsume::config::validate_blob(r.blob.data(), r.blob.size(), rep));
    CHECK(std::string(header(r).name) == "default");
    CHECK(header(r).partition_count == 2);
    const auto& rt = part(r, 0);
    CHECK(std::string(rt.name) == "rt0");
    CHECK(rt.core_count == 1);
    CHECK(rt.cores[0] == 1);
    CHECK(rt.ram_base == 0x04000000);
    CHECK(rt.ram_size == 32ull << 20);
    CHECK(std::string(rt.image) == "guest-kernel");
    CHECK(std::string(rt.cmdline) == "role=rt");
    CHECK(rt.lapic_mode == NATSUME_LAPIC_PASSTHROUGH);
    const auto& gp = part(r, 1);
    CHECK(std::string(gp.name) == "gp0");
    CHECK(gp.cores[0] == 2);
    CHECK(gp.ram_base == 0x06000000);
    CHECK(std::string(gp.cmdline) == "role=gp");
}

TEST_CASE("compiling is deterministic", "[config][compiler]") {
    CompileResult a = compile_partition_file(kConfigs / "default.toml");
    CompileResult b = compile_partition_file(kConfigs / "default.toml");
    REQUIRE(a.ok());
    CHECK(a.blob == b.blob);
}

TEST_CASE("the integration-test configs are valid offline", "[config][compiler]") {
    for (const char* f : {"fault-triple.toml", "fault-ept.toml", "bad-core.toml", "bad-ram.toml"}) {
        CompileResult r = compile_partition_file(kConfigs / "tests" / f);
        INFO(f << "\n" << all_errors(r));
        CHECK(r.ok());
    }
    CHECK(std::string(part(compile_partition_file(kConfigs / "tests/fault-triple.toml"), 1).cmdline) ==
          "test=triple-fault");
    CHECK(std::string(part(compile_partition_file(kConfigs / "tests/fault-ept.toml"), 1).cmdline) ==
          "test=read-outside");
    CHECK(part(compile_partition_file(kConfigs / "tests/bad-core.toml"), 1).cores[0] == 5);
    CHECK(part(compile_partition_file(kConfigs / "tests/bad-ram.toml"), 1).ram_base == 0x40000000);
}

TEST_CASE("invalid files report every error with file:line:col", "[config][compiler]") {
    struct Case {
        const char* file;
        std::vector<std::string> expected;  // one fragment per error, in order
    };
    const Case cases[] = {
        {"overlap.toml",
         {"overlap.toml:16:7: error: ram 0x5000000+0x2000000 of partition 'gp0' overlaps partition 'rt0' "
          "(0x4000000+0x2000000, line 8); e.g. base = 0x6000000"}},
        {"duplicate-core.toml",
         {"duplicate-core.toml:15:10: error: core 1 of partition 'gp0' is already given to partition 'rt0' (line 7)"}},
        {"duplicate-name.toml", {"duplicate-name.toml:14:8: error: partition name 'rt0' is already used at line 6"}},
        {"unknown-key.toml",
         {"unknown-key.toml:13:1: error: missing key 'cores' in partition 'gp0'",
          "unknown-key.toml:15:1: error: unknown key 'core' in partition 'gp0' (did you mean 'cores'?); allowed keys: "
          "name, cores, ram, image, cmdline, lapic",
          "unknown-key.toml:16:42: error: unknown key 'sise' in the ram of partition 'gp0' (did you mean 'size'?)"}},
        {"misaligned.toml",
         {"misaligned.toml:16:16: error: ram base 0x6100000 of partition 'gp0' is not a multiple of 2 MiB",
          "misaligned.toml:16:35: error: ram size 0x2100000 of partition 'gp0' is not a multiple of 2 MiB; nearest "
          "aligned: \"32M\" or \"34M\""}},
        {"bad-size.toml",
         {"bad-size.toml:15:9: error: partition 'gp0' lists 2 cores; multi-core partitions are not supported yet",
          "bad-size.toml:16:35: error: ram size \"32X\" of partition 'gp0' is not a size",
          "bad-size.toml:18:9: error: lapic = \"trapped\" in partition 'gp0' is not supported yet"}},
        {"small-ram.toml", {"small-ram.toml:16:35: error: ram size 2 MiB of partition 'gp0' is below the minimum of 4 MiB"}},
        {"missing-key.toml",
         {"missing-key.toml:13:1: error: missing key 'ram' in partition 'gp0'",
          "missing-key.toml:13:1: error: missing key 'image' in partition 'gp0'"}},
        {"wrong-type.toml",
         {"wrong-type.toml:14:8: error: partition name 'GP 0' contains 'G'",
          "wrong-type.toml:15:9: error: cores of partition 2 must be an array of local APIC IDs, not an integer",
          "wrong-type.toml:16:7: error: ram of partition 2 must be a table, not a string",
          "wrong-type.toml:17:9: error: image of partition 2 must be a string, not an integer",
          "wrong-type.toml:18:11: error: cmdline of partition 2 must be a string, not an array",
          "wrong-type.toml:19:9: error: lapic = \"auto\" in partition 2 is not a LAPIC mode"}},
        {"syntax.toml", {"syntax.toml:6:40: error: invalid TOML"}},
        {"top-level.toml",
         {"top-level.toml:1:1: error: missing key 'name' at the top level",
          "top-level.toml:1:1: error: no [[partition]] table",
          "top-level.toml:2:11: error: version 2 is not supported",
          "top-level.toml:3:1: error: unknown key 'machine' at the top level"}},
    };
    for (const auto& c : cases) {
        fs::path file = kData / c.file;
        // Messages name the file as given; use the bare name for stable text.
        std::ifstream in(file);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        CompileResult r = compile_partition_text(text, c.file);
        INFO(c.file << "\n" << all_errors(r));
        CHECK(r.blob.empty());
        REQUIRE(r.errors.size() == c.expected.size());
        for (size_t i = 0; i < c.expected.size(); ++i)
            CHECK_THAT(r.errors[i].str(), Catch::StartsWith(c.expected[i]));
    }
}

TEST_CASE("images are looked up in the image directory", "[config][compiler]") {
    CompileOptions with_dir{kData / "images"};
    CompileResult ok = compile_partition_file(kConfigs / "default.toml", with_dir);
    INFO(all_errors(ok));
    CHECK(ok.ok());
    CompileResult missing = compile_partition_file(kData / "missing-image.toml", with_dir);
    REQUIRE(missing.errors.size() == 1);
    CHECK_THAT(missing.errors[0].str(),
               Catch::Contains(":17:9: error: image 'no-such-guest' not found in " + (kData / "images").string() +
                               " (available: guest-kernel, linux)"));
    // Without a directory the name alone is accepted.
    CHECK(compile_partition_file(kData / "missing-image.toml").ok());
}

TEST_CASE("single-field rules", "[config][compiler]") {
    struct Case {
        std::string from, to, expected;
    };
    const Case cases[] = {
        {"cores = [1]", "cores = []", "cores of partition 'p' is empty"},
        {"cores = [1]", "cores = [256]", "core 256 in partition 'p' is not a local APIC ID; use 0 to 255"},
        {"cores = [1]", "cores = [-1]", "core -1 in partition 'p' is not a local APIC ID"},
        {"cores = [1]", "cores = [1, 1]", "core 1 is given twice in partition 'p'"},
        {"cores = [1]", "cores = [\"1\"]", "core in partition 'p' must be an integer local APIC ID, not a string"},
        {"size = \"32M\"", "size = \"1M\"", "ram size 0x100000 of partition 'p' is not a multiple of 2 MiB; nearest "
                                            "aligned: \"2M\""},
        {"size = \"32M\"", "size = -4", "ram size of partition 'p' is negative"},
        {"size = \"32M\"", "size = 3.5", "ram size of partition 'p' must be an integer or a size string"},
        {"base = 0x04000000, ", "", "missing key 'base' in the ram of partition 'p'"},
        {"base = 0x04000000", "base = \"0xffffffffffe00000\"", "ram 0xffffffffffe00000+0x2000000 of partition 'p' runs "
                                                            "past the end of the address space"},
        {"image = \"g\"", "image = \"\"", "image of partition 'p' is empty"},
        {"image = \"g\"", "image = \"../g\"", "image '../g' of partition 'p' contains '/'"},
        {"image = \"g\"", "image = \"" + std::string(64, 'g') + "\"", "is 64 characters long; the limit is 63"},
        {"name = \"p\"", "name = \"" + std::string(32, 'p') + "\"", "is 32 characters long; the limit is 31"},
        {"name = \"p\"", "name = \"\"", "partition name is empty"},
        {"name = \"p\"", "", "missing key 'name' in partition 1"},
        {"lapic = \"passthrough\"", "", "missing key 'lapic' in partition 'p'"},
        {"lapic = \"passthrough\"", "lapic = \"passthrough\"\ncmdline = \"" + std::string(256, 'c') + "\"",
         "cmdline of partition 'p' is 256 characters long; the limit is 255"},
    };
    for (const auto& c : cases) {
        std::string body = kBody;
        auto at = body.find(c.from);
        REQUIRE(at != std::string::npos);
        body.replace(at, c.from.size(), c.to);
        CompileResult r = compile_partition_text(one_partition(body), "t.toml");
        INFO(body << "\n" << all_errors(r));
        REQUIRE(r.errors.size() == 1);
        CHECK_THAT(r.errors[0].message, Catch::Contains(c.expected));
    }
}

TEST_CASE("limits on the number of partitions", "[config][compiler]") {
    std::string text = "version = 1\nname = \"many\"\n";
    for (int i = 0; i < 17; ++i)
        text += "[[partition]]\nname = \"p" + std::to_string(i) + "\"\ncores = [" + std::to_string(i + 1) +
                "]\nram = { base = " + std::to_string(0x04000000ull + i * 0x00400000ull) +
                ", size = \"4M\" }\nimage = \"g\"\nlapic = \"passthrough\"\n";
    CompileResult r = compile_partition_text(text, "many.toml");
    REQUIRE(r.errors.size() == 1);
    CHECK_THAT(r.errors[0].str(), Catch::Contains("17 partitions given; at most 16 are supported"));

    CompileResult none = compile_partition_text("version = 1\nname = \"x\"\npartition = 3\n", "none.toml");
    REQUIRE(none.errors.size() == 1);
    CHECK_THAT(none.errors[0].str(), Catch::Contains("none.toml:3:13: error: partition must be an array of tables"));
}

TEST_CASE("the resource map names every resource", "[config][compiler]") {
    CompileResult r = compile_partition_file(kConfigs / "default.toml");
    REQUIRE(r.ok());
    std::string map = resource_map(&header(r), kData / "images");
    CHECK_THAT(map, Catch::Contains("machine 'default': 2 partitions, partition cores 1 2"));
    CHECK_THAT(map, Catch::Contains("partition 'rt0'\n  core     1\n  ram      host 0x4000000-0x5ffffff (32 MiB), "
                                    "guest 0x0-0x1ffffff\n  image    guest-kernel (found: "));
    CHECK_THAT(map, Catch::Contains("  lapic    passthrough\n  cmdline  role=gp\n"));
    CHECK_THAT(resource_map(&header(r), std::nullopt), Catch::Contains("(not checked: no --image-dir)"));
}

TEST_CASE("encode_blob output is what validate_blob expects", "[config][compiler]") {
    Machine m{"m", {}};
    natsume_config_partition p{};
    std::strcpy(p.name, "a");
    std::strcpy(p.image, "g");
    p.ram_base = 0x4000000;
    p.ram_size = 0x400000;
    p.core_count = 1;
    p.cores[0] = 3;
    p.lapic_mode = NATSUME_LAPIC_PASSTHROUGH;
    m.partitions.push_back(p);
    auto blob = encode_blob(m);
    natsume::config::Report rep;
    CHECK(natsume::config::validate_blob(blob.data(), blob.size(), rep));
    blob[100] ^= 0x01;  // one flipped bit in the first partition's image field
    CHECK_FALSE(natsume::config::validate_blob(blob.data(), blob.size(), rep));
    CHECK_THAT(std::string(rep.text), Catch::Contains("crc32 is"));
}
