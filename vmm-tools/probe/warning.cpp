#include "vmm-tools/probe/warning.hpp"

namespace natsume::probe {

const char* kind_name(WarningKind k) {
    switch (k) {
    case WarningKind::NoVmx: return "no-vmx";
    case WarningKind::NoEpt: return "no-ept";
    case WarningKind::NoIommu: return "no-iommu";
    case WarningKind::IohErratum: return "ioh-erratum";
    case WarningKind::IrUnusable: return "ir-unusable";
    case WarningKind::Rmrr: return "rmrr";
    case WarningKind::BehindBridge: return "behind-bridge";
    case WarningKind::SharedIntx: return "shared-intx";
    case WarningKind::UnroutableLine: return "unroutable-line";
    case WarningKind::GsiDisagrees: return "gsi-disagrees";
    case WarningKind::TruncatedConfig: return "truncated-config";
    case WarningKind::NotScanned: return "not-scanned";
    case WarningKind::TooFewCores: return "too-few-cores";
    case WarningKind::SmtShared: return "smt-shared";
    case WarningKind::NoTopology: return "no-topology";
    case WarningKind::SmallMemory: return "small-memory";
    }
    return "unknown";
}

}  // namespace natsume::probe
