// The loader file natsume.efi reads from its own directory (natsume.cfg;
// docs/real-hardware.md "The loader file"): one directive per line,
//
//     hypervisor PATH           the multiboot2 ELF to enter (once)
//     cmdline WORDS...          its command line (at most once)
//     module PATH NAME [ARGS]   a multiboot2 module; NAME ARGS is its command
//                               line, NAME what the hypervisor finds it by
//
// '#' starts a comment line; blank lines and CR before LF are ignored. PATH is
// absolute on the loader's own volume, with '/' or '\' separators. The file
// comes from a disk a person edits, so every line is checked and a refusal
// names the line. Pure: host-tested.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "lib/multiboot2.hpp"

namespace natsume::efi {

inline constexpr size_t MAX_PATH    = 256;   // bytes with the NUL
inline constexpr size_t MAX_CMDLINE = 1024;  // bytes with the NUL
inline constexpr size_t MAX_FILE    = 64 * 1024;

struct ModuleEntry {
    char path[MAX_PATH];  // '\' separators, starts with '\'
    char cmdline[MAX_CMDLINE];
    unsigned line;  // where the file names it
};

struct LoaderConfig {
    char hypervisor[MAX_PATH];
    char cmdline[MAX_CMDLINE];
    ModuleEntry modules[mb2::MAX_MODULES];
    size_t module_count;
};

struct ConfigError {
    unsigned line;  // 0: about the whole file
    char text[192];
};

// Parses text[0, len). On failure `err` holds the first problem and `out` is partial.
[[nodiscard]] bool parse_loader_config(const char* text, size_t len, LoaderConfig& out, ConfigError& err);

}  // namespace natsume::efi
