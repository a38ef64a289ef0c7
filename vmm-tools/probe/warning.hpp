// What probe tells the user beyond the facts: printed on stderr and written as
// TOML comments in the draft partition file (docs/probe.md lists each kind
// and what to do about it).
#pragma once
#include <string>
#include <vector>

namespace natsume::probe {

enum class WarningKind {
    NoVmx,            // VT-x absent or disabled by the firmware
    NoEpt,            // VT-x without EPT
    NoIommu,          // no DMAR: DMA windows and allow_unisolated_dma needed
    IohErratum,       // X58/5520/5500 IOH interrupt-remapping erratum
    IrUnusable,       // interrupt remapping unusable for another reason
    Rmrr,             // firmware DMA region and the devices that use it
    BehindBridge,     // a device reached through a bridge
    SharedIntx,       // an INTx line of devices of different partitions
    UnroutableLine,   // a device left out: its line cannot be shared per device
    GsiDisagrees,     // Interrupt Line register and Linux's ACPI routing differ
    TruncatedConfig,  // config space read without root: capabilities unknown
    NotScanned,       // a function the hypervisor's enumeration will not reach
    TooFewCores,      // gp0 (or rt0) could not get a core of its own
    SmtShared,        // a partition shares a core's threads
    NoTopology,       // CPU siblings unknown (a CPU Linux did not start)
    SmallMemory,      // not enough free RAM for the usual sizes
};

struct Warning {
    WarningKind kind;
    std::string text;
};

[[nodiscard]] const char* kind_name(WarningKind k);  // "no-vmx", "shared-intx", ...

}  // namespace natsume::probe
