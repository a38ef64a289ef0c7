// I/O vectors. Group ioapic: the trapped IOAPIC page (a partition owning a
// device on its own line): foreign pins, delivery modes on its own pin, EOI
// abuse, malformed accesses. Group io: reset ports, the legacy PIC, PIT and
// RTC, a string instruction on a refused port, PCI configuration space of a
// foreign device, a BAR move and bus mastering on its own device.
#include <stdio.h>
#include <string.h>

#include "arch/idt.h"
#include "boot/boot.h"
#include "devices/ioapic.h"
#include "devices/lapic.h"
#include "devices/pci.h"
#include "tests/hostile.h"

namespace natsume::guest::hostile {
namespace {

using ull = unsigned long long;

constexpr unsigned FOREIGN_PIN = 9;       // rt0's e1000 line in the hostile-io partition file
constexpr uint16_t FOREIGN_BDF = 0x0010;  // 00:02.0, rt0's e1000

// IOAPIC redirection entry delivery modes 10:8 (82093AA data sheet 3.2.4).
struct Mode {
    const char* name;
    uint64_t bits;
};
constexpr uint64_t mode(unsigned m) { return uint64_t{m} << ioapic::DELIVERY_SHIFT; }  // 82093AA 3.2.4
constexpr Mode MODES[] = {{"smi", mode(2)}, {"nmi", mode(4)}, {"init", mode(5)}, {"extint", mode(7)}};

bool own_pin(unsigned& pin) {
    const boot::Context& c = boot::context();
    for (uint32_t i = 0; i < c.device_count; ++i) {
        if (c.devices[i].gsi < 24) {
            pin = c.devices[i].gsi;
            return true;
        }
    }
    return false;
}

void entry_vector(const char* name, const char* expect, unsigned pin, uint64_t value, bool accepted) {
    Attempt a(name, "ioapic", expect);
    uint64_t before = ioapic::read_entry(pin);
    ioapic::write_entry(pin, value);
    Delta d                     = a.delta();
    uint64_t after              = ioapic::read_entry(pin);
    constexpr uint64_t WRITABLE = ~(ioapic::DELIVERY_STATUS | ioapic::REMOTE_IRR);
    // One entry write is several IOREGSEL/IOWIN accesses: at least one refusal.
    // Refused: the entry never becomes deliverable. write_entry masks first,
    // so the guest's view may keep the masked halves it wrote; it must stay masked.
    bool stays_off = after == before || (after & ioapic::MASKED);
    bool pass      = accepted ? (after & WRITABLE) == (value & WRITABLE) && counts(d, 0, 0, 0)
                              : stays_off && d.known && d.other >= 1 && d.io == 0 && d.msr == 0;
    if (after != before) ioapic::write_entry(pin, before);
    a.report(pass, probe::Fault{}, "\"pin\":%u,\"wrote\":\"0x%llx\",\"before\":\"0x%llx\",\"after\":\"0x%llx\"", pin,
             ull{value}, ull{before}, ull{after});
}

void ioapic_string(uintptr_t b) {
    Attempt a("ioapic-rep-movsl", "ioapic", "#GP + refusal, or ignored; never a stop (string store into the page)");
    static const uint32_t src[5] = {0x10 + 2 * FOREIGN_PIN, 0, 0, 0, 0x46};
    probe::Fault f               = probe::rep_movsl(b, src, 5);  // IOREGSEL = pin 9 low, 3 pads, IOWIN
    Delta d                      = a.delta();
    uint64_t entry               = ioapic::read_entry(FOREIGN_PIN);
    bool pass                    = (faulted_with(f, probe::GP) ? d.other >= 1 : f.none()) && (entry & ioapic::MASKED);
    a.report(pass, f, "\"pin9\":\"0x%llx\"", ull{entry});
}

void ioapic_vectors() {
    unsigned pin = 0;
    if (!own_pin(pin) || ioapic::init() != ioapic::Status::Ok) {
        Attempt a("ioapic-setup", "ioapic", "an own device pin and a trapped IOAPIC page");
        a.report(false, probe::Fault{}, "\"reason\":\"no own INTx pin or no IOAPIC page\"");
        return;
    }
    const uint64_t dest       = uint64_t{lapic::id()} << ioapic::DEST_SHIFT;
    const uint64_t base_entry = dest | ioapic::LEVEL | ioapic::ACTIVE_LOW | 0x46;
    entry_vector("ioapic-foreign-pin", "refused_other >= 1, entry unchanged", FOREIGN_PIN, base_entry, false);
    char name[64];
    for (const Mode& m : MODES) {
        // Unmasked: a masked entry cannot deliver and is kept only in the
        // guest's view (the physical entry is always fixed, physical, to
        // this core); unmasking it with such a mode is the write refused.
        snprintf(name, sizeof name, "ioapic-own-pin-%s", m.name);
        entry_vector(name, "unmasking refused: refused_other >= 1, the entry stays masked", pin, base_entry | m.bits,
                     false);
    }
    entry_vector("ioapic-own-pin-logical",
                 "accepted into the guest's view (masked); the physical entry stays "
                 "physical to this core",
                 pin, base_entry | ioapic::DEST_LOGICAL | ioapic::MASKED, true);
    entry_vector("ioapic-own-pin-fixed", "accepted (fixed, masked): reads back as written", pin,
                 base_entry | ioapic::MASKED, true);

    const uintptr_t b = ioapic::base();
    struct Eoi {
        const char* name;
        uint32_t vector;
    };
    const Eoi eois[] = {{"ioapic-eoi-foreign-vector", idt::VECTOR_DEVICE}, {"ioapic-eoi-e0", 0xe0}};
    for (const Eoi& e : eois) {
        Attempt a(e.name, "ioapic", "ignored and logged: refused_other +1, no fault");
        probe::Fault f = probe::store(b + 0x40, 4, e.vector);
        Delta d        = a.delta();
        a.report(f.none() && counts(d, 0, 0, 1), f, "\"vector\":\"0x%x\"", e.vector);
    }
    struct Access {
        const char* name;
        uintptr_t off;
        unsigned size;
        bool store;
    };
    const Access accesses[] = {
        {"ioapic-byte-store", 0x00, 1, true},      {"ioapic-byte-load", 0x10, 1, false},
        {"ioapic-qword-store", 0x10, 8, true},     {"ioapic-qword-load", 0x00, 8, false},
        {"ioapic-unaligned-store", 0x02, 4, true}, {"ioapic-unaligned-load", 0x13, 4, false},
    };
    for (const Access& x : accesses) {
        Attempt a(x.name, "ioapic", "#GP + refusal, or ignored; never a stop");
        uint64_t v     = 0;
        probe::Fault f = x.store ? probe::store(b + x.off, x.size, 0) : probe::load(b + x.off, x.size, v);
        Delta d        = a.delta();
        bool pass      = faulted_with(f, probe::GP) ? d.known && d.other >= 1 : f.none();
        a.report(pass, f, "\"offset\":\"0x%llx\",\"size\":%u,\"store\":%s,\"value\":\"0x%llx\"", ull{x.off}, x.size,
                 x.store ? "true" : "false", ull{v});
    }
    ioapic_string(b);
}

// --- ports --------------------------------------------------------------------------

void port_write(const char* name, const char* expect, uint16_t port, uint32_t v) {
    Attempt a(name, "io", expect);
    probe::Fault f = probe::out(port, 1, v);
    Delta d        = a.delta();
    a.report(f.none() && counts(d, 1, 0, 0), f, "\"port\":\"0x%x\",\"wrote\":\"0x%x\"", port, v);
}

void port_read(const char* name, uint16_t port) {
    Attempt a(name, "io", "reads 0xff, refused_io +1");
    uint32_t v     = 0;
    probe::Fault f = probe::in(port, 1, v);
    Delta d        = a.delta();
    a.report(f.none() && v == 0xff && counts(d, 1, 0, 0), f, "\"port\":\"0x%x\",\"value\":\"0x%x\"", port, v);
}

void ports() {
    port_write("io-cf9-reset", "refused_io +1, the machine keeps running", 0xcf9, 0x6);
    port_write("io-kbc-reset", "refused_io +1, the machine keeps running", 0x64, 0xfe);
    port_write("io-port92-fast-reset", "refused_io +1, the machine keeps running", 0x92, 0x1);
    // PIC, PIT, port 0x61, RTC, and the IDE channels' status and control
    // ports: opened only to a partition that owns the IDE controller.
    const uint16_t reads[] = {0x20, 0x21, 0xa0, 0xa1,  0x40,  0x41,  0x42, 0x43,
                              0x61, 0x70, 0x71, 0x1f7, 0x177, 0x3f6, 0x376};
    char name[64];
    for (uint16_t p : reads) {
        snprintf(name, sizeof name, "io-read-0x%02x", p);
        port_read(name, p);
    }
    struct W {
        const char* name;
        uint16_t port;
        uint32_t v;
    };
    const W writes[] = {
        {"io-pic-unmask-master", 0x21, 0x00}, {"io-pic-unmask-slave", 0xa1, 0x00}, {"io-pic-icw1", 0x20, 0x11},
        {"io-pit-mode", 0x43, 0x34},          {"io-pit-count", 0x40, 0x01},        {"io-rtc-select-b", 0x70, 0x0b},
        {"io-rtc-periodic", 0x71, 0x40},      {"io-ide-read-dma", 0x177, 0xc8},    {"io-ide-reset", 0x376, 0x04},
    };
    for (const W& w : writes) port_write(w.name, "dropped, refused_io +1", w.port, w.v);
    {
        // all_ones is reported, not required: the contract asks only that the
        // string read is refused without stopping the partition.
        Attempt a("io-rep-insb", "io", "refused, refused_io >= 1, no stop");
        uint8_t buf[16];
        memset(buf, 0, sizeof buf);
        probe::Fault f = probe::rep_insb(0x21, buf, sizeof buf);
        Delta d        = a.delta();
        bool ones      = true;
        for (uint8_t c : buf) ones = ones && c == 0xff;
        a.report(f.none() && d.known && d.io >= 1 && d.msr == 0 && d.other == 0, f, "\"all_ones\":%s",
                 ones ? "true" : "false");
    }
}

// --- PCI ----------------------------------------------------------------------------

bool own_bdf(uint16_t& bdf) {
    const boot::Context& c = boot::context();
    if (c.device_count == 0) return false;
    bdf = c.devices[0].bdf;
    return true;
}

void pci_vectors() {
    {
        Attempt a("pci-foreign-read", "io", "config space of rt0's device reads all-ones");
        uint32_t id  = pci::read32(FOREIGN_BDF, 0);
        uint32_t cmd = pci::read32(FOREIGN_BDF, 4);
        a.report(id == 0xffffffffu && cmd == 0xffffffffu, probe::Fault{},
                 "\"bdf\":\"00:02.0\",\"id\":\"0x%x\",\"cmd\":\"0x%x\"", id, cmd);
    }
    {
        Attempt a("pci-foreign-byte-read", "io", "a byte read of rt0's config space (port 0xCFD) is all-ones");
        uint8_t v = pci::read8(FOREIGN_BDF, 1);
        a.report(v == 0xff, probe::Fault{}, "\"value\":\"0x%x\"", v);
    }
    uint16_t bdf = 0;
    if (!own_bdf(bdf)) {
        Attempt a("pci-setup", "io", "an own PCI device");
        a.report(false, probe::Fault{}, "\"reason\":\"no device in the boot information\"");
        return;
    }
    {
        Attempt a("pci-bar-move", "io", "refused: BAR0 of the own device reads back unchanged");
        uint32_t before = pci::read32(bdf, 0x10);
        uint32_t moved  = before ^ 0x00100000u;  // 1 MiB away, alignment kept
        pci::write32(bdf, 0x10, moved);
        Delta d        = a.delta();
        uint32_t after = pci::read32(bdf, 0x10);
        if (after != before) pci::write32(bdf, 0x10, before);
        a.report(after == before, probe::Fault{},
                 "\"before\":\"0x%x\",\"wrote\":\"0x%x\",\"after\":\"0x%x\",\"refused\":%llu", before, moved, after,
                 ull{d.refused()});
    }
    {
        Attempt a("pci-bus-master-no-dma", "io", "refused: bus master stays off on a device with dma = false");
        uint16_t before = pci::read16(bdf, 4);
        pci::write16(bdf, 4, static_cast<uint16_t>(before | 0x4));
        Delta d        = a.delta();
        uint16_t after = pci::read16(bdf, 4);
        if (after & 0x4) pci::write16(bdf, 4, before);
        a.report(!(after & 0x4), probe::Fault{}, "\"before\":\"0x%x\",\"after\":\"0x%x\",\"refused\":%llu", before,
                 after, ull{d.refused()});
    }
}

}  // namespace

void run_ioapic() { ioapic_vectors(); }

void run_io() {
    ports();
    pci_vectors();
}

}  // namespace natsume::guest::hostile
