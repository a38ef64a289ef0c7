// How a Linux partition sees an IDE controller whose channel is in
// compatibility mode (docs/linux.md, "Disks").
//
// In compatibility mode a channel decodes the legacy ports (0x1F0/0x3F6 or
// 0x170/0x376) and interrupts on its ISA line (14 or 15). A Linux partition
// has a hardware-reduced ACPI platform: no 8259, so no ISA interrupt numbers,
// and libata's legacy path asks for IRQ 14/15 by number and fails. So the
// partition sees the channel Linux drives in native mode instead: its
// programming-interface bit set, BAR 2n and 2n+1 reading as I/O BARs at the
// legacy command and control blocks (fixed: sizing answered, relocation
// refused), and Interrupt Pin INTA, which the DSDT routes to the channel's
// ISA line through an interrupt link describing it as edge, active high.
// The other channel is shown native too but with no BARs: Linux takes it as
// absent (libata marks a channel without resources as a dummy port), so the
// one interrupt describes everything Linux drives. Nothing of the hardware
// changes: the device still decodes its legacy ports and raises its ISA line.
// Pure: a rewrite of the partition's copy of the function, host-tested.
#pragma once
#include <stdint.h>

#include "lib/pci.hpp"

namespace natsume::native_ide {

enum class Outcome : uint8_t {
    NotIde,         // not a PCI IDE controller (class 01, subclass 01): unchanged
    AlreadyNative,  // the channel is in native mode: its own BARs and INTx stand, unchanged
    Shown,          // rewritten: the channel in native mode on its legacy ports
};

// Rewrites f for a Linux partition that drives `secondary` (else the primary)
// channel. f's BAR 4 (the bus master) and every register beyond stay as found.
Outcome apply(pci::Function& f, bool secondary);

}  // namespace natsume::native_ide
