// The ACPI tables the hypervisor writes for one Linux partition (ACPI 6.5
// chapter 5): an RSDP, an XSDT, a hardware-reduced FADT, a MADT naming only
// the partition's cores, its virtual IOAPIC and (with several cores) the
// multiprocessor wake-up mailbox Linux starts them through, and a DSDT with a PCI root
// (PNP0A08) whose _PRT routes its devices' INTx pins to GSIs (an ISA line
// through an interrupt link, so its edge trigger is described) and whose _CRS
// covers their BARs, the virtual COM1 (PNP0501, no IRQ: Linux polls it) and
// the \_S5 object Linux powers off with. Hardware-reduced: no PIT, 8259,
// HPET, PM timer or FACS for Linux to look for; sleep and reset are I/O
// ports the hypervisor traps (power-off and reboot stop the partition).
// Pure: host-tested, and checked with iasl.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume::acpi_build {

inline constexpr size_t MAX_CPUS = 8, MAX_ROUTES = 32, MAX_WINDOWS = 48, MAX_OVERRIDES = 16;

struct IntxRoute {
    uint8_t device;  // on bus 0
    uint8_t pin;     // 0..3 = INTA..INTD
    uint32_t gsi;
    // The pin is an ISA line (an IDE channel's, vdev/native_ide.hpp): routed
    // through an interrupt link (PNP0C0F) whose resources say edge, active
    // high, instead of the level, active-low a _PRT GSI implies.
    bool isa_line = false;
};
struct Window {
    uint64_t base, size;
    bool io;  // an I/O BAR's ports, else memory
};
struct IsaOverride {
    uint8_t irq;
    uint32_t gsi;
    uint16_t flags;  // MPS INTI flags
};

struct Spec {
    const uint32_t* apic_ids;  // the partition's cores, the first its boot CPU
    size_t cpu_count;
    uint8_t ioapic_id;
    uint32_t ioapic_address, ioapic_gsi_base;
    const IsaOverride* overrides;
    size_t override_count;
    const IntxRoute* routes;
    size_t route_count;
    const Window* windows;
    size_t window_count;
    bool com1;  // describe the virtual 16550 at 0x3F8
    uint16_t sleep_control_port, sleep_status_port, reset_port;
    uint8_t reset_value;
    uint64_t mailbox_gpa;  // the multiprocessor wake-up mailbox of its other cores, 0 = none
};

struct Built {
    uint64_t rsdp_gpa;
    size_t size;  // bytes used from the start of the buffer
};

enum class [[nodiscard]] Error{Ok, TooManyCpus, TooMany, NoSpace};
const char* to_string(Error);

// Writes the tables into buf[0, cap), which the partition will see at
// guest-physical `gpa`; every pointer between tables is a guest address.
[[nodiscard]] Error build(const Spec& s, uint8_t* buf, size_t cap, uint64_t gpa, Built& out);

}  // namespace natsume::acpi_build
