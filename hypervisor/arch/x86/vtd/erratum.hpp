// Intel 5520/5500/X58 I/O hub interrupt-remapping errata: the IOH at 00:00.0
// with device id 0x3403/0x3405/0x3406 and revision <= 0x13 mishandles
// interrupt remapping (5520/5500/X58 specification update), and 0x3405
// revision 0x22 does not drain remapped interrupts reliably. On those, only
// DMA remapping is used; interrupts take the direct IOAPIC/MSI path.
#pragma once
#include <stdint.h>

namespace natsume::x86::vtd {

enum class IrVerdict : uint8_t { Usable, BrokenIohRevision, BrokenIohDrain };

constexpr IrVerdict x58_ir_verdict(uint16_t vendor, uint16_t device, uint8_t revision) {
    if (vendor != 0x8086) return IrVerdict::Usable;
    bool ioh = device == 0x3403 || device == 0x3405 || device == 0x3406;
    if (!ioh) return IrVerdict::Usable;
    if (revision <= 0x13) return IrVerdict::BrokenIohRevision;
    if (device == 0x3405 && revision == 0x22) return IrVerdict::BrokenIohDrain;
    return IrVerdict::Usable;
}

constexpr const char* to_string(IrVerdict v) {
    switch (v) {
    case IrVerdict::Usable: return "usable";
    case IrVerdict::BrokenIohRevision:
        return "Intel 5520/5500/X58 IOH revision <= 0x13: interrupt remapping is broken (erratum); "
               "interrupt remapping disabled, DMA remapping stays on";
    case IrVerdict::BrokenIohDrain:
        return "Intel 5520/X58 IOH 0x3405 revision 0x22: remapped interrupts do not drain reliably (erratum); "
               "interrupt remapping disabled, DMA remapping stays on";
    }
    return "unknown";
}

}  // namespace natsume::x86::vtd
