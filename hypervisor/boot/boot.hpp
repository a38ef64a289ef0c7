// Boot flow and the boot rendezvous: every core checks in, each
// step succeeds on every core or the boot stops with a report before any
// guest runs.
#pragma once
#include <stdint.h>

namespace natsume::x86 {
struct PerCpu;
}

namespace natsume::boot {

enum class Phase : uint32_t { Starting, VmxInit, Launch, Abort };

// Application processors wait here for the boot CPU's phases; never returns.
[[noreturn]] void ap_run(x86::PerCpu& c);

struct Options {
    bool emulator_exit;  // "emulator-exit": end the emulator run when done / on panic
    bool acpi_dump;      // "acpi-dump": hex-dump every ACPI table at boot
};
const Options& options();

}  // namespace natsume::boot
