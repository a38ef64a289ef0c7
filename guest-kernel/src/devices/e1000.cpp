#include "devices/e1000.h"

#include <string.h>

#include "arch/cpu.h"
#include "arch/idt.h"
#include "arch/paging.h"
#include "boot/boot.h"
#include "devices/dma.h"
#include "devices/ioapic.h"
#include "devices/lapic.h"
#include "devices/pci.h"
#include "lib/cmdline.h"

namespace natsume::guest::e1000 {
namespace {

constexpr uint32_t RX_COUNT = 32;
constexpr uint32_t TX_COUNT = 8;
static_assert(valid_ring_bytes(RX_COUNT * sizeof(RxDesc)) && valid_ring_bytes(TX_COUNT * sizeof(TxDesc)));
constexpr uint64_t RESET_TIMEOUT_US  = 100000;
constexpr uint64_t TX_TIMEOUT_US     = 100000;
constexpr uint64_t EEPROM_TIMEOUT_US = 10000;
constexpr unsigned MAC_BAR           = 0;

Info g_info;
volatile RxDesc* g_rx             = nullptr;
volatile TxDesc* g_tx             = nullptr;
uint8_t* g_rx_buf                 = nullptr;
uint8_t* g_tx_buf                 = nullptr;
uint32_t g_rx_next                = 0;
uint32_t g_tx_tail                = 0;
volatile uint64_t g_irqs          = 0;
volatile uint32_t g_causes        = 0;
volatile uint64_t g_without_cause = 0;  // interrupts that found ICR clear: the device had not asserted

uint32_t rd(Reg r) { return *register_address(r); }
void wr(Reg r, uint32_t v) { *register_address(r) = v; }
Reg at(Reg base, unsigned index) { return static_cast<Reg>(static_cast<uint32_t>(base) + 4 * index); }

// Deadline in TSC ticks `us` from now (every hardware wait is bounded).
uint64_t deadline_us(uint64_t us) { return cpu::rdtsc() + boot::context().tsc_khz * us / 1000; }

bool find_device(uint16_t& bdf, uint32_t& gsi) {
    if (!pci::find_assigned(VENDOR_INTEL, DEVICE82540_EM, bdf, gsi)) return false;
    // Chipsets whose PCI INTx reaches the IOAPIC elsewhere than the ISA IRQ
    // (QEMU q35: PIRQA-H on GSI 16-23) need the GSI from the command line.
    if (boot::context().mode != boot::Mode::Partition)
        gsi = static_cast<uint32_t>(cmdline::get_u64(boot::context().cmdline, "gsi", gsi));
    return true;
}

bool reset() {
    wr(Reg::Imc, 0xffffffffu);
    wr(Reg::Ctrl, rd(Reg::Ctrl) | CTRL_RST);
    uint64_t end = deadline_us(RESET_TIMEOUT_US);
    while (rd(Reg::Ctrl) & CTRL_RST)
        if (cpu::rdtsc() > end) return false;
    wr(Reg::Imc, 0xffffffffu);  // reset re-enables nothing, but be explicit
    (void)rd(Reg::Icr);
    return true;
}

bool eeprom_word(uint8_t addr, uint16_t& out) {
    wr(Reg::Eerd, EERD_START | uint32_t{addr} << EERD_ADDR_SHIFT);
    uint64_t end = deadline_us(EEPROM_TIMEOUT_US);
    uint32_t v;
    while (!((v = rd(Reg::Eerd)) & EERD_DONE))
        if (cpu::rdtsc() > end) return false;
    out = static_cast<uint16_t>(v >> EERD_DATA_SHIFT);
    return true;
}

// EEPROM words 0-2 hold the MAC (8254x SDM 5.6.1); RAL0/RAH0 as loaded at
// reset are the fallback.
void read_mac() {
    uint16_t w[3];
    if (eeprom_word(0, w[0]) && eeprom_word(1, w[1]) && eeprom_word(2, w[2]) && (w[0] | w[1] | w[2]) != 0) {
        for (unsigned i = 0; i < 3; ++i) {
            g_info.mac[2 * i]     = static_cast<uint8_t>(w[i]);
            g_info.mac[2 * i + 1] = static_cast<uint8_t>(w[i] >> 8);
        }
        g_info.mac_from_eeprom = true;
        return;
    }
    uint32_t lo = rd(Reg::Ral0), hi = rd(Reg::Rah0);
    for (unsigned i = 0; i < 4; ++i) g_info.mac[i] = static_cast<uint8_t>(lo >> (8 * i));
    g_info.mac[4] = static_cast<uint8_t>(hi);
    g_info.mac[5] = static_cast<uint8_t>(hi >> 8);
}

bool alloc_rings() {
    g_rx     = static_cast<RxDesc*>(dma::alloc(RX_COUNT * sizeof(RxDesc), RING_ALIGN));
    g_tx     = static_cast<TxDesc*>(dma::alloc(TX_COUNT * sizeof(TxDesc), RING_ALIGN));
    g_rx_buf = static_cast<uint8_t*>(dma::alloc(RX_COUNT * BUFFER_SIZE, 4096));
    g_tx_buf = static_cast<uint8_t*>(dma::alloc(TX_COUNT * BUFFER_SIZE, 4096));
    return g_rx && g_tx && g_rx_buf && g_tx_buf;
}

void setup_rx() {
    for (uint32_t i = 0; i < RX_COUNT; ++i) g_rx[i].addr = dma::bus_address(g_rx_buf + i * BUFFER_SIZE);
    uint64_t ring = dma::bus_address(const_cast<RxDesc*>(g_rx));
    wr(Reg::Rdbal, static_cast<uint32_t>(ring));
    wr(Reg::Rdbah, static_cast<uint32_t>(ring >> 32));
    wr(Reg::Rdlen, RX_COUNT * sizeof(RxDesc));
    wr(Reg::Rdh, 0);
    wr(Reg::Rdt, RX_COUNT - 1);  // head == tail means "no free buffers"
    wr(Reg::Rdtr, 0);            // no receive delay: RXT0 per packet
    g_rx_next = 0;
    wr(Reg::Ral0, ral_from_mac(g_info.mac));
    wr(Reg::Rah0, rah_from_mac(g_info.mac));
    for (unsigned i = 0; i < MTA_ENTRIES; ++i) wr(at(Reg::Mta, i), 0);
    wr(Reg::Rctl, RCTL_EN | RCTL_BAM | RCTL_SECRC);
}

void setup_tx() {
    uint64_t ring = dma::bus_address(const_cast<TxDesc*>(g_tx));
    wr(Reg::Tdbal, static_cast<uint32_t>(ring));
    wr(Reg::Tdbah, static_cast<uint32_t>(ring >> 32));
    wr(Reg::Tdlen, TX_COUNT * sizeof(TxDesc));
    wr(Reg::Tdh, 0);
    wr(Reg::Tdt, 0);
    g_tx_tail = 0;
    wr(Reg::Tipg, TIPG_COPPER);
    wr(Reg::Tctl, TCTL_EN | TCTL_PSP | TCTL_CT | TCTL_COLD);
}

Status map_registers() {
    pci::SizedBar bar;
    if (!pci::read_bar(g_info.bdf, MAC_BAR, bar) || bar.bar.io) return Status::BadBar;
    if (!paging::map_uncached(bar.bar.base, bar.size)) return Status::BadBar;
    g_info.mmio      = bar.bar.base;
    g_info.mmio_size = bar.size;
    pci::enable_mmio_and_dma(g_info.bdf);
    return Status::Ok;
}

void on_interrupt(idt::InterruptFrame&) {
    uint32_t icr = rd(Reg::Icr);  // read-to-clear: this is the acknowledge
    g_causes     = g_causes | icr;
    g_irqs       = g_irqs + 1;
    if (icr == 0) g_without_cause = g_without_cause + 1;
    lapic::eoi();
}

}  // namespace

const char* status_name(Status s) {
    switch (s) {
    case Status::Ok: return "ok";
    case Status::NoDevice: return "no-device";
    case Status::BadBar: return "bad-bar";
    case Status::ResetTimeout: return "reset-timeout";
    case Status::NoDmaMemory: return "no-dma-memory";
    case Status::NoIoapic: return "no-ioapic";
    case Status::BadPin: return "bad-pin";
    case Status::NoGsi: return "no-gsi";
    }
    return "?";
}

volatile uint32_t* register_address(Reg r) {
    return reinterpret_cast<volatile uint32_t*>(g_info.mmio + static_cast<uint32_t>(r));
}

Status init() {
    if (g_info.mmio) return Status::Ok;
    if (!find_device(g_info.bdf, g_info.gsi)) return Status::NoDevice;
    if (Status s = map_registers(); s != Status::Ok) return s;
    if (!reset()) return Status::ResetTimeout;
    if (dma::init() != dma::Status::Ok || !alloc_rings()) return Status::NoDmaMemory;
    read_mac();
    wr(Reg::Ctrl, rd(Reg::Ctrl) | CTRL_SLU | CTRL_ASDE);
    setup_rx();
    setup_tx();
    return Status::Ok;
}

const Info& info() { return g_info; }
bool link_up() { return rd(Reg::Status) & STATUS_LINK_UP; }

Status enable_interrupts(uint8_t vector, uint32_t causes) {
    if (g_info.gsi == 0xffffffffu) return Status::NoGsi;
    if (ioapic::init() != ioapic::Status::Ok) return Status::NoIoapic;
    idt::set_handler(vector, on_interrupt);
    if (ioapic::route_pci_intx(g_info.gsi, vector) != ioapic::Status::Ok) return Status::BadPin;
    (void)rd(Reg::Icr);
    wr(Reg::Ims, causes);
    ioapic::unmask(g_info.gsi);
    return Status::Ok;
}

void disable_interrupts() {
    wr(Reg::Imc, 0xffffffffu);
    if (g_info.gsi != 0xffffffffu && ioapic::base()) ioapic::mask(g_info.gsi);
}

uint64_t irq_count() { return g_irqs; }
const volatile uint64_t* irq_counter() { return &g_irqs; }
uint32_t causes_seen() { return g_causes; }
uint64_t irqs_without_cause() { return g_without_cause; }

namespace {

// Posts descriptor `i` for `len` bytes at `bus` and waits for the device.
bool transmit(uint32_t i, uint64_t bus, size_t len) {
    g_tx[i].addr   = bus;
    g_tx[i].length = static_cast<uint16_t>(len);
    g_tx[i].cmd    = TX_CMD_EOP | TX_CMD_IFCS | TX_CMD_RS;
    g_tx[i].status = 0;
    g_tx_tail      = ring_next(i, TX_COUNT);
    asm volatile("" ::: "memory");  // descriptor stores before the doorbell (x86: ordered)
    wr(Reg::Tdt, g_tx_tail);
    uint64_t end = deadline_us(TX_TIMEOUT_US);
    while (!(g_tx[i].status & TX_STATUS_DD))
        if (cpu::rdtsc() > end) return false;
    return true;
}

}  // namespace

bool send(const void* frame, size_t len) {
    if (len > BUFFER_SIZE) return false;
    uint32_t i = g_tx_tail;
    memcpy(g_tx_buf + i * BUFFER_SIZE, frame, len);
    return transmit(i, dma::bus_address(g_tx_buf + i * BUFFER_SIZE), len);
}

bool send_from(uint64_t bus_address, size_t len) {
    if (len > BUFFER_SIZE || bus_address == 0) return false;
    return transmit(g_tx_tail, bus_address, len);
}

size_t peek(const uint8_t*& frame) {
    volatile RxDesc& d = g_rx[g_rx_next];
    if (!(d.status & RX_STATUS_DD)) return 0;
    frame = g_rx_buf + g_rx_next * BUFFER_SIZE;
    return d.length < BUFFER_SIZE ? d.length : BUFFER_SIZE;
}

void release() {
    volatile RxDesc& d = g_rx[g_rx_next];
    if (!(d.status & RX_STATUS_DD)) return;
    d.status = 0;
    wr(Reg::Rdt, g_rx_next);
    g_rx_next = ring_next(g_rx_next, RX_COUNT);
}

size_t receive(void* buf, size_t cap) {
    const uint8_t* frame = nullptr;
    size_t n             = peek(frame);
    if (n == 0) return 0;
    n = n < cap ? n : cap;
    memcpy(buf, frame, n);
    release();  // hand the buffer back
    return n;
}

void write_ics(uint32_t causes) { wr(Reg::Ics, causes); }

}  // namespace natsume::guest::e1000
