#include "partition/mmio_regions.hpp"

namespace natsume {

MmioRegistry::Error MmioRegistry::add(uint64_t base, uint64_t size, MmioKind kind, uint8_t device) {
    if (size == 0) return Error::Empty;
    if ((base | size) & 0xfff) return Error::Unaligned;
    if (base + size < base) return Error::Overlap;  // wraps: overlaps everything below it
    for (size_t i = 0; i < count_; i++)
        if (base < r_[i].base + r_[i].size && r_[i].base < base + size) return Error::Overlap;
    if (count_ == MAX) return Error::Full;
    r_[count_++] = {base, size, kind, device};
    return Error::Ok;
}

const char* to_string(MmioKind k) {
    switch (k) {
    case MmioKind::Lapic: return "local APIC";
    case MmioKind::Ioapic: return "IOAPIC";
    case MmioKind::DeviceRegister: return "device register";
    case MmioKind::MsixTable: return "MSI-X table";
    case MmioKind::Ecam: return "PCI ECAM";
    }
    return "emulated region";
}

const char* to_string(MmioRegistry::Error e) {
    switch (e) {
    case MmioRegistry::Error::Ok: return "ok";
    case MmioRegistry::Error::Full: return "more emulated regions than the registry holds";
    case MmioRegistry::Error::Unaligned: return "an emulated region is not page-aligned";
    case MmioRegistry::Error::Empty: return "an emulated region is empty";
    case MmioRegistry::Error::Overlap: return "two emulated regions overlap";
    }
    return "unknown registry error";
}

}  // namespace natsume
