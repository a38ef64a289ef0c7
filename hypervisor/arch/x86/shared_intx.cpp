#include "arch/x86/shared_intx.hpp"

#include <atomic>

#include "drivers/net/e1000.hpp"
#include "drivers/x86/cpu.hpp"
#include "drivers/x86/ioapic.hpp"

#include "arch/x86/ioapic_hw.hpp"
#include "arch/x86/lapic.hpp"
#include "arch/x86/pci_hw.hpp"
#include "arch/x86/timing.hpp"
#include "arch/x86/vtd/platform.hpp"
#include "base/clock.hpp"
#include "base/log.hpp"
#include "lib/tsc_math.hpp"
#include "vdev/intx_route.hpp"

namespace natsume::x86::shared_intx {
namespace {

// How the hypervisor learns whether a device asserted its INTx.
enum class Check : uint8_t {
    StatusBit3,  // PCI status bit 3 "interrupt status" (PCI 2.3+); masked with command bit 10
    E1000Icr,    // 8254x: ICR is read-to-clear; bits read here are replayed to the owner
    None,        // cannot tell: delivered only when no device that can tell asserted
};

struct Device {
    uint16_t bdf;
    Partition* owner;
    Check check;
    uint64_t icr;                 // E1000Icr: host-physical address of ICR
    uint64_t page;                // E1000Icr: the trapped register page
    std::atomic<uint32_t> saved;  // E1000Icr: causes read by the hypervisor (boot core), not yet seen by the owner
    bool held;                    // StatusBit3: INTx disabled by the hypervisor until the device is serviced
};

struct Line {
    uint32_t gsi;
    Device devices[8];
    size_t count;
    std::atomic<uint64_t> pending;  // partitions (bit = id) owed an interrupt while their pin is masked
    uint64_t held_until;            // None: IOAPIC pin masked until this TSC (level re-delivery guard)
    uint64_t delivered, spurious;
    bool resample_pending;
};

constinit Line lines[MAX_LINES];
size_t line_count;

// 8254x family: the read-to-clear ICR (drivers/net/e1000.hpp).
constexpr uint32_t E1000_ICR = drivers::e1000::reg(drivers::e1000::Reg::Icr);

// A level line whose asserting device cannot be told is masked this long after
// each delivery, so the owner can service it before the line is sampled again.
constexpr uint64_t NONE_HOLD_US = 50;

Check check_for(const PartitionDevice& d) {
    if (d.fn->intx_status_supported_hint) return Check::StatusBit3;
    if (drivers::e1000::is_8254x(d.vendor_id, d.device_id) && d.fn->bar_count && !d.fn->bars[0].io &&
        d.fn->bars[0].base)
        return Check::E1000Icr;
    return Check::None;
}

Line* line_for(uint32_t gsi) {
    for (size_t i = 0; i < line_count; i++)
        if (lines[i].gsi == gsi) return &lines[i];
    return nullptr;
}

Line* add_device(uint32_t gsi, Partition& p, PartitionDevice& d) {
    Line* l = line_for(gsi);
    if (!l) {
        if (line_count == MAX_LINES) return nullptr;
        l      = &lines[line_count++];
        l->gsi = gsi;
    }
    if (l->count == 8) return nullptr;
    Device& dev = l->devices[l->count++];
    dev.bdf     = d.bdf;
    dev.owner   = &p;
    dev.check   = check_for(d);
    if (dev.check == Check::E1000Icr) {
        dev.icr        = d.fn->bars[0].base + E1000_ICR;
        dev.page       = dev.icr & ~0xfffull;
        d.trapped_page = dev.page;
    }
    return l;
}

bool asserted(Device& d, bool& known) {
    known = true;
    switch (d.check) {
    case Check::StatusBit3: {
        // All ones: the function does not answer (reset, powered down): it is
        // not the one asserting, or the line would look asserted forever.
        uint16_t status = pci::read16(pci_hw::access(), d.bdf, pci::STATUS);
        if (status == 0xffff) return false;
        bool on = status & pci::STATUS_INTERRUPT;
        if (on) {
            // Deassert the line until the owner has serviced the device.
            uint16_t cmd = pci::read16(pci_hw::access(), d.bdf, pci::COMMAND);
            pci::write16(pci_hw::access(), d.bdf, pci::COMMAND, cmd | pci::CMD_INTERRUPT_DISABLE);
            d.held = true;
        }
        return on;
    }
    case Check::E1000Icr: {
        uint32_t causes = *reinterpret_cast<volatile uint32_t*>(d.icr);  // deasserts the line
        if (causes == 0xffffffffu) return false;                         // memory decode off or reset: not answering
        if (causes) d.saved.fetch_or(causes);
        return causes != 0;
    }
    case Check::None: known = false; return false;
    }
    return false;
}

void deliver(Line& l, Partition& p) {
    uint8_t pin    = static_cast<uint8_t>(l.gsi - ioapic_hw::unit(0).gsi_base);
    uint64_t entry = p.devices.vioapic ? p.devices.vioapic->shadow(pin) : drivers::ioapic::MASKED;
    if (entry & drivers::ioapic::MASKED) {
        l.pending.fetch_or(1ull << p.config.id);
        return;
    }
    (void)lapic::send_fixed(vioapic::destination(p.devices.vioapic->config(), entry),
                            static_cast<uint8_t>(entry & drivers::ioapic::VECTOR_MASK));
    l.delivered++;
}
}  // namespace

namespace {

// The device of any partition whose INTx is on `gsi`, and its partition.
const PartitionDevice* intx_on(Partition* parts, uint32_t count, uint32_t gsi, const Partition*& owner) {
    for (uint32_t b = 0; b < count; b++)
        for (uint32_t j = 0; j < parts[b].devices.count; j++)
            if (parts[b].devices.list[j].gsi == gsi) {
                owner = &parts[b];
                return &parts[b].devices.list[j];
            }
    return nullptr;
}

// An IDE channel's ISA line is edge-triggered: nobody can tell who raised
// it, so no other device may have its INTx there.
bool legacy_lines_exclusive(Partition* parts, uint32_t count, char* why, size_t n) {
    for (uint32_t a = 0; a < count; a++)
        for (uint32_t i = 0; i < parts[a].devices.count; i++)
            for (uint32_t gsi : parts[a].devices.list[i].legacy_gsi) {
                const Partition* owner     = nullptr;
                const PartitionDevice* dev = gsi == NO_GSI ? nullptr : intx_on(parts, count, gsi, owner);
                if (!dev) continue;
                char ide[8], other[8];
                pci::format_bdf(ide, parts[a].devices.list[i].bdf);
                pci::format_bdf(other, dev->bdf);
                log::format(why, n,
                            "GSI %u is the ISA line of IDE controller %s (partition %s), and device %s of partition %s "
                            "has its INTx there: an edge-triggered ISA line cannot be shared",
                            gsi, ide, parts[a].name(), other, owner->name());
                return false;
            }
    return true;
}

}  // namespace

bool plan(Partition* parts, uint32_t count, char* why, size_t n) {
    if (!legacy_lines_exclusive(parts, count, why, n)) return false;
    for (uint32_t a = 0; a < count; a++)
        for (uint32_t i = 0; i < parts[a].devices.count; i++) {
            PartitionDevice& d = parts[a].devices.list[i];
            if (d.gsi == NO_GSI) continue;
            bool shared = false;
            for (uint32_t b = 0; b < count; b++)
                for (uint32_t j = 0; b != a && j < parts[b].devices.count; j++)
                    shared |= parts[b].devices.list[j].gsi == d.gsi;
            if (!shared) continue;
            if (!add_device(d.gsi, parts[a], d)) {
                log::format(why, n, "too many shared INTx lines or devices on GSI %u", d.gsi);
                return false;
            }
        }
    for (size_t i = 0; i < line_count; i++) {
        size_t unknown = 0;
        for (size_t d = 0; d < lines[i].count; d++) unknown += lines[i].devices[d].check == Check::None;
        if (unknown > 1) {
            log::format(why, n,
                        "GSI %u: %zu devices on the shared line can tell neither by PCI status bit 3 nor by a "
                        "device-specific register whether they asserted; at most one such device per shared line",
                        lines[i].gsi, unknown);
            return false;
        }
    }
    return true;
}

namespace {
// The line's physical entry to the boot core: compatibility format, or under
// interrupt remapping an entry naming the pin's remapping entry (source-id =
// the IOAPIC). False with the reason when the remapping unit refused.
bool route_line(const Line& l, uint8_t vector, uint32_t boot_apic_id, char* why, size_t n) {
    if (!vtd::interrupt_remapping_on()) {
        uint64_t rte = drivers::ioapic::encode(drivers::ioapic::pci_intx(vector, static_cast<uint8_t>(boot_apic_id)));
        rte &= ~drivers::ioapic::MASKED;
        ioapic_hw::write_entry(l.gsi, static_cast<uint32_t>(rte), static_cast<uint32_t>(rte >> 32));
        return true;
    }
    uint64_t rte = 0;
    if (const char* refused = vtd::program_shared_line(l.gsi, vector, boot_apic_id, rte)) {
        log::format(why, n, "shared GSI %u: its interrupt-remapping entry was refused: %s", l.gsi, refused);
        return false;
    }
    ioapic_hw::write_entry(l.gsi, static_cast<uint32_t>(rte), static_cast<uint32_t>(rte >> 32));
    return true;
}
}  // namespace

bool activate(uint32_t boot_apic_id, char* why, size_t n) {
    for (size_t i = 0; i < line_count; i++) {
        Line& l = lines[i];
        if (!route_line(l, static_cast<uint8_t>(VECTOR_BASE + i), boot_apic_id, why, n)) return false;
        char line[200];
        size_t len =
            log::format(line, sizeof line, "natsume: intx: GSI %u routed per device through the boot core%s:", l.gsi,
                        vtd::interrupt_remapping_on() ? " (interrupt remapping)" : "");
        for (size_t d = 0; d < l.count; d++) {
            char bdf[8];
            pci::format_bdf(bdf, l.devices[d].bdf);
            const char* how = l.devices[d].check == Check::StatusBit3 ? "status bit 3"
                              : l.devices[d].check == Check::E1000Icr ? "ICR"
                                                                      : "by elimination";
            len += log::format(line + len, sizeof line - len, " %s (%s, %s)", bdf, l.devices[d].owner->name(), how);
        }
        log::print("%s\n", line);
    }
    return true;
}

bool is_shared(uint32_t gsi) { return line_for(gsi) != nullptr; }

// Makes the IOAPIC look at the line again. A device that still holds the
// (wire-ORed) line after another was serviced must not be lost: real IOAPICs
// re-deliver a still-asserted level line after the EOI; an IOAPIC without
// Remote IRR (Bochs) only samples on input changes and entry writes.
void resample(const Line& l) {
    ioapic_hw::set_masked(l.gsi, true);
    ioapic_hw::set_masked(l.gsi, false);
}

void handle(size_t index) {
    if (index >= line_count) return;
    Line& l = lines[index];
    intx::Device status[8];
    for (size_t i = 0; i < l.count; i++) {
        bool known;
        bool on   = asserted(l.devices[i], known);
        status[i] = {l.devices[i].bdf, static_cast<uint8_t>(l.devices[i].owner->config.id), known, on};
    }
    intx::Decision d = intx::decide(status, l.count, intx::Unknown::ByElimination);
    if (d.spurious) {
        l.spurious++;
        return;
    }
    for (uint32_t p = 0; p < partition_count; p++)
        if (d.owners & (1ull << p)) deliver(l, partitions[p]);
    if (d.asserted) {
        l.resample_pending = true;  // after the EOI: the line may still be held by another device
        return;
    }
    // Only a device that cannot tell holds the line: keep it masked while its owner services it.
    ioapic_hw::mask(l.gsi);
    l.held_until = rdtsc() + us_to_ticks(NONE_HOLD_US, clock::tsc_khz());
}

void guest_pin_changed(Partition& p, uint32_t gsi) {
    Line* l = line_for(gsi);
    if (!l || !(l->pending.load() & (1ull << p.config.id))) return;
    uint8_t pin = static_cast<uint8_t>(gsi - ioapic_hw::unit(0).gsi_base);
    if (p.devices.vioapic->shadow(pin) & drivers::ioapic::MASKED) return;
    l->pending.fetch_and(~(1ull << p.config.id));
    deliver(*l, p);
}

bool register_access(Partition& p, uint64_t gpa, bool write, uint8_t size, uint32_t& value) {
    for (size_t i = 0; i < line_count; i++)
        for (size_t d = 0; d < lines[i].count; d++) {
            Device& dev = lines[i].devices[d];
            if (dev.owner != &p || dev.check != Check::E1000Icr || (gpa & ~0xfffull) != dev.page) continue;
            if (size != 4 || (gpa & 3)) return false;
            auto* reg = reinterpret_cast<volatile uint32_t*>(gpa);  // BARs sit at gpa == hpa
            if (write) {
                *reg = value;
                return true;
            }
            value = *reg;
            if (gpa == dev.icr) value |= dev.saved.exchange(0u);
            return true;
        }
    return false;
}

bool poll() {
    bool busy    = false;
    uint64_t now = rdtsc();
    for (size_t i = 0; i < line_count; i++) {
        Line& l = lines[i];
        if (l.resample_pending && !l.held_until) {
            l.resample_pending = false;
            resample(l);
        }
        if (l.held_until) {
            if (now >= l.held_until) {
                l.held_until = 0;
                resample(l);
            } else {
                busy = true;
            }
        }
        for (size_t d = 0; d < l.count; d++) {
            Device& dev = l.devices[d];
            if (!dev.held) continue;
            // A stopped owner never services its device (its INTx stays disabled,
            // devices::quiesce); a function that reads all ones cannot be serviced.
            uint16_t status = pci::read16(pci_hw::access(), dev.bdf, pci::STATUS);
            if (dev.owner->observe_state() == PartitionState::Stopped || status == 0xffff) {
                dev.held = false;
                continue;
            }
            if (status & pci::STATUS_INTERRUPT) {
                busy = true;
                continue;
            }
            uint16_t cmd = pci::read16(pci_hw::access(), dev.bdf, pci::COMMAND);
            pci::write16(pci_hw::access(), dev.bdf, pci::COMMAND,
                         cmd & static_cast<uint16_t>(~pci::CMD_INTERRUPT_DISABLE));
            dev.held = false;
        }
    }
    return busy;
}

}  // namespace natsume::x86::shared_intx
