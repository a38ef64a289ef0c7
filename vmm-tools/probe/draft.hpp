// The draft partition file probe writes next to machine.toml: the boot core
// and its SMT sibling stay with the hypervisor, one real-time partition (rt0)
// gets a whole core and a NIC, one general-purpose partition (gp0) a core and
// the other assignable devices, RAM in free usable memory above the
// hypervisor's zone. Each choice carries the comments that explain it (the
// rules: docs/probe.md).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vmm-tools/probe/machine.hpp"
#include "vmm-tools/probe/warning.hpp"

namespace natsume::probe {

struct DraftDevice {
    const PciFunction* fn = nullptr;
    std::optional<uint32_t> intx_gsi;  // written when Linux's routing differs from the Interrupt Line
    std::vector<std::string> comments;
};

struct DraftRange {
    uint64_t base = 0, size = 0;
};

struct DraftPartition {
    std::string name, image = "guest-kernel", cmdline, lapic;
    uint32_t core = 0;
    std::vector<std::string> core_comments;
    DraftRange ram;
    std::optional<DraftRange> dma;
    bool allow_unisolated_dma = false, allow_smt_sharing = false;
    std::vector<std::string> comments;  // above the [[partition]] table
    std::vector<DraftDevice> devices;
};

struct Draft {
    std::string name;
    std::vector<DraftPartition> partitions;
    std::vector<std::string> left_out;  // devices not assigned, one comment line each
    std::vector<Warning> warnings;      // raised by the draft's own choices
};

[[nodiscard]] Draft make_draft(const Machine& m, const std::string& name);

// Pieces, host-tested.
struct CoreChoice {
    std::optional<uint32_t> rt, gp;
    bool gp_shares_boot_core = false;  // gp is the boot core's SMT sibling
    std::vector<uint32_t> hypervisor;  // the boot core's threads
};
[[nodiscard]] CoreChoice choose_cores(const Machine& m, std::vector<Warning>& warnings);

// Usable RAM above the hypervisor zone and below the mapped limit, minus
// RMRRs, trimmed to 2 MiB; sorted.
[[nodiscard]] std::vector<DraftRange> free_memory(const Machine& m);
// First fit at or above min_base; takes the range out of `free`.
[[nodiscard]] std::optional<DraftRange> take(std::vector<DraftRange>& free, uint64_t size, uint64_t min_base = 0);

// May a partition be given this function at all (not a bridge, chipset core
// function, SMBus, display, or a device with an RMRR)? The reason when not.
[[nodiscard]] std::optional<std::string> not_assignable(const Machine& m, const PciFunction& f);

// The name a partition file allows ([a-z0-9_-], at most 31), from any text.
[[nodiscard]] std::string machine_name(const std::string& text);

}  // namespace natsume::probe

namespace natsume::probe {

struct DeviceAssignment {
    std::vector<DraftDevice> rt, gp;
    std::vector<std::string> left_out;
};
// rt0: the best NIC (MSI, PCI Express, a line of its own, one the guest
// kernel drives); gp0 (when there is one): every other assignable function,
// unless its INTx line is shared with rt0's and cannot be routed per device,
// or its IDE channels' ISA lines are where rt0's device interrupts.
[[nodiscard]] DeviceAssignment assign_devices(const Machine& m, bool have_gp, std::vector<Warning>& warnings);

}  // namespace natsume::probe
