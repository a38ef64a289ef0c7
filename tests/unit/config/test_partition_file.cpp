#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include "common/config/validate.hpp"
#include "vmm-tools/config/partition_file.hpp"
#include "vmm-tools/config/pci_names.hpp"
#include "vmm-tools/config/resource_map.hpp"
#include "vmm-tools/config/sizes.hpp"

using namespace natsume::tools;
namespace fs = std::filesystem;

namespace {

const fs::path DATA    = NATSUME_CONFIG_TEST_DATA;
const fs::path CONFIGS = NATSUME_CONFIGS_DIR;

std::string all_errors(const CompileResult& r) {
    std::string s;
    for (const auto& d : r.errors) s += d.str() + "\n";
    return s;
}

const natsume_config_header& header(const CompileResult& r) {
    return *reinterpret_cast<const natsume_config_header*>(r.blob.data());
}

const natsume_config_partition& part(const CompileResult& r, uint32_t i) {
    return natsume::config::partitions(&header(r))[i];
}

// A minimal valid file with one partition whose body lines are replaced.
std::string one_partition(const std::string& body) { return "version = 1\nname = \"t\"\n[[partition]]\n" + body; }
const std::string BODY =
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
    CompileResult r = compile_partition_file(CONFIGS / "default.toml");
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
    CompileResult a = compile_partition_file(CONFIGS / "default.toml");
    CompileResult b = compile_partition_file(CONFIGS / "default.toml");
    REQUIRE(a.ok());
    CHECK(a.blob == b.blob);
}

TEST_CASE("the integration-test configs are valid offline", "[config][compiler]") {
    for (const char* f : {"fault-triple.toml", "fault-ept.toml", "bad-core.toml", "bad-ram.toml"}) {
        CompileResult r = compile_partition_file(CONFIGS / "tests" / f);
        INFO(f << "\n" << all_errors(r));
        CHECK(r.ok());
    }
    CHECK(std::string(part(compile_partition_file(CONFIGS / "tests/fault-triple.toml"), 1).cmdline) ==
          "test=triple-fault");
    CHECK(std::string(part(compile_partition_file(CONFIGS / "tests/fault-ept.toml"), 1).cmdline) ==
          "test=read-outside");
    CHECK(part(compile_partition_file(CONFIGS / "tests/bad-core.toml"), 1).cores[0] == 5);
    CHECK(part(compile_partition_file(CONFIGS / "tests/bad-ram.toml"), 1).ram_base == 0x40000000);
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
          "name, cores, ram, image, cmdline, lapic, dma, device",
          "unknown-key.toml:16:42: error: unknown key 'sise' in the ram of partition 'gp0' (did you mean 'size'?)"}},
        {"misaligned.toml",
         {"misaligned.toml:16:16: error: ram base 0x6100000 of partition 'gp0' is not a multiple of 2 MiB",
          "misaligned.toml:16:35: error: ram size 0x2100000 of partition 'gp0' is not a multiple of 2 MiB; nearest "
          "aligned: \"32M\" or \"34M\""}},
        {"bad-size.toml",
         {"bad-size.toml:15:9: error: partition 'gp0' lists 2 cores, but the project's kernel runs on one core",
          "bad-size.toml:16:35: error: ram size \"32X\" of partition 'gp0' is not a size"}},
        {"multi-core-kernel.toml",
         {"multi-core-kernel.toml:14:9: error: partition 'gp0' lists 2 cores, but the project's kernel runs on one "
          "core "
          "(multi-core partitions are for kind = \"linux\"); write cores = [2]",
          "multi-core-kernel.toml:22:9: error: partition 'gp1' lists 2 cores, but the project's kernel runs on one "
          "core "
          "(multi-core partitions are for kind = \"linux\"); write cores = [4]"}},
        {"linux-too-many-cores.toml",
         {"linux-too-many-cores.toml:8:9: error: partition 'linux0' lists 9 cores; a Linux partition has at most 8, "
          "e.g. cores = [1, 2, 3, 4, 5, 6, 7, 8]"}},
        {"linux-core-twice.toml",
         {"linux-core-twice.toml:8:16: error: core 2 is given twice in partition 'linux0'; list each core once"}},
        {"linux-core-taken.toml",
         {"linux-core-taken.toml:23:10: error: core 3 of partition 'gp0' is already given to partition 'linux0' (line "
          "16); a core belongs to one partition only",
          "linux-core-taken.toml:31:13: error: core 1 of partition 'linux1' is already given to partition 'rt0' (line "
          "8); a core belongs to one partition only"}},
        {"small-ram.toml",
         {"small-ram.toml:16:35: error: ram size 2 MiB of partition 'gp0' is below the minimum of 4 MiB"}},
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
        {"bad-bdf.toml",
         {"bad-bdf.toml:15:7: error: bdf \"00:2g.0\" of device 1 of partition 'rt0' is not bus:device.function in "
          "hex, e.g. \"00:02.0\"",
          "bad-bdf.toml:18:7: error: bdf \"0:2\" of device 2 of partition 'rt0' is not bus:device.function",
          "bad-bdf.toml:21:7: error: bdf \"00:02.0.1\" of device 3 of partition 'rt0' is not bus:device.function"}},
        {"bdf-range.toml",
         {"bdf-range.toml:15:7: error: bdf \"00:20.0\" of device 1 of partition 'rt0' has device 0x20; devices are 00 "
          "to 1f",
          "bdf-range.toml:18:7: error: bdf \"100:00.0\" of device 2 of partition 'rt0' has bus 0x100; buses are 00 to "
          "ff",
          "bdf-range.toml:21:7: error: bdf \"00:02.8\" of device 3 of partition 'rt0' has function 0x8; functions are "
          "0 to 7"}},
        {"bad-id.toml",
         {"bad-id.toml:16:6: error: id \"8086-100e\" of device 00:02.0 of partition 'rt0' is not vendor:device in hex",
          "bad-id.toml:20:6: error: id \"ffff:0001\" of device 00:03.0 of partition 'rt0' uses ffff, which no device "
          "has",
          "bad-id.toml:24:6: error: id \"8086:1000e\" of device 00:04.0 of partition 'rt0' is not vendor:device"}},
        {"too-many-devices.toml",
         {"too-many-devices.toml:38:1: error: partition 'rt0' has 9 devices; at most 8 are supported"}},
        {"duplicate-device.toml",
         {"duplicate-device.toml:30:7: error: device 00:02.0 is given to both 'rt0' and 'gp0': a device belongs to one "
          "partition (line 15)"}},
        {"dma-misaligned.toml",
         {"dma-misaligned.toml:9:16: error: dma base 0x8100000 of partition 'rt0' is not a multiple of 2 MiB (EPT maps "
          "the window with 2 MiB pages); nearest aligned: 0x8000000 or 0x8200000",
          "dma-misaligned.toml:9:35: error: dma size 0x300000 of partition 'rt0' is not a multiple of 2 MiB; nearest "
          "aligned: \"2M\" or \"4M\""}},
        {"dma-small.toml",
         {"dma-small.toml:9:35: error: dma size of partition 'rt0' is 0; a dma window is at least 2 MiB"}},
        {"dma-overlap.toml",
         {"dma-overlap.toml:21:7: error: dma window 0x8400000+0x800000 of partition 'gp0' overlaps the dma window of "
          "partition 'rt0' (0x8000000+0x800000, line 9)",
          "dma-overlap.toml:32:7: error: dma window 0x5000000+0x400000 of partition 'gp1' overlaps the ram of "
          "partition 'rt0' (0x4000000+0x2000000, line 8)"}},
        {"dma-guest-ram.toml",
         {"dma-guest-ram.toml:9:7: error: dma window 0x1000000+0x800000 of partition 'rt0' starts inside its guest RAM "
          "(guest 0x0-0x1ffffff); the window appears at its host address, so its base must be at least 0x2000000"}},
        {"device-keys.toml",
         {"device-keys.toml:9:7: error: missing key 'size' in the dma window of partition 'rt0'",
          "device-keys.toml:9:28: error: unknown key 'sise' in the dma window of partition 'rt0' (did you mean "
          "'size'?)",
          "device-keys.toml:16:1: error: unknown key 'irq' in device 1 of partition 'rt0' (did you mean 'id'?); "
          "allowed keys: bdf, id, intx_gsi, dma",
          "device-keys.toml:20:12: error: intx_gsi of device 00:03.0 of partition 'rt0' must be an integer, not a "
          "string",
          "device-keys.toml:21:7: error: dma of device 00:03.0 of partition 'rt0' must be true or false, not a string",
          "device-keys.toml:23:1: error: missing key 'bdf' in device 3 of partition 'rt0'",
          "device-keys.toml:25:12: error: intx_gsi 300 of device 3 of partition 'rt0' is out of range; use 0 to 255"}},
        {"top-level.toml",
         {"top-level.toml:1:1: error: missing key 'name' at the top level",
          "top-level.toml:1:1: error: no [[partition]] table", "top-level.toml:2:11: error: version 2 is not supported",
          "top-level.toml:3:1: error: unknown key 'machine' at the top level"}},
    };
    for (const auto& c : cases) {
        fs::path file = DATA / c.file;
        // Messages name the file as given; use the bare name for stable text.
        std::ifstream in(file);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        CompileResult r = compile_partition_text(text, c.file);
        INFO(c.file << "\n" << all_errors(r));
        CHECK(r.blob.empty());
        REQUIRE(r.errors.size() == c.expected.size());
        for (size_t i = 0; i < c.expected.size(); ++i) CHECK_THAT(r.errors[i].str(), Catch::StartsWith(c.expected[i]));
    }
}

TEST_CASE("images are looked up in the image directory", "[config][compiler]") {
    CompileOptions with_dir{DATA / "images"};
    CompileResult ok = compile_partition_file(CONFIGS / "default.toml", with_dir);
    INFO(all_errors(ok));
    CHECK(ok.ok());
    CompileResult missing = compile_partition_file(DATA / "missing-image.toml", with_dir);
    REQUIRE(missing.errors.size() == 1);
    CHECK_THAT(missing.errors[0].str(),
               Catch::Contains(":17:9: error: image 'no-such-guest' not found in " + (DATA / "images").string() +
                               " (available: guest-kernel, linux)"));
    // Without a directory the name alone is accepted.
    CHECK(compile_partition_file(DATA / "missing-image.toml").ok());
}

TEST_CASE("single-field rules", "[config][compiler]") {
    struct Case {
        std::string from, to, expected;
    };
    const Case cases[] = {
        {"cores = [1]", "cores = []", "cores of partition 'p' is empty; give at least one local APIC ID"},
        {"cores = [1]", "cores = [256]", "core 256 in partition 'p' is not a local APIC ID; use 0 to 255"},
        {"cores = [1]", "cores = [-1]", "core -1 in partition 'p' is not a local APIC ID"},
        {"cores = [1]", "cores = [1, 1]", "core 1 is given twice in partition 'p'; list each core once"},
        {"cores = [1]", "cores = [1, 2]",
         "partition 'p' lists 2 cores, but the project's kernel runs on one core (multi-core partitions are for kind "
         "= \"linux\"); write cores = [1]"},
        {"cores = [1]", "cores = [\"1\"]", "core in partition 'p' must be an integer local APIC ID, not a string"},
        {"size = \"32M\"", "size = \"1M\"",
         "ram size 0x100000 of partition 'p' is not a multiple of 2 MiB; nearest "
         "aligned: \"2M\""},
        {"size = \"32M\"", "size = -4", "ram size of partition 'p' is negative"},
        {"size = \"32M\"", "size = 3.5", "ram size of partition 'p' must be an integer or a size string"},
        {"base = 0x04000000, ", "", "missing key 'base' in the ram of partition 'p'"},
        {"base = 0x04000000", "base = \"0xffffffffffe00000\"",
         "ram 0xffffffffffe00000+0x2000000 of partition 'p' runs "
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
        {"lapic = \"passthrough\"", "lapic = \"passthrough\"\nallow_smt_sharing = 1",
         "allow_smt_sharing of partition 'p' must be true or false, not an integer"},
    };
    for (const auto& c : cases) {
        std::string body = BODY;
        auto at          = body.find(c.from);
        REQUIRE(at != std::string::npos);
        body.replace(at, c.from.size(), c.to);
        CompileResult r = compile_partition_text(one_partition(body), "t.toml");
        INFO(body << "\n" << all_errors(r));
        REQUIRE(r.errors.size() == 1);
        CHECK_THAT(r.errors[0].message, Catch::Contains(c.expected));
    }
}

TEST_CASE("allow_smt_sharing and allow_unisolated_dma set the partition's flags", "[config][compiler][smt]") {
    struct Key {
        const char* name;
        uint32_t flag;
    };
    for (Key k : {Key{"allow_smt_sharing", NATSUME_PARTITION_SHARE_SMT},
                  Key{"allow_unisolated_dma", NATSUME_PARTITION_UNISOLATED_DMA}}) {
        for (bool on : {true, false}) {
            std::string body = BODY;
            body.replace(body.find("lapic = \"passthrough\""), 21,
                         std::string("lapic = \"passthrough\"\n") + k.name + " = " + (on ? "true" : "false"));
            CompileResult r = compile_partition_text(one_partition(body), "t.toml");
            INFO(k.name << " " << all_errors(r));
            REQUIRE(r.ok());
            CHECK(part(r, 0).flags == (on ? k.flag : 0u));
        }
    }
}

TEST_CASE("l1d_flush defaults to on for a trapped (untrusted) partition, off for a passthrough one",
          "[config][compiler]") {
    struct Case {
        const char* lapic;
        const char* extra;
        bool flush;
    };
    for (Case c : {Case{"passthrough", "", false}, Case{"trapped", "", true},
                   Case{"trapped", "\nl1d_flush = false", false}, Case{"passthrough", "\nl1d_flush = true", true}}) {
        std::string body = BODY;
        body.replace(body.find("lapic = \"passthrough\""), 21, std::string("lapic = \"") + c.lapic + "\"" + c.extra);
        CompileResult r = compile_partition_text(one_partition(body), "t.toml");
        INFO(c.lapic << c.extra << " " << all_errors(r));
        REQUIRE(r.ok());
        CHECK(((part(r, 0).flags & NATSUME_PARTITION_L1D_FLUSH) != 0) == c.flush);
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
    CompileResult r = compile_partition_file(CONFIGS / "default.toml");
    REQUIRE(r.ok());
    std::string map = resource_map(&header(r), DATA / "images");
    CHECK_THAT(map, Catch::Contains("machine 'default': 2 partitions, partition cores 1 2"));
    CHECK_THAT(map, Catch::Contains("partition 'rt0'\n  core     1\n  ram      host 0x4000000-0x5ffffff (32 MiB), "
                                    "guest 0x0-0x1ffffff\n  image    guest-kernel (found: "));
    CHECK_THAT(map, Catch::Contains("  lapic    trapped\n  l1d      flushed on every VM entry\n  cmdline  role=gp\n"));
    CHECK_THAT(resource_map(&header(r), std::nullopt), Catch::Contains("(not checked: no --image-dir)"));
}

TEST_CASE("encode_blob output is what validate_blob expects", "[config][compiler]") {
    Machine m{"m", {}, {}};
    natsume_config_partition p{};
    std::strcpy(p.name, "a");
    std::strcpy(p.image, "g");
    p.ram_base   = 0x4000000;
    p.ram_size   = 0x400000;
    p.core_count = 1;
    p.cores[0]   = 3;
    p.lapic_mode = NATSUME_LAPIC_PASSTHROUGH;
    m.partitions.push_back(p);
    auto blob = encode_blob(m);
    natsume::config::Report rep;
    CHECK(natsume::config::validate_blob(blob.data(), blob.size(), rep));
    blob[100] ^= 0x01;  // one flipped bit in the first partition's image field
    CHECK_FALSE(natsume::config::validate_blob(blob.data(), blob.size(), rep));
    CHECK_THAT(std::string(rep.text), Catch::Contains("crc32 is"));
}

TEST_CASE("PCI names parse and print", "[config][pci-names]") {
    auto bdf       = [](std::string_view t) { return std::get<uint16_t>(parse_bdf(t)); };
    auto bdf_error = [](std::string_view t) { return std::get<std::string>(parse_bdf(t)); };
    CHECK(bdf("00:02.0") == NATSUME_BDF(0, 2, 0));
    CHECK(bdf("0:2.0") == NATSUME_BDF(0, 2, 0));
    CHECK(bdf("ff:1f.7") == NATSUME_BDF(0xff, 0x1f, 7));
    CHECK(bdf("1A:0b.3") == NATSUME_BDF(0x1a, 0xb, 3));
    CHECK_THAT(bdf_error("00:02"), Catch::StartsWith("is not bus:device.function in hex"));
    CHECK_THAT(bdf_error("00.02:0"), Catch::StartsWith("is not bus:device.function"));
    CHECK_THAT(bdf_error(":02.0"), Catch::StartsWith("is not bus:device.function"));
    CHECK_THAT(bdf_error("00:02.0 "), Catch::StartsWith("is not bus:device.function"));
    CHECK_THAT(bdf_error("0x0:02.0"), Catch::StartsWith("is not bus:device.function"));
    CHECK_THAT(bdf_error("-1:02.0"), Catch::StartsWith("is not bus:device.function"));
    CHECK_THAT(bdf_error("0000:00:02.0"), Catch::StartsWith("is not bus:device.function"));
    CHECK(bdf_error("100:00.0") == "has bus 0x100; buses are 00 to ff");
    CHECK(bdf_error("00:20.0") == "has device 0x20; devices are 00 to 1f");
    CHECK(bdf_error("00:00.8") == "has function 0x8; functions are 0 to 7");
    CHECK(format_bdf(NATSUME_BDF(0, 2, 0)) == "00:02.0");
    CHECK(format_bdf(NATSUME_BDF(0xab, 0x1f, 7)) == "ab:1f.7");

    auto id = parse_pci_id("8086:100E");
    REQUIRE(std::holds_alternative<PciId>(id));
    CHECK(std::get<PciId>(id).vendor == 0x8086);
    CHECK(std::get<PciId>(id).device == 0x100e);
    CHECK(std::get<PciId>(parse_pci_id("1:2")).device == 2);
    for (const char* bad : {"8086", "8086:", ":100e", "8086:100e0", "80x6:100e", "8086:100e:1"})
        CHECK_THAT(std::get<std::string>(parse_pci_id(bad)), Catch::StartsWith("is not vendor:device in hex"));
    CHECK_THAT(std::get<std::string>(parse_pci_id("8086:ffff")), Catch::StartsWith("uses ffff"));
}

TEST_CASE("configs/passthrough.toml compiles with devices and DMA windows", "[config][compiler][devices]") {
    CompileResult r = compile_partition_file(CONFIGS / "passthrough.toml");
    INFO(all_errors(r));
    REQUIRE(r.ok());
    CHECK(r.notes.empty());
    const auto& rt = part(r, 0);
    CHECK(rt.dma_base == 0x08000000);
    CHECK(rt.dma_size == 8ull << 20);
    REQUIRE(rt.device_count == 1);
    CHECK(rt.devices[0].bdf == NATSUME_BDF(0, 2, 0));
    CHECK(rt.devices[0].vendor_id == 0x8086);
    CHECK(rt.devices[0].device_id == 0x100e);
    CHECK(rt.devices[0].flags == 0);
    CHECK(rt.devices[0].intx_gsi == NATSUME_GSI_AUTO);
    CHECK(rt.devices[0].reserved == 0);
    const auto& gp = part(r, 1);
    CHECK(gp.dma_base == 0x08800000);
    CHECK(gp.dma_size == 8ull << 20);
    REQUIRE(gp.device_count == 1);
    CHECK(gp.devices[0].bdf == NATSUME_BDF(0, 3, 0));
    CHECK(gp.devices[0].vendor_id == 0xfefe);
    CHECK(gp.devices[0].device_id == 0xefef);
    // Unused slots stay zero: validate_blob insists.
    CHECK(gp.devices[1].bdf == 0);
    CHECK(gp.devices[1].intx_gsi == 0);
}

TEST_CASE("device keys reach the blob", "[config][compiler][devices]") {
    std::string text = one_partition(BODY +
                                     "dma = { base = \"0x10000000\", size = 0x400000 }\n"
                                     "[[partition.device]]\nbdf = \"01:1f.7\"\nintx_gsi = 0\ndma = false\n"
                                     "[[partition.device]]\nbdf = \"00:02.0\"\ndma = true\n");
    CompileResult r  = compile_partition_text(text, "t.toml");
    INFO(all_errors(r));
    REQUIRE(r.ok());
    const auto& p = part(r, 0);
    CHECK(p.dma_base == 0x10000000);
    CHECK(p.dma_size == 0x400000);
    REQUIRE(p.device_count == 2);
    CHECK(p.devices[0].bdf == NATSUME_BDF(1, 0x1f, 7));
    CHECK(p.devices[0].intx_gsi == 0);
    CHECK(p.devices[0].flags == NATSUME_DEVICE_NO_DMA);
    CHECK(p.devices[0].vendor_id == NATSUME_DEVICE_ANY_ID);
    CHECK(p.devices[0].device_id == NATSUME_DEVICE_ANY_ID);
    CHECK(p.devices[1].flags == 0);
    // A partition without dma and devices keeps them zero.
    CompileResult plain = compile_partition_text(one_partition(BODY), "t.toml");
    REQUIRE(plain.ok());
    CHECK(part(plain, 0).dma_size == 0);
    CHECK(part(plain, 0).device_count == 0);
}

TEST_CASE("a device given twice in one partition is refused", "[config][compiler][devices]") {
    std::string text = one_partition(BODY +
                                     "dma = { base = 0x08000000, size = \"2M\" }\n"
                                     "[[partition.device]]\nbdf = \"00:02.0\"\n"
                                     "[[partition.device]]\nbdf = \"0:2.0\"\n");
    CompileResult r  = compile_partition_text(text, "t.toml");
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].str() == "t.toml:13:7: error: device 00:02.0 is given twice in partition 'p' (line 11)");
}

TEST_CASE("wrong shapes of dma and device are refused", "[config][compiler][devices]") {
    CompileResult a = compile_partition_text(one_partition(BODY + "dma = \"8M\"\n"), "t.toml");
    REQUIRE(a.errors.size() == 1);
    CHECK_THAT(a.errors[0].str(), Catch::Contains("dma of partition 'p' must be a table, not a string"));
    CompileResult b = compile_partition_text(one_partition(BODY + "device = \"00:02.0\"\n"), "t.toml");
    REQUIRE(b.errors.size() == 1);
    CHECK_THAT(b.errors[0].str(), Catch::Contains("device of partition 'p' must be an array of tables"));
    CompileResult c =
        compile_partition_text(one_partition(BODY + "dma = { base = 0xffffffffffe00000, size = \"4M\" }\n"), "t.toml");
    REQUIRE(c.errors.size() == 1);
    CHECK_THAT(c.errors[0].str(), Catch::Contains("is not representable in 64 bits"));  // TOML stops at 2^63 - 1
    CompileResult d = compile_partition_text(
        one_partition(BODY + "dma = { base = \"0xffffffffffe00000\", size = \"4M\" }\n"), "t.toml");
    REQUIRE(d.errors.size() == 1);
    CHECK_THAT(d.errors[0].str(), Catch::Contains("dma window 0xffffffffffe00000+0x400000 of partition 'p' runs past "
                                                  "the end of the address space"));
    CompileResult e =
        compile_partition_text(one_partition(BODY + "dma = { base = 0x04000000, size = \"4M\" }\n"), "t.toml");
    REQUIRE(e.errors.size() == 1);
    CHECK_THAT(e.errors[0].str(), Catch::Contains("dma window 0x4000000+0x400000 of partition 'p' overlaps its own ram "
                                                  "(0x4000000+0x2000000)"));
}

TEST_CASE("shared explicit INTx lines and missing DMA windows are notes, not errors", "[config][compiler][devices]") {
    CompileResult r = compile_partition_file(DATA / "shared-gsi.toml");
    INFO(all_errors(r));
    REQUIRE(r.ok());
    REQUIRE(r.notes.size() == 2);
    CHECK_THAT(r.notes[0].str(), Catch::EndsWith("shared-gsi.toml:44:7: note: partition 'gp1' owns DMA-capable device "
                                                 "00:05.0 but has no dma window: it boots only where an IOMMU isolates "
                                                 "DMA (add dma = { ... }, or dma = false on the device)"));
    CHECK_THAT(r.notes[1].str(), Catch::EndsWith("shared-gsi.toml:45:12: note: INTx GSI 11 is shared by 00:02.0 (rt0), "
                                                 "00:06.0 (gp0) and 00:05.0 (gp1): delivered per device by the "
                                                 "hypervisor's shared-line routing"));
    // Two users read "A and B"; automatic GSIs are unknown offline and give no note.
    std::string two =
        "version = 1\nname = \"t\"\n"
        "[[partition]]\nname = \"a\"\ncores = [1]\nram = { base = 0x04000000, size = \"4M\" }\nimage = \"g\"\n"
        "lapic = \"passthrough\"\n[[partition.device]]\nbdf = \"00:02.0\"\nintx_gsi = 9\ndma = false\n"
        "[[partition.device]]\nbdf = \"00:04.0\"\ndma = false\n"
        "[[partition]]\nname = \"b\"\ncores = [2]\nram = { base = 0x06000000, size = \"4M\" }\nimage = \"g\"\n"
        "lapic = \"passthrough\"\n[[partition.device]]\nbdf = \"00:03.0\"\nintx_gsi = 9\ndma = false\n"
        "[[partition.device]]\nbdf = \"00:05.0\"\ndma = false\n";
    CompileResult t = compile_partition_text(two, "two.toml");
    INFO(all_errors(t));
    REQUIRE(t.ok());
    REQUIRE(t.notes.size() == 1);
    CHECK(t.notes[0].str() ==
          "two.toml:24:12: note: INTx GSI 9 is shared by 00:02.0 (a) and 00:03.0 (b): delivered "
          "per device by the hypervisor's shared-line routing");
}

TEST_CASE("the resource map lists the dma window and devices", "[config][compiler][devices]") {
    CompileResult r = compile_partition_file(DATA / "shared-gsi.toml");
    REQUIRE(r.ok());
    std::string map = resource_map(&header(r), std::nullopt);
    CHECK_THAT(map, Catch::Contains("partition 'rt0'\n  core     1\n  ram      host 0x4000000-0x5ffffff (32 MiB), "
                                    "guest 0x0-0x1ffffff\n  dma      host 0x8000000-0x87fffff (8 MiB), guest the same "
                                    "(identity-mapped)\n  device   00:02.0 id 8086:100e, INTx GSI 11, DMA\n  image  "));
    CHECK_THAT(map, Catch::Contains("  device   00:06.0 any id, INTx GSI 11, DMA\n  device   00:03.0 any id, INTx "
                                    "GSI 9, no DMA\n"));
    CompileResult p = compile_partition_file(CONFIGS / "passthrough.toml");
    REQUIRE(p.ok());
    CHECK_THAT(resource_map(&header(p), std::nullopt),
               Catch::Contains("  device   00:03.0 id fefe:efef, INTx GSI from the platform, DMA\n"));
}

namespace {
// Two partitions and one channel whose lines are `channel`.
std::string with_channel(const std::string& channel) {
    return "version = 1\nname = \"t\"\n"
           "[[partition]]\nname = \"rt0\"\ncores = [1]\nram = { base = 0x04000000, size = \"32M\" }\nimage = \"g\"\n"
           "lapic = \"passthrough\"\n"
           "[[partition]]\nname = \"gp0\"\ncores = [2]\nram = { base = 0x06000000, size = \"32M\" }\nimage = \"g\"\n"
           "lapic = \"passthrough\"\n"
           "[[channel]]\n" +
           channel;
}
const std::string CHANNEL =
    "name = \"vif0\"\nbase = 0x0a000000\nsize = \"2M\"\n"
    "frontend = { partition = \"rt0\", gpa = 0x40000000 }\n"
    "backend = { partition = \"gp0\", gpa = 0x40000000 }\n";
}  // namespace

TEST_CASE("[[channel]] compiles into the blob with both sides resolved", "[config][compiler][channel]") {
    CompileResult r = compile_partition_text(with_channel(CHANNEL + "backend_dma = true\n"), "c.toml");
    INFO(all_errors(r));
    REQUIRE(r.ok());
    REQUIRE(header(r).channel_count == 1);
    const natsume_config_channel& c = natsume::config::channels(&header(r))[0];
    CHECK(std::string(c.name) == "vif0");
    CHECK(c.base == 0x0a000000);
    CHECK(c.size == 0x200000);
    CHECK(c.ends[NATSUME_CHANNEL_FRONTEND].partition == 0);
    CHECK(c.ends[NATSUME_CHANNEL_BACKEND].partition == 1);
    CHECK(c.ends[NATSUME_CHANNEL_BACKEND].gpa == 0x40000000);
    CHECK(c.flags == NATSUME_CHANNEL_BACKEND_DMA);
    std::string map = resource_map(&header(r), std::nullopt);
    CHECK_THAT(map, Catch::Contains("channel 'vif0'\n  memory   host 0xa000000-0xa1fffff (2 MiB)\n"
                                    "  doorbell 200000 a second per side after a burst of 256\n"
                                    "  frontend rt0 at guest 0x40000000-0x401fffff\n"
                                    "  backend  gp0 at guest 0x40000000-0x401fffff, its devices may DMA into it\n"));
}

TEST_CASE("[[channel]] errors point at the key they are about", "[config][compiler][channel]") {
    const std::pair<std::string, std::string> cases[] = {
        {"name = \"vif0\"\nbase = 0x0a100000\nsize = \"2M\"\nfrontend = { partition = \"rt0\", gpa = 0x40000000 }\n"
         "backend = { partition = \"gp0\", gpa = 0x40000000 }\n",
         "c.toml:17:8: error: channel 'vif0': base 0xa100000 is not 2 MiB aligned"},
        {"name = \"vif0\"\nbase = 0x0a000000\nsize = \"2M\"\nfrontend = { partition = \"rt0\", gpa = 0x01000000 }\n"
         "backend = { partition = \"gp0\", gpa = 0x40000000 }\n",
         "c.toml:19:12: error: channel 'vif0': frontend 'rt0' sees it at 0x1000000, inside its guest RAM"},
        {"name = \"vif0\"\nbase = 0x0a000000\nsize = \"2M\"\nfrontend = { partition = \"rt0\", gpa = 0x40000000 }\n"
         "backend = { partition = \"gp9\", gpa = 0x40000000 }\n",
         "c.toml:20:25: error: backend of channel 'vif0' names partition 'gp9', which the file does not describe"},
        {"name = \"vif0\"\nbase = 0x05000000\nsize = \"2M\"\nfrontend = { partition = \"rt0\", gpa = 0x40000000 }\n"
         "backend = { partition = \"gp0\", gpa = 0x40000000 }\n",
         "c.toml:17:8: error: channel 'vif0': memory 0x5000000+0x200000 overlaps the ram of 'rt0'"},
        {"name = \"vif0\"\nbase = 0x0a000000\nsize = \"2M\"\nfrontend = { partition = \"rt0\", gpa = 0x40000000 }\n"
         "backend = { partition = \"rt0\", gpa = 0x50000000 }\n",
         "c.toml:20:11: error: channel 'vif0': frontend and backend are both 'rt0'"},
        {"name = \"vif0\"\nbase = 0x0a000000\nsize = \"2M\"\nfrontend = { partition = \"rt0\", gpa = 0x40000000 }\n"
         "backend = { partition = \"gp0\", gpa = 0x40000000 }\nbackend_dma = 1\n",
         "c.toml:21:15: error: backend_dma of channel 'vif0' must be true or false, not an integer"},
        {"name = \"vif0\"\nbase = 0x0a000000\nsize = \"2M\"\nfrontend = { partition = \"rt0\", gpa = 0x40000000 }\n",
         "c.toml:15:1: error: missing key 'backend' in channel 'vif0'"},
    };
    for (const auto& [channel, expected] : cases) {
        CompileResult r = compile_partition_text(with_channel(channel), "c.toml");
        INFO(channel);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(all_errors(r), Catch::Contains(expected));
    }
}

TEST_CASE("a Linux partition names its kernel and initramfs; the kernel is checked against its RAM",
          "[config][compiler][linux]") {
    CompileResult r = compile_partition_file(DATA / "linux.toml");
    INFO(all_errors(r));
    REQUIRE(r.ok());
    const natsume_config_partition& lx = part(r, 1);
    CHECK(lx.kind == NATSUME_KIND_LINUX);
    CHECK(std::string(lx.image) == "linux.bzImage");
    CHECK(std::string(lx.initramfs) == "linux-initramfs.cpio.gz");
    CHECK(part(r, 0).kind == NATSUME_KIND_NATSUME);
    CHECK(part(r, 0).initramfs[0] == '\0');
    CHECK_THAT(resource_map(&header(r), std::nullopt), Catch::Contains("kernel   linux.bzImage"));

    // With the files: the synthetic bzImage decompresses into 63.6 MiB at 16 MiB.
    CompileOptions with_dir{DATA / "images"};
    CompileResult fits = compile_partition_file(DATA / "linux.toml", with_dir);
    INFO(all_errors(fits));
    CHECK(fits.ok());
    std::ifstream in(DATA / "linux.toml");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    text.replace(text.find("size = \"128M\""), 13, "size = \"64M\"");
    CompileResult small = compile_partition_text(text, "linux.toml", with_dir);
    REQUIRE(small.errors.size() == 1);
    CHECK_THAT(small.errors[0].str(),
               Catch::Contains("linux.toml:16:7: error: ram of partition 'linux0' is 64 MiB, but its kernel "
                               "(decompressing into 63.6 MiB at guest 0x1000000) and initramfs (0.1 MiB) need 79.7 "
                               "MiB; make ram.size at least 80 MiB"));
}

TEST_CASE("a Linux partition with a DMA window runs from the window; the kernel is checked against it",
          "[config][compiler][linux]") {
    std::ifstream in(DATA / "linux.toml");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto with_window = [&](const std::string& ram, const std::string& dma) {
        std::string t = text;
        t.replace(t.find("size = \"128M\""), 13, ram);
        return t.replace(t.find("lapic = \"trapped\""), 17,
                         "lapic = \"trapped\"\ndma = " + dma + "\nallow_unisolated_dma = true");
    };
    CompileOptions with_dir{DATA / "images"};
    // 4 MiB of RAM (the first megabyte) and a 96 MiB window: the kernel fits in the window.
    CompileResult fits = compile_partition_text(with_window("size = \"4M\"", "{ base = 0x10000000, size = \"96M\" }"),
                                                "w.toml", with_dir);
    INFO(all_errors(fits));
    CHECK(fits.ok());
    CompileResult small = compile_partition_text(with_window("size = \"4M\"", "{ base = 0x10000000, size = \"66M\" }"),
                                                 "w.toml", with_dir);
    REQUIRE(small.errors.size() == 1);
    CHECK_THAT(small.errors[0].str(),
               Catch::Contains("error: dma window of partition 'linux0' is 66 MiB, but its kernel (decompressing into "
                               "63.6 MiB at guest 0x10000000) and initramfs (0.1 MiB) need 63.7 MiB; make dma.size "
                               "at least 64 MiB") ||
                   Catch::Contains("make dma.size"));
    CompileResult tiny = compile_partition_text(with_window("size = \"4M\"", "{ base = 0x10000000, size = \"32M\" }"),
                                                "w.toml", with_dir);
    REQUIRE_FALSE(tiny.ok());
    CHECK_THAT(all_errors(tiny), Catch::Contains("dma window of partition 'linux0' is 32 MiB; a Linux partition's "
                                                 "memory above 1 MiB is its dma window"));
    CompileResult high =
        compile_partition_text(with_window("size = \"4M\"", "{ base = 0xfc000000, size = \"96M\" }"), "w.toml");
    REQUIRE_FALSE(high.ok());
    CHECK_THAT(all_errors(high), Catch::Contains("ends above 0xfe000000"));
}

TEST_CASE("kind, kernel and initramfs are refused where they do not belong", "[config][compiler][linux]") {
    struct Case {
        std::string body, expected;
    };
    const std::string base =
        "name = \"p\"\ncores = [1]\nram = { base = 0x04000000, size = \"128M\" }\nlapic = "
        "\"trapped\"\n";
    const Case cases[] = {
        {base + "image = \"g\"\nkernel = \"k\"\n",
         "kernel of partition 'p' is for a Linux partition; add kind = \"linux\""},
        {base + "image = \"g\"\ninitramfs = \"i\"\n", "initramfs of partition 'p' is for a Linux partition"},
        {base + "kind = \"linux\"\nimage = \"g\"\nkernel = \"k\"\n",
         "partition 'p' is a Linux partition: name its bzImage with kernel = \"...\", not image"},
        {base + "kind = \"linux\"\n", "missing key 'kernel' in partition 'p'"},
        {base + "kind = \"windows\"\nimage = \"g\"\n",
         "kind of partition 'p' must be \"natsume\" (an ELF guest kernel, the default) or \"linux\" (a bzImage), "
         "not 'windows'"},
        {base + "kind = \"linux\"\nkernel = \"../k\"\n", "kernel '../k' of partition 'p' contains '/'"},
        {"name = \"p\"\ncores = [1]\nram = { base = 0x04000000, size = \"32M\" }\nlapic = \"trapped\"\n"
         "kind = \"linux\"\nkernel = \"k\"\n",
         "ram of partition 'p' is 32 MiB; a Linux partition needs at least 64 MiB"},
    };
    for (const auto& c : cases) {
        CompileResult r = compile_partition_text(one_partition(c.body), "t.toml");
        INFO(c.body << "\n" << all_errors(r));
        REQUIRE(r.errors.size() == 1);
        CHECK_THAT(r.errors[0].message, Catch::Contains(c.expected));
    }
}

TEST_CASE("a Linux partition may own several cores, the first its boot CPU", "[config][compiler][linux][smp]") {
    for (const CompileOptions& options : {CompileOptions{}, CompileOptions{DATA / "images"}}) {
        CompileResult r = compile_partition_file(CONFIGS / "tests/linux-smp.toml", options);
        INFO(all_errors(r));
        REQUIRE(r.ok());
        natsume::config::Report rep;
        CHECK(natsume::config::validate_blob(r.blob.data(), r.blob.size(), rep));
        const natsume_config_partition& lx = part(r, 1);
        CHECK(lx.kind == NATSUME_KIND_LINUX);
        CHECK(lx.core_count == 2);
        CHECK(lx.cores[0] == 2);  // its boot CPU, in the order written
        CHECK(lx.cores[1] == 3);
        for (uint32_t k = 2; k < NATSUME_CONFIG_MAX_CORES; ++k) CHECK(lx.cores[k] == 0);
        CHECK(part(r, 0).core_count == 1);
        std::string map = resource_map(&header(r), std::nullopt);
        CHECK_THAT(map, Catch::Contains("partition cores 1 2 3;"));
        CHECK_THAT(map, Catch::Contains("partition 'linux0'\n  cores    2 3 (boot CPU 2)\n"));
    }
}

TEST_CASE("a Linux partition has 1 to 8 cores", "[config][compiler][linux][smp]") {
    auto linux_with = [](const std::string& cores) {
        return one_partition("name = \"lx\"\nkind = \"linux\"\ncores = " + cores +
                             "\nram = { base = 0x08000000, size = \"128M\" }\nkernel = \"k\"\nlapic = \"trapped\"\n");
    };
    CompileResult one = compile_partition_text(linux_with("[5]"), "t.toml");
    INFO(all_errors(one));
    REQUIRE(one.ok());
    CHECK(part(one, 0).core_count == 1);
    CompileResult eight = compile_partition_text(linux_with("[8, 1, 2, 3, 4, 5, 6, 7]"), "t.toml");
    INFO(all_errors(eight));
    REQUIRE(eight.ok());
    REQUIRE(part(eight, 0).core_count == NATSUME_CONFIG_MAX_CORES);
    CHECK(part(eight, 0).cores[0] == 8);
    CHECK(part(eight, 0).cores[7] == 7);
    CompileResult nine = compile_partition_text(linux_with("[8, 1, 2, 3, 4, 5, 6, 7, 9]"), "t.toml");
    REQUIRE(nine.errors.size() == 1);
    CHECK(nine.errors[0].str() ==
          "t.toml:6:9: error: partition 'lx' lists 9 cores; a Linux partition has at most 8, e.g. cores = [8, 1, 2, 3, "
          "4, 5, 6, 7]");
    CompileResult none = compile_partition_text(linux_with("[]"), "t.toml");
    REQUIRE(none.errors.size() == 1);
    CHECK_THAT(none.errors[0].message, Catch::Contains("cores of partition 'lx' is empty; give at least one"));
    CompileResult twice = compile_partition_text(linux_with("[3, 4, 3]"), "t.toml");
    REQUIRE(twice.errors.size() == 1);
    CHECK(twice.errors[0].str() == "t.toml:6:16: error: core 3 is given twice in partition 'lx'; list each core once");
}

TEST_CASE("ide_channel names the IDE channel a Linux partition drives", "[config][compiler][linux][devices]") {
    auto linux_with = [](const std::string& device) {
        return one_partition(
            "name = \"lx\"\nkind = \"linux\"\ncores = [2]\nram = { base = 0x08000000, size = "
            "\"128M\" }\nkernel = \"k\"\nlapic = \"trapped\"\n[[partition.device]]\nbdf = "
            "\"00:01.1\"\n" +
            device);
    };
    CompileResult sec = compile_partition_text(linux_with("ide_channel = \"secondary\"\n"), "t.toml");
    INFO(all_errors(sec));
    REQUIRE(sec.ok());
    CHECK(part(sec, 0).devices[0].flags == NATSUME_DEVICE_IDE_SECONDARY);
    CompileResult pri = compile_partition_text(linux_with("ide_channel = \"primary\"\n"), "t.toml");
    REQUIRE(pri.ok());
    CHECK(part(pri, 0).devices[0].flags == 0);
    CompileResult bad = compile_partition_text(linux_with("ide_channel = \"tertiary\"\n"), "t.toml");
    REQUIRE(bad.errors.size() == 1);
    CHECK(bad.errors[0].str() ==
          "t.toml:12:15: error: ide_channel of device 00:01.1 of partition 'lx' must be "
          "\"primary\" or \"secondary\", not 'tertiary'");
    CompileResult num = compile_partition_text(linux_with("ide_channel = 1\n"), "t.toml");
    REQUIRE(num.errors.size() == 1);
    CHECK_THAT(num.errors[0].message, Catch::Contains("not an integer"));
    // The guest kernel drives both channels itself: the key is Linux's only.
    CompileResult elf = compile_partition_text(
        one_partition(BODY + "dma = { base = 0x10000000, size = 0x400000 }\n[[partition.device]]\nbdf = "
                             "\"00:01.1\"\nide_channel = \"secondary\"\n"),
        "t.toml");
    REQUIRE(elf.errors.size() == 1);
    CHECK_THAT(elf.errors[0].message, Catch::Contains("ide_channel of device 00:01.1 of partition 'p' is for a "
                                                      "Linux partition's IDE controller"));
}
