// Driver for the Intel 82540EM (8086:100e) as Bochs and QEMU emulate it:
// legacy descriptors, one RX and one TX ring in DMA memory, INTx through the
// IOAPIC. One device per kernel.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "drivers/net/e1000.hpp"

namespace natsume::guest::e1000 {

// Registers and descriptors: drivers/net/e1000.hpp.
using namespace natsume::drivers::e1000;

enum class Status : uint8_t { Ok, NoDevice, BadBar, ResetTimeout, NoDmaMemory, NoIoapic, BadPin, NoGsi };
const char* status_name(Status s);

struct Info {
    uint16_t bdf         = 0;
    uint64_t mmio        = 0;
    uint64_t mmio_size   = 0;
    uint32_t gsi         = 0xffffffffu;
    uint8_t mac[6]       = {};
    bool mac_from_eeprom = false;
};

// Finds the device (in a partition: the first 8086:100e of the boot info's
// devices; natively: PCI enumeration), maps and enables it, resets it, reads
// the MAC and sets up both rings with interrupts masked.
[[nodiscard]] Status init();
const Info& info();
bool link_up();

// Routes the device's INTx to `vector` on this core and unmasks `causes`
// (IMS). The driver's handler reads ICR (read-to-clear), counts, and EOIs.
[[nodiscard]] Status enable_interrupts(uint8_t vector, uint32_t causes);
void disable_interrupts();
uint64_t irq_count();
const volatile uint64_t* irq_counter();  // for waiting on the next interrupt
uint32_t causes_seen();                  // OR of every ICR value read by the handler
uint64_t irqs_without_cause();           // interrupts whose ICR read was 0 (the device had raised none)

// Queues one frame and waits (bounded) until the device has fetched it.
[[nodiscard]] bool send(const void* frame, size_t len);
// Queues a frame the device reads by DMA at `bus_address` (memory it may
// reach: a channel page offered to this partition's devices) with no copy, and
// waits (bounded) until it has been fetched; the caller keeps it unchanged
// until then.
[[nodiscard]] bool send_from(uint64_t bus_address, size_t len);
// Copies the next received frame into buf; its length, or 0 when none is waiting.
size_t receive(void* buf, size_t cap);
// The next received frame in the driver's buffer (no copy); its length, or 0.
// The frame stays valid until release() hands the buffer back to the device.
size_t peek(const uint8_t*& frame);
void release();

// Sets interrupt causes by software (ICS), the device-interrupt benchmark's trigger.
void write_ics(uint32_t causes);
volatile uint32_t* register_address(Reg r);

}  // namespace natsume::guest::e1000
