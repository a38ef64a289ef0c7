// natsume-config: checks a partition file (also against a machine
// description), compiles it into the blob the hypervisor boots with, decodes
// compiled blobs, and probes a machine for its description and a draft file.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fmt/format.h>
#include <fstream>
#include <iterator>

#include "common/config/validate.hpp"
#include "vmm-tools/config/partition_file.hpp"
#include "vmm-tools/config/resource_map.hpp"
#include "vmm-tools/probe/commands.hpp"

namespace fs = std::filesystem;
using namespace natsume::tools;

namespace {

const natsume_config_header* header_of(const std::vector<uint8_t>& blob) {
    return reinterpret_cast<const natsume_config_header*>(blob.data());
}

// Prints every error and returns the blob, or nothing. Notes go to `notes`.
std::optional<std::vector<uint8_t>> compile_and_report(const fs::path& file, const std::optional<fs::path>& image_dir,
                                                       std::vector<Diagnostic>& notes) {
    CompileResult r = compile_partition_file(file, CompileOptions{image_dir});
    notes           = r.notes;
    for (const Diagnostic& d : r.errors) fmt::print(stderr, "{}\n", d.str());
    if (!r.ok()) {
        fmt::print(stderr, "{}: {} error{}\n", file.string(), r.errors.size(), r.errors.size() == 1 ? "" : "s");
        return std::nullopt;
    }
    return std::move(r.blob);
}

// The resource map, then the notes, then OK: one report on stdout. With a
// machine description, its findings come before OK (or instead of it).
int cmd_check(const fs::path& file, const std::optional<fs::path>& image_dir, const std::optional<fs::path>& machine) {
    std::vector<Diagnostic> notes;
    auto blob = compile_and_report(file, image_dir, notes);
    if (!blob) return 1;
    fmt::print("{}", resource_map(header_of(*blob), image_dir));
    for (const Diagnostic& d : notes) fmt::print("{}\n", d.str());
    if (machine && natsume::probe::check_file_on_machine(file, header_of(*blob), *machine) != 0) return 1;
    fmt::print("OK{}\n", machine ? fmt::format(" on {}", machine->string()) : "");
    return 0;
}

int cmd_compile(const fs::path& file, const fs::path& out, const std::optional<fs::path>& image_dir) {
    std::vector<Diagnostic> notes;
    auto blob = compile_and_report(file, image_dir, notes);
    if (!blob) return 1;
    for (const Diagnostic& d : notes) fmt::print(stderr, "{}\n", d.str());
    std::ofstream o(out, std::ios::binary | std::ios::trunc);
    o.write(reinterpret_cast<const char*>(blob->data()), static_cast<std::streamsize>(blob->size()));
    o.close();
    if (!o) {
        fmt::print(stderr, "{}: error: cannot write the compiled file\n", out.string());
        return 1;
    }
    fmt::print("{}: {} partitions, {} bytes, crc32 {:#010x}\n", out.string(), header_of(*blob)->partition_count,
               blob->size(), header_of(*blob)->crc32);
    return 0;
}

int cmd_dump(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        fmt::print(stderr, "{}: error: cannot read the file\n", file.string());
        return 1;
    }
    std::vector<uint8_t> blob((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    natsume::config::Report r;
    if (!natsume::config::validate_blob(blob.data(), blob.size(), r)) {
        fmt::print(stderr, "{}: error: {}\n", file.string(), r.text);
        return 1;
    }
    const natsume_config_header* h = header_of(blob);
    fmt::print("{}: compiled partition file version {}, {} bytes, crc32 {:#010x}\n", file.string(), h->version,
               h->total_size, h->crc32);
    fmt::print("{}OK\n", resource_map(h, std::nullopt));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Natsume partition file checker and compiler (format: docs/partition-file.md)"};
    app.require_subcommand(1);

    std::string file, out, image_dir, machine, root = "/", out_dir = ".";
    auto* check = app.add_subcommand("check", "validate a partition file and print its resource map");
    check->add_option("FILE", file, "partition file (TOML)")->required();
    check->add_option("--image-dir", image_dir, "directory holding the guest images as <image>.elf");
    check->add_option("--machine", machine,
                      "machine description (machine.toml from probe): also run the boot-time checks against it");

    auto* compile = app.add_subcommand("compile", "validate a partition file and write the compiled blob");
    compile->add_option("FILE", file, "partition file (TOML)")->required();
    compile->add_option("-o,--output", out, "compiled blob to write")->required();
    compile->add_option("--image-dir", image_dir, "directory holding the guest images as <image>.elf");

    auto* dump = app.add_subcommand("dump", "validate and print a compiled blob");
    dump->add_option("BLOB", file, "compiled partition file")->required();

    auto* probe = app.add_subcommand("probe",
                                     "describe this machine (run as root under Linux) as machine.toml and draft a "
                                     "partition file for it (docs/probe.md)");
    probe->add_option("--root", root, "read sysfs, procfs and the ACPI tables under this directory (a captured tree)");
    probe->add_option("-o,--output", out_dir, "directory to write machine.toml and partitions.toml into");

    CLI11_PARSE(app, argc, argv);

    std::optional<fs::path> dir, machine_file;
    if (!image_dir.empty()) dir = image_dir;
    if (!machine.empty()) machine_file = machine;
    if (*check) return cmd_check(file, dir, machine_file);
    if (*probe) return natsume::probe::run_probe(root, out_dir);
    if (*compile) return cmd_compile(file, out, dir);
    return cmd_dump(file);
}
