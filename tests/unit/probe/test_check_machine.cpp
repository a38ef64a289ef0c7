// check --machine: the boot-time checks against a machine description, and
// the drafts probe writes passing them.
#include <catch2/catch.hpp>

#include "scratch_tree.hpp"
#include "vmm-tools/config/partition_file.hpp"
#include "vmm-tools/probe/check_machine.hpp"
#include "vmm-tools/probe/draft_toml.hpp"
#include "vmm-tools/probe/probe.hpp"

using namespace natsume::probe;
namespace tools = natsume::tools;

namespace {

const std::filesystem::path TREES   = NATSUME_PROBE_TREES;
const std::filesystem::path CONFIGS = NATSUME_CONFIGS_DIR;

Machine machine_of(const char* tree) {
    auto r = probe_machine(Tree(TREES / tree));
    REQUIRE(r.ok());
    return r->machine;
}

std::vector<MachineFinding> check_text(const std::string& text, const Machine& m) {
    tools::CompileResult r = tools::compile_partition_text(text, "t.toml");
    INFO((r.errors.empty() ? std::string() : r.errors[0].str()));
    REQUIRE(r.ok());
    return check_on_machine(reinterpret_cast<const natsume_config_header*>(r.blob.data()), m, text);
}

const MachineFinding* error_of(const std::vector<MachineFinding>& f) {
    for (const MachineFinding& x : f)
        if (!x.is_note) return &x;
    return nullptr;
}

const std::string HEAD = "version = 1\nname = \"t\"\n[[partition]]\nname = \"rt0\"\ncores = [1]\n";
const std::string TAIL = "image = \"g\"\nlapic = \"passthrough\"\n";

}  // namespace

TEST_CASE("every draft fits the machine it was made for", "[probe][check-machine]") {
    for (const char* t : {"qemu-q35-iommu", "bochs-i440fx", "synthetic-x58"}) {
        INFO(t);
        auto r = probe_machine(Tree(TREES / t));
        REQUIRE(r.ok());
        std::string text        = draft_toml(make_draft(r->machine, t), r->warnings);
        auto findings           = check_text(text, r->machine);
        const MachineFinding* e = error_of(findings);
        INFO((e ? e->text : std::string()));
        CHECK_FALSE(e);
    }
}

TEST_CASE("a file that does not fit is refused with its sentence and line", "[probe][check-machine]") {
    Machine bochs           = machine_of("bochs-i440fx");
    std::string text        = probe_test::read_text(CONFIGS / "passthrough.toml");
    auto f                  = check_text(text, bochs);
    const MachineFinding* e = error_of(f);
    REQUIRE(e);
    CHECK(e->text == "partition 'gp0': core 2 is not in this machine's MADT (cores: 0 1)");
    CHECK(e->line == 30);

    SECTION("RAM in the hypervisor's zone") {
        auto g = check_text(HEAD + "ram = { base = 0x02000000, size = \"8M\" }\n" + TAIL, bochs);
        REQUIRE(error_of(g));
        CHECK(error_of(g)->text.find("overlaps memory the hypervisor uses") != std::string::npos);
        CHECK(error_of(g)->line == 6);
    }
    SECTION("a device that is not there") {
        auto g = check_text(HEAD +
                                "ram = { base = 0x04000000, size = \"8M\" }\ndma = { base = 0x08000000, size = "
                                "\"8M\" }\nallow_unisolated_dma = true\n" +
                                TAIL + "[[partition.device]]\nbdf = \"00:09.0\"\n",
                            bochs);
        REQUIRE(error_of(g));
        CHECK(error_of(g)->text.rfind("partition 'rt0': device 00:09.0 is not on this machine (bus 00 has: ", 0) == 0);
        CHECK(error_of(g)->line == 12);
    }
    SECTION("a DMA device without a window where there is no IOMMU") {
        auto g = check_text(
            HEAD + "ram = { base = 0x04000000, size = \"8M\" }\n" + TAIL + "[[partition.device]]\nbdf = \"00:02.0\"\n",
            bochs);
        REQUIRE(error_of(g));
        CHECK(error_of(g)->text.find("has no IOMMU") != std::string::npos);
    }
}

TEST_CASE("without interrupt remapping the boot demands allow_unisolated_dma", "[probe][check-machine]") {
    Machine x58 = machine_of("synthetic-x58");
    std::string body =
        "version = 1\nname = \"t\"\n[[partition]]\nname = \"rt0\"\ncores = [2]\nram = { base = "
        "0x04000000, size = \"8M\" }\n" +
        TAIL + "[[partition.device]]\nbdf = \"02:00.0\"\n";
    auto f = check_text(body, x58);
    REQUIRE(error_of(f));
    CHECK(error_of(f)->text.rfind("partition 'rt0': interrupt remapping is off on this machine (Intel 5520/5500/X58 "
                                  "IOH revision <= 0x13",
                                  0) == 0);
    CHECK(error_of(f)->line == 4);
    body.insert(body.find("image"), "allow_unisolated_dma = true\n");
    CHECK_FALSE(error_of(check_text(body, x58)));
}

TEST_CASE("shared lines on the machine are notes at the device", "[probe][check-machine]") {
    Machine q35 = machine_of("qemu-q35-iommu");
    // e1000e 01:00.0 and edu 00:02.0 share GSI 11 on this machine.
    std::string body =
        "version = 1\nname = \"t\"\n[[partition]]\nname = \"rt0\"\ncores = [2]\nram = { base = "
        "0x04000000, size = \"8M\" }\n" +
        TAIL +
        "[[partition.device]]\nbdf = \"01:00.0\"\n"
        "[[partition]]\nname = \"gp0\"\ncores = [1]\nallow_smt_sharing = true\nram = { base = "
        "0x06000000, size = \"8M\" }\n" +
        TAIL + "[[partition.device]]\nbdf = \"00:02.0\"\n";
    auto f = check_text(body, q35);
    CHECK_FALSE(error_of(f));
    REQUIRE(f.size() == 1);
    CHECK(f[0].is_note);
    CHECK(f[0].text.find("INTx GSI 11 is shared by 01:00.0 (rt0) and 00:02.0 (gp0) on this machine") == 0);
    CHECK(f[0].line == 19);
}
