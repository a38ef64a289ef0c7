// A machine description seen as the hypervisor's validator sees the machine
// (common/config/validate.hpp Platform), so `check --machine` runs the
// boot-time checks offline. The reserved ranges are those of
// hypervisor_zone.hpp: the real ones exist only at boot.
#pragma once
#include <vector>

#include "common/config/validate.hpp"
#include "vmm-tools/probe/machine.hpp"

namespace natsume::probe {

class PlatformView {
public:
    explicit PlatformView(const Machine& m);
    PlatformView(const PlatformView&)            = delete;
    PlatformView& operator=(const PlatformView&) = delete;

    [[nodiscard]] const config::Platform& platform() const { return platform_; }

private:
    std::vector<uint32_t> apic_ids_;
    std::vector<config::Range> usable_, reserved_, rmrr_;
    std::vector<config::PlatformDevice> devices_;
    config::Platform platform_{};
};

}  // namespace natsume::probe
