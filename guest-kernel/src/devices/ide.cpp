#include "devices/ide.h"

#include "arch/cpu.h"
#include "arch/idt.h"
#include "boot/boot.h"
#include "devices/dma.h"
#include "devices/ioapic.h"
#include "devices/lapic.h"
#include "devices/pci.h"

namespace natsume::guest::ide {
namespace {

namespace ata = natsume::drivers::ata;

constexpr ata::LegacyChannel CHANNEL = ata::SECONDARY;
constexpr uint64_t COMMAND_US        = 1000000;  // any command on an emulated disk finishes far sooner
constexpr unsigned BAR_BUS_MASTER    = 4;

Info g_info;
ata::Prd* g_prd          = nullptr;
volatile uint64_t g_irqs = 0;
uint32_t g_line          = 0xffffffffu;  // the GSI routed by enable_interrupts; none: reads poll

void on_interrupt(idt::InterruptFrame&) {
    g_irqs = g_irqs + 1;
    lapic::eoi();  // edge-triggered: nothing to acknowledge at the IOAPIC
}

// The secondary channel's line: natively ISA IRQ 15 (this kernel reads no
// interrupt source overrides; the PC's 14 and 15 have none), in a partition
// what the boot information says.
uint32_t legacy_line() {
    const boot::Context& ctx = boot::context();
    if (ctx.mode != boot::Mode::Partition) return CHANNEL.isa_irq;
    for (uint32_t i = 0; i < ctx.device_count; i++)
        if (ctx.devices[i].bdf == g_info.bdf && ctx.devices[i].legacy_gsi[1] != NATSUME_BOOT_NO_LINE)
            return ctx.devices[i].legacy_gsi[1];
    return 0xffffffffu;
}

uint8_t in(ata::Reg r) { return cpu::inb(ata::port(CHANNEL, r)); }
void out(ata::Reg r, uint8_t v) { cpu::outb(ata::port(CHANNEL, r), v); }
uint16_t bm_port(uint16_t reg) { return static_cast<uint16_t>(g_info.bm_base + ata::bm::CHANNEL_STRIDE + reg); }

uint64_t deadline_after(uint64_t us) { return cpu::rdtsc() + boot::context().tsc_khz * us / 1000; }

// Waits for BSY to clear; the status register, or 0xff on a timeout.
uint8_t wait_not_busy(uint64_t deadline) {
    for (;;) {
        uint8_t s = in(ata::Reg::STATUS);
        if (!(s & ata::status::BSY)) return s;
        if (cpu::rdtsc() > deadline) return 0xff;
        cpu::pause();
    }
}

Status identify() {
    out(ata::Reg::DEVICE, ata::DEVICE_LBA);  // master
    cpu::outb(CHANNEL.control, ata::DEVCTL_NIEN);
    if (in(ata::Reg::STATUS) == 0xff) return Status::NoDisk;  // floating bus: no device
    out(ata::Reg::COMMAND, ata::command::IDENTIFY);
    uint64_t deadline = deadline_after(COMMAND_US);
    uint8_t s         = wait_not_busy(deadline);
    if (s == 0xff) return Status::Timeout;
    if (s == 0 || (s & ata::status::ERR) || !(s & ata::status::DRQ)) return Status::NoDisk;
    uint16_t id[256];
    for (uint16_t& w : id) w = cpu::inw(ata::port(CHANNEL, ata::Reg::DATA));
    for (unsigned i = 0; i < ata::ID_MODEL_WORDS; i++) {
        g_info.model[2 * i]     = static_cast<char>(id[ata::ID_MODEL + i] >> 8);
        g_info.model[2 * i + 1] = static_cast<char>(id[ata::ID_MODEL + i]);
    }
    for (int i = 39; i >= 0 && g_info.model[i] == ' '; i--) g_info.model[i] = 0;
    g_info.sectors = id[ata::ID_LBA28] | (uint64_t{id[ata::ID_LBA28 + 1]} << 16);
    return g_info.sectors ? Status::Ok : Status::NoDisk;
}

}  // namespace

const char* status_name(Status s) {
    switch (s) {
    case Status::Ok: return "ok";
    case Status::NoController: return "no PIIX3 IDE controller";
    case Status::NoBusMaster: return "no bus-master I/O BAR";
    case Status::NoDisk: return "no disk on the secondary master";
    case Status::Timeout: return "the disk did not answer in time";
    case Status::DeviceError: return "the disk reported an error";
    case Status::DmaError: return "the bus master reported an error";
    case Status::NoDmaMemory: return "no DMA memory";
    case Status::BadArgs: return "bad arguments";
    case Status::NoLine: return "no interrupt line for the secondary channel";
    case Status::NoIoapic: return "no IOAPIC";
    }
    return "unknown";
}

const Info& info() { return g_info; }

Status init() {
    uint16_t bdf = 0;
    uint32_t gsi = 0;
    if (!pci::find_assigned(ata::PIIX3_VENDOR, ata::PIIX3_IDE_DEVICE, bdf, gsi)) return Status::NoController;
    g_info.bdf = bdf;
    pci::SizedBar bar;
    if (!pci::read_bar(bdf, BAR_BUS_MASTER, bar) || !bar.bar.io || !bar.bar.base) return Status::NoBusMaster;
    g_info.bm_base = static_cast<uint16_t>(bar.bar.base);
    // I/O decoding and bus mastering on.
    pci::write16(bdf, pci::COMMAND,
                 static_cast<uint16_t>(pci::read16(bdf, pci::COMMAND) | pci::CMD_IO_SPACE | pci::CMD_BUS_MASTER));
    if (dma::init() != dma::Status::Ok) return Status::NoDmaMemory;
    // The table itself must not cross a 64 KiB boundary: aligned to its size.
    g_prd = static_cast<ata::Prd*>(dma::alloc(sizeof(ata::Prd) * MAX_PIECES, sizeof(ata::Prd) * MAX_PIECES));
    if (!g_prd) return Status::NoDmaMemory;
    return identify();
}

Status read(uint64_t lba, uint32_t count, void* buf) { return read_to(lba, count, dma::bus_address(buf)); }

Status read_to(uint64_t lba, uint32_t count, uint64_t phys) {
    // One piece per 64 KiB window the buffer touches (a PRD may not cross one).
    Piece pieces[MAX_PIECES];
    uint32_t n = 0;
    if (count == 0 || count > MAX_SECTORS) return Status::BadArgs;
    for (uint64_t at = phys, end = phys + uint64_t{count} * ata::SECTOR; at < end && n < MAX_PIECES; n++) {
        uint64_t window_end = (at | 0xffff) + 1;
        uint64_t stop       = window_end < end ? window_end : end;
        pieces[n]           = {at, static_cast<uint32_t>(stop - at)};
        at                  = stop;
    }
    return read_pieces(lba, pieces, n);
}

namespace {

// The PRD table for `pieces`; false when one breaks the controller's rules.
// Pieces that continue each other in memory share a PRD while it stays inside
// one 64 KiB window: the controller then moves them as one region.
bool fill_prds(const Piece* pieces, uint32_t n, uint32_t& sectors) {
    sectors       = 0;
    uint32_t used = 0;
    uint64_t end  = 0;  // where the last PRD's region ends
    for (uint32_t i = 0; i < n; i++) {
        const Piece& p = pieces[i];
        if (p.bytes == 0 || p.bytes % ata::SECTOR || p.bytes > ata::PRD_MAX_BYTES || p.bus + p.bytes > (1ull << 32) ||
            (p.bus >> 16) != ((p.bus + p.bytes - 1) >> 16))
            return false;
        sectors += p.bytes / ata::SECTOR;
        uint64_t start = used ? g_prd[used - 1].base : 0;
        if (used && p.bus == end && (start >> 16) == ((p.bus + p.bytes - 1) >> 16) &&
            p.bus + p.bytes - start < ata::PRD_MAX_BYTES) {
            g_prd[used - 1].bytes = static_cast<uint16_t>(p.bus + p.bytes - start);
        } else {
            g_prd[used++] = ata::Prd{static_cast<uint32_t>(p.bus),
                                     static_cast<uint16_t>(p.bytes == ata::PRD_MAX_BYTES ? 0 : p.bytes), 0};
        }
        end = p.bus + p.bytes;
    }
    g_prd[used - 1].flags = ata::PRD_EOT;
    return true;
}

}  // namespace

Status read_pieces(uint64_t lba, const Piece* pieces, uint32_t n) {
    uint32_t count = 0;
    if (n == 0 || n > MAX_PIECES || !fill_prds(pieces, n, count) || count > MAX_SECTORS ||
        lba + count > g_info.sectors || lba + count > ata::LBA28_LIMIT)
        return Status::BadArgs;
    cpu::outb(bm_port(ata::bm::COMMAND), 0);  // stopped
    cpu::outb(bm_port(ata::bm::STATUS), ata::bm::ST_ERROR | ata::bm::ST_INTERRUPT);
    cpu::outl(bm_port(ata::bm::PRDT), static_cast<uint32_t>(dma::bus_address(g_prd)));
    cpu::outb(bm_port(ata::bm::COMMAND), ata::bm::CMD_READ);
    out(ata::Reg::SECTOR_COUNT, static_cast<uint8_t>(count == 256 ? 0 : count));
    out(ata::Reg::LBA_LOW, static_cast<uint8_t>(lba));
    out(ata::Reg::LBA_MID, static_cast<uint8_t>(lba >> 8));
    out(ata::Reg::LBA_HIGH, static_cast<uint8_t>(lba >> 16));
    out(ata::Reg::DEVICE, static_cast<uint8_t>(ata::DEVICE_LBA | ((lba >> 24) & 0xf)));
    out(ata::Reg::COMMAND, ata::command::READ_DMA);
    uint64_t seen = g_irqs;
    cpu::outb(bm_port(ata::bm::COMMAND), ata::bm::CMD_READ | ata::bm::CMD_START);
    uint64_t deadline = deadline_after(COMMAND_US);
    uint8_t bms       = 0;
    if (g_line != 0xffffffffu) {
        // The completion interrupt; interrupts were off since the count was read,
        // so an early one waits in the local APIC until here.
        cpu::enable_interrupts();
        while (g_irqs == seen && cpu::rdtsc() < deadline) cpu::pause();
        cpu::disable_interrupts();
        bms = cpu::inb(bm_port(ata::bm::STATUS));
    } else {
        for (;;) {
            bms = cpu::inb(bm_port(ata::bm::STATUS));
            if ((bms & ata::bm::ST_INTERRUPT) || !(bms & ata::bm::ST_ACTIVE) || cpu::rdtsc() > deadline) break;
            cpu::pause();
        }
    }
    cpu::outb(bm_port(ata::bm::COMMAND), ata::bm::CMD_READ);  // stop
    uint8_t s = wait_not_busy(deadline);                      // also clears the device's interrupt
    cpu::outb(bm_port(ata::bm::STATUS), ata::bm::ST_ERROR | ata::bm::ST_INTERRUPT);
    if (s == 0xff) return Status::Timeout;
    if (bms & ata::bm::ST_ERROR) return Status::DmaError;
    if (s & (ata::status::ERR | ata::status::DF)) return Status::DeviceError;
    if (!(bms & ata::bm::ST_INTERRUPT)) return Status::Timeout;
    return Status::Ok;
}

Status enable_interrupts(uint8_t vector) {
    uint32_t line = legacy_line();
    if (line == 0xffffffffu) return Status::NoLine;
    if (ioapic::init() != ioapic::Status::Ok) return Status::NoIoapic;
    if (line >= ioapic::pins()) return Status::NoLine;
    idt::set_handler(vector, on_interrupt);
    ioapic::write_entry(line, ioapic::encode(ioapic::isa_irq(vector, static_cast<uint8_t>(lapic::id()))));
    ioapic::unmask(line);
    g_line = line;
    cpu::outb(CHANNEL.control, 0);  // nIEN clear: the device raises INTRQ when a command completes
    return Status::Ok;
}

void disable_interrupts() {
    cpu::outb(CHANNEL.control, ata::DEVCTL_NIEN);
    if (g_line != 0xffffffffu) ioapic::mask(g_line);
    g_line = 0xffffffffu;
}

uint64_t irq_count() { return g_irqs; }

}  // namespace natsume::guest::ide
