#include "acpi_build.hpp"

#include "drivers/acpi/tables.hpp"

#include "aml.hpp"
#include "bytes.hpp"

namespace natsume::acpi_build {
namespace {

namespace t = drivers::acpi;

constexpr uint32_t LAPIC_ADDRESS = 0xfee00000;
constexpr uint16_t CF8           = 0xcf8;
constexpr uint16_t COM1_BASE     = 0x3f8;

// The byte that makes p[0, n) sum to zero (with that byte read as zero).
uint8_t checksum(const uint8_t* p, size_t n) { return static_cast<uint8_t>(-t::byte_sum(p, n)); }

// Header of every table (section 5.2.6); the checksum is set when the table is complete.
void header(uint8_t* h, const char sig[4], uint32_t length, uint8_t revision) {
    __builtin_memcpy(h, sig, 4);
    bytes::store(h + t::HEADER_LENGTH, length);
    h[t::HEADER_REVISION] = revision;
    __builtin_memcpy(h + t::HEADER_OEM, "NATSUM", 6);
    __builtin_memcpy(h + t::HEADER_OEM_TABLE, "NATSUME ", 8);
    bytes::store<uint32_t>(h + t::HEADER_OEM_REVISION, 1);
    __builtin_memcpy(h + t::HEADER_CREATOR, "NTSM", 4);
    bytes::store<uint32_t>(h + t::HEADER_CREATOR_REVISION, 1);
}
void seal(uint8_t* h, size_t length) {
    h[t::HEADER_CHECKSUM] = 0;
    h[t::HEADER_CHECKSUM] = checksum(h, length);
}

void gas_port(uint8_t* g, uint16_t port) {
    g[0] = t::GAS_SYSTEM_IO;
    g[1] = 8;  // bit width
    g[2] = 0;  // bit offset
    g[3] = t::GAS_ACCESS_BYTE;
    bytes::store<uint64_t>(g + 4, port);
}

// Where the next table goes: 16-byte aligned, inside the buffer.
struct Cursor {
    uint8_t* buf;
    size_t cap, at;
    uint8_t* take(size_t n) {
        at = (at + 15) & ~size_t(15);
        if (n > cap || at > cap - n) return nullptr;
        uint8_t* p = buf + at;
        __builtin_memset(p, 0, n);
        at += n;
        return p;
    }
};

void madt_entry(uint8_t*& e, uint8_t type, uint8_t len) {
    e[0] = type;
    e[1] = len;
}

size_t madt_size(const Spec& s) {
    return t::MADT_ENTRIES + 8 * s.cpu_count + 12 + 10 * s.override_count +
           (s.mailbox_gpa ? t::MADT_MP_WAKEUP_SIZE : 0);
}

void write_madt(const Spec& s, uint8_t* m) {
    header(m, "APIC", static_cast<uint32_t>(madt_size(s)), 5);
    bytes::store(m + t::MADT_LAPIC_ADDRESS, LAPIC_ADDRESS);
    bytes::store<uint32_t>(m + t::MADT_FLAGS, 0);  // no 8259 pair (PCAT_COMPAT clear)
    uint8_t* e = m + t::MADT_ENTRIES;
    for (size_t i = 0; i < s.cpu_count; ++i, e += 8) {
        madt_entry(e, t::MADT_LAPIC, 8);
        e[2] = static_cast<uint8_t>(i);  // ACPI processor UID
        e[3] = static_cast<uint8_t>(s.apic_ids[i]);
        bytes::store<uint32_t>(e + 4, t::MADT_LAPIC_ENABLED);
    }
    madt_entry(e, t::MADT_IOAPIC, 12);
    e[2] = s.ioapic_id;
    bytes::store(e + 4, s.ioapic_address);
    bytes::store(e + 8, s.ioapic_gsi_base);
    e += 12;
    for (size_t i = 0; i < s.override_count; ++i, e += 10) {
        madt_entry(e, t::MADT_ISO, 10);
        e[2] = 0;  // ISA
        e[3] = s.overrides[i].irq;
        bytes::store(e + 4, s.overrides[i].gsi);
        bytes::store(e + 8, s.overrides[i].flags);
    }
    if (s.mailbox_gpa) {
        madt_entry(e, t::MADT_MP_WAKEUP, t::MADT_MP_WAKEUP_SIZE);
        bytes::store<uint16_t>(e + t::MADT_MP_WAKEUP_VERSION, 0);
        bytes::store<uint32_t>(e + 4, 0);
        bytes::store(e + t::MADT_MP_WAKEUP_MAILBOX, s.mailbox_gpa);
    }
    seal(m, madt_size(s));
}

void write_fadt(const Spec& s, uint8_t* f, uint64_t dsdt_gpa) {
    header(f, "FACP", t::FADT_SIZE, 6);
    bytes::store(f + t::FADT_DSDT, static_cast<uint32_t>(dsdt_gpa));
    f[t::FADT_PM_PROFILE] = 0;  // unspecified
    bytes::store<uint16_t>(f + t::FADT_IAPC_BOOT_ARCH, t::BOOT_ARCH_NO_VGA | t::BOOT_ARCH_NO_CMOS_RTC);
    // Physical destination mode: the hypervisor lets a partition's IPIs and
    // interrupt routes name its own cores by APIC ID, never by logical group.
    bytes::store<uint32_t>(f + t::FADT_FLAGS, t::FADT_HW_REDUCED | t::FADT_RESET_REG_SUP | t::FADT_APIC_PHYSICAL);
    gas_port(f + t::FADT_RESET_REG, s.reset_port);
    f[t::FADT_RESET_VALUE]   = s.reset_value;
    f[t::FADT_MINOR_VERSION] = 5;
    bytes::store(f + t::FADT_X_DSDT, dsdt_gpa);
    gas_port(f + t::FADT_SLEEP_CONTROL, s.sleep_control_port);
    gas_port(f + t::FADT_SLEEP_STATUS, s.sleep_status_port);
    __builtin_memcpy(f + t::FADT_HYPERVISOR_ID, "Natsume", 8);
    seal(f, t::FADT_SIZE);
}

// Resource descriptors (section 6.4): address spaces the root bridge decodes.
constexpr uint8_t PRODUCER_FIXED = 0x0c;  // producer, positive decode, min and max fixed

void io_port(aml::Writer& w, uint16_t base, uint8_t len) {
    const uint8_t d[] = {0x47, 0x01, uint8_t(base), uint8_t(base >> 8), uint8_t(base), uint8_t(base >> 8), 1, len};
    w.bytes(d, sizeof d);
}

void word_bus(aml::Writer& w) {
    uint8_t d[16] = {0x88, 13, 0, 2, PRODUCER_FIXED, 0};
    bytes::store<uint16_t>(d + 12, 0);  // buses 0..0: length 1
    bytes::store<uint16_t>(d + 14, 1);
    w.bytes(d, sizeof d);
}

void address_window(aml::Writer& w, const Window& win) {
    const uint64_t last = win.base + win.size - 1;
    if (last <= 0xffffffffull) {
        uint8_t d[26] = {0x87, 23, 0, uint8_t(win.io ? 1 : 0), PRODUCER_FIXED, uint8_t(win.io ? 3 : 1)};
        bytes::store(d + 10, static_cast<uint32_t>(win.base));
        bytes::store(d + 14, static_cast<uint32_t>(last));
        bytes::store(d + 22, static_cast<uint32_t>(win.size));
        return w.bytes(d, sizeof d);
    }
    uint8_t d[46] = {0x8a, 43, 0, 0, PRODUCER_FIXED, 1};
    bytes::store(d + 14, win.base);
    bytes::store(d + 22, last);
    bytes::store(d + 38, win.size);
    w.bytes(d, sizeof d);
}

void end_tag(aml::Writer& w) {
    w.byte(0x79);
    w.byte(0);  // checksum 0: "treated as correct" (section 6.4.2.9)
}

void root_crs(aml::Writer& w, const Spec& s) {
    w.name("_CRS");
    size_t buf = w.begin(aml::BUFFER_OP);
    size_t n   = 16 + 8 + 2;
    for (size_t i = 0; i < s.window_count; ++i)
        n += s.windows[i].base + s.windows[i].size - 1 <= 0xffffffffull ? 26 : 46;
    w.integer(n);
    word_bus(w);
    io_port(w, CF8, 8);
    for (size_t i = 0; i < s.window_count; ++i) address_window(w, s.windows[i]);
    end_tag(w);
    w.end(buf);
}

void named_eisa(aml::Writer& w, const char* name, const char id[7]) {
    w.name(name);
    w.integer(aml::eisa_id(id));
}

// The interrupt link of route i: "LK" and two hex digits.
void link_name(char out[5], size_t i) {
    const char* hex = "0123456789ABCDEF";
    out[0] = 'L', out[1] = 'K', out[2] = hex[(i >> 4) & 0xf], out[3] = hex[i & 0xf], out[4] = 0;
}

// Extended Interrupt Descriptor (section 6.4.3.6): one GSI, consumer, edge,
// active high, exclusive; then the end tag.
void isa_interrupt_template(aml::Writer& w, uint32_t gsi) {
    size_t buf = w.begin(aml::BUFFER_OP);
    w.integer(11);
    constexpr uint8_t CONSUMER = 0x01, EDGE = 0x02;
    uint8_t d[9] = {0x89, 6, 0, CONSUMER | EDGE, 1};
    bytes::store(d + 5, gsi);
    w.bytes(d, sizeof d);
    end_tag(w);
    w.end(buf);
}

// An interrupt link (PNP0C0F, section 6.2.13) fixed at one ISA line: _PRS and
// _CRS name it, _SRS accepts it (Linux sets the link before use).
void isa_link(aml::Writer& w, size_t i, uint32_t gsi) {
    char name[5];
    link_name(name, i);
    size_t dev = w.begin(aml::DEVICE_OP, true);
    w.name_seg(name);
    named_eisa(w, "_HID", "PNP0C0F");
    w.name("_UID"), w.integer(i);
    w.name("_PRS"), isa_interrupt_template(w, gsi);
    w.name("_CRS"), isa_interrupt_template(w, gsi);
    size_t srs = w.begin(aml::METHOD_OP);
    w.name_seg("_SRS");
    w.byte(1);  // one argument, not serialized
    w.end(srs);
    w.end(dev);
}

void root_prt(aml::Writer& w, const Spec& s) {
    for (size_t i = 0; i < s.route_count; ++i)
        if (s.routes[i].isa_line) isa_link(w, i, s.routes[i].gsi);
    w.name("_PRT");
    size_t pkg = w.begin(aml::PACKAGE_OP);
    w.byte(static_cast<uint8_t>(s.route_count));
    for (size_t i = 0; i < s.route_count; ++i) {
        size_t e = w.begin(aml::PACKAGE_OP);
        w.byte(4);
        w.integer((uint64_t(s.routes[i].device) << 16) | 0xffff);  // any function of the device
        w.integer(s.routes[i].pin);
        if (s.routes[i].isa_line) {
            char name[5];
            link_name(name, i);
            w.name_seg(name);  // the link's resources give the GSI
            w.integer(0);
        } else {
            w.integer(0);  // no link device: the last element is a GSI
            w.integer(s.routes[i].gsi);
        }
        w.end(e);
    }
    w.end(pkg);
}

void pci_root(aml::Writer& w, const Spec& s) {
    size_t dev = w.begin(aml::DEVICE_OP, true);
    w.name_seg("PCI0");
    named_eisa(w, "_HID", "PNP0A08");
    named_eisa(w, "_CID", "PNP0A03");
    w.name("_UID"), w.integer(0);
    w.name("_SEG"), w.integer(0);
    w.name("_BBN"), w.integer(0);
    root_crs(w, s);
    root_prt(w, s);
    w.end(dev);
}

void com1(aml::Writer& w) {
    size_t dev = w.begin(aml::DEVICE_OP, true);
    w.name_seg("COM1");
    named_eisa(w, "_HID", "PNP0501");
    w.name("_UID"), w.integer(1);
    w.name("_CRS");
    size_t buf = w.begin(aml::BUFFER_OP);
    w.integer(10);
    io_port(w, COM1_BASE, 8);
    end_tag(w);
    w.end(buf);
    w.end(dev);
}

// \_S5: the sleep type Linux writes to the sleep control register to power off.
void s5(aml::Writer& w) {
    w.name("\\_S5_");
    size_t pkg = w.begin(aml::PACKAGE_OP);
    w.byte(4);
    w.integer(5), w.integer(5), w.integer(0), w.integer(0);
    w.end(pkg);
}

size_t write_dsdt(const Spec& s, uint8_t* d, size_t cap) {
    if (cap < t::HEADER_SIZE) return 0;
    aml::Writer w(d + t::HEADER_SIZE, cap - t::HEADER_SIZE);
    size_t sb = w.begin(aml::SCOPE_OP);
    w.name_path("\\_SB_");
    pci_root(w, s);
    if (s.com1) com1(w);
    w.end(sb);
    s5(w);
    if (w.overflowed()) return 0;
    const size_t len = t::HEADER_SIZE + w.size();
    header(d, "DSDT", static_cast<uint32_t>(len), 2);
    seal(d, len);
    return len;
}

void write_rsdp(uint8_t* r, uint64_t xsdt_gpa) {
    __builtin_memcpy(r, "RSD PTR ", 8);
    __builtin_memcpy(r + t::RSDP_OEM, "NATSUM", 6);
    r[t::RSDP_REVISION] = 2;
    bytes::store<uint32_t>(r + t::RSDP_LENGTH, t::RSDP_V2_SIZE);
    bytes::store(r + t::RSDP_XSDT, xsdt_gpa);
    r[t::RSDP_CHECKSUM]     = checksum(r, t::RSDP_V1_SIZE);
    r[t::RSDP_EXT_CHECKSUM] = checksum(r, t::RSDP_V2_SIZE);
}

}  // namespace

Error build(const Spec& s, uint8_t* buf, size_t cap, uint64_t gpa, Built& out) {
    out = {};
    if (s.cpu_count == 0 || s.cpu_count > MAX_CPUS) return Error::TooManyCpus;
    if (s.route_count > MAX_ROUTES || s.window_count > MAX_WINDOWS || s.override_count > MAX_OVERRIDES)
        return Error::TooMany;
    Cursor c{buf, cap, 0};
    uint8_t* rsdp = c.take(t::RSDP_V2_SIZE);
    uint8_t* xsdt = c.take(t::HEADER_SIZE + 2 * 8);
    uint8_t* fadt = c.take(t::FADT_SIZE);
    uint8_t* madt = c.take(madt_size(s));
    uint8_t* dsdt = c.take(t::HEADER_SIZE);
    if (!rsdp || !xsdt || !fadt || !madt || !dsdt) return Error::NoSpace;
    c.at -= t::HEADER_SIZE;
    const size_t dsdt_len = write_dsdt(s, dsdt, cap - c.at);
    if (dsdt_len == 0) return Error::NoSpace;
    c.at += dsdt_len;
    auto gpa_of = [&](const uint8_t* p) { return gpa + static_cast<uint64_t>(p - buf); };
    write_madt(s, madt);
    write_fadt(s, fadt, gpa_of(dsdt));
    header(xsdt, "XSDT", t::HEADER_SIZE + 16, 1);
    bytes::store(xsdt + t::HEADER_SIZE, gpa_of(fadt));
    bytes::store(xsdt + t::HEADER_SIZE + 8, gpa_of(madt));
    seal(xsdt, t::HEADER_SIZE + 16);
    write_rsdp(rsdp, gpa_of(xsdt));
    out = {gpa_of(rsdp), c.at};
    return Error::Ok;
}

const char* to_string(Error e) {
    switch (e) {
    case Error::Ok: return "the ACPI tables were built";
    case Error::TooManyCpus: return "a Linux partition has 1 to 8 cores";
    case Error::TooMany: return "too many devices, BAR windows or interrupt overrides for the partition's tables";
    case Error::NoSpace: return "the partition's ACPI tables do not fit in the space set aside for them";
    }
    return "unknown ACPI build error";
}

}  // namespace natsume::acpi_build
