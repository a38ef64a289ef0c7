#include "devices/pcipnic.h"

#include "boot/boot.h"
#include "devices/pci.h"

namespace natsume::guest::pcipnic {
namespace {

constexpr uint8_t PCI_COMMAND               = 0x04;
constexpr uint16_t PCI_COMMAND_IO           = 1u << 0;
constexpr uint16_t PCI_COMMAND_INTX_DISABLE = 1u << 10;

Info g_info;

struct PortIo {
    uint16_t base;
    uint16_t port(Reg r) const { return static_cast<uint16_t>(base + static_cast<uint16_t>(r)); }
    void out16(Reg r, uint16_t v) { asm volatile("outw %0, %1" ::"a"(v), "Nd"(port(r))); }
    void out8(Reg r, uint8_t v) { asm volatile("outb %0, %1" ::"a"(v), "Nd"(port(r))); }
    uint16_t in16(Reg r) {
        uint16_t v;
        asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port(r)));
        return v;
    }
    uint8_t in8(Reg r) {
        uint8_t v;
        asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port(r)));
        return v;
    }
};

bool find_device(uint16_t& bdf, uint32_t& gsi) { return pci::find_assigned(VENDOR, DEVICE, bdf, gsi); }

Status map_ports() {
    pci::SizedBar bar;
    if (!pci::read_bar(g_info.bdf, IO_BAR, bar) || !bar.bar.io || bar.bar.base + bar.size > 0x10000 ||
        bar.size <= static_cast<uint16_t>(Reg::Data))
        return Status::BadBar;
    g_info.io_base = static_cast<uint16_t>(bar.bar.base);
    uint16_t cmd   = pci::read16(g_info.bdf, PCI_COMMAND);
    pci::write16(g_info.bdf, PCI_COMMAND, static_cast<uint16_t>((cmd | PCI_COMMAND_IO) & ~PCI_COMMAND_INTX_DISABLE));
    return Status::Ok;
}

}  // namespace

const char* status_name(Status s) {
    switch (s) {
    case Status::Ok: return "ok";
    case Status::NoDevice: return "no-device";
    case Status::BadBar: return "bad-bar";
    case Status::NoResponse: return "no-response";
    case Status::BadApiVersion: return "bad-api-version";
    }
    return "?";
}

Reply command(Command c, const uint8_t* in, uint16_t in_len, uint8_t* out, uint16_t out_cap) {
    if (!g_info.io_base) return Reply{};  // port 0 and up belong to the DMA controller, never to us
    PortIo io{g_info.io_base};
    return run_command(io, c, in, in_len, out, out_cap);
}

bool set_irq_enabled(bool enable) {
    uint8_t v = enable ? 1 : 0;
    return command(Command::MaskIrq, &v, 1).ok();
}

bool force_irq() { return command(Command::ForceIrq).ok(); }

uint16_t receive_queue_length() {
    uint8_t q[2] = {};
    Reply r      = command(Command::RecvQueueLength, nullptr, 0, q, sizeof q);
    return r.ok() && r.length == 2 ? static_cast<uint16_t>(q[0] | q[1] << 8) : 0xffff;
}

Status init() {
    if (g_info.io_base) return Status::Ok;
    if (!find_device(g_info.bdf, g_info.gsi)) return Status::NoDevice;
    if (Status s = map_ports(); s != Status::Ok) return s;
    if (!command(Command::Reset).ok() || !set_irq_enabled(false)) {
        g_info.io_base = 0;
        return Status::NoResponse;
    }
    uint8_t ver[2]     = {};
    Reply r            = command(Command::ApiVersion, nullptr, 0, ver, sizeof ver);
    g_info.api_version = static_cast<uint16_t>(ver[0] | ver[1] << 8);
    if (!r.ok() || r.length != 2 || g_info.api_version != API_VERSION) {
        g_info.io_base = 0;
        return Status::BadApiVersion;
    }
    r = command(Command::ReadMac, nullptr, 0, g_info.mac, sizeof g_info.mac);
    return r.ok() ? Status::Ok : Status::NoResponse;
}

const Info& info() { return g_info; }

}  // namespace natsume::guest::pcipnic
