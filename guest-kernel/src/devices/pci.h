// PCI configuration space through ports 0xCF8/0xCFC (in a partition the
// hypervisor filters these accesses: only the partition's own functions and
// a host bridge answer).
#pragma once
#include <stdint.h>

#include "drivers/pci/config.hpp"

namespace natsume::guest::pci {

// Register offsets, bits, addresses and BAR decoding: drivers/pci/config.hpp.
using namespace natsume::pci;
using Bar = BarRegister;

uint32_t read32(uint16_t bdf, uint8_t offset);
uint16_t read16(uint16_t bdf, uint8_t offset);
uint8_t read8(uint16_t bdf, uint8_t offset);
void write32(uint16_t bdf, uint8_t offset, uint32_t v);
void write16(uint16_t bdf, uint8_t offset, uint16_t v);

struct Function {
    uint16_t bdf       = 0;
    uint16_t vendor    = 0xffff;
    uint16_t device    = 0xffff;
    uint32_t class_rev = 0;
    uint8_t irq_line   = 0xff;
    uint8_t irq_pin    = 0;  // 0 none, 1..4 = INTA..INTD
};

// Calls fn for every function found on bus 0 and behind PCI-PCI bridges.
// Returns the number of functions visited.
unsigned enumerate(void (*fn)(const Function&, void*), void* ctx);
// Prints one line per function ("natsume-guest: pci 00:01.0 8086:100e ...").
unsigned print_all();
[[nodiscard]] bool find(uint16_t vendor, uint16_t device, Function& out);
// The device this kernel may drive: in a partition one the hypervisor assigned
// (boot information, with its INTx GSI); natively the first one on the bus,
// GSI = its Interrupt Line (the ISA IRQ; no MADT override applies to PCI lines
// on the emulated chipsets), 0xffffffff when it has no INTx.
[[nodiscard]] bool find_assigned(uint16_t vendor, uint16_t device, uint16_t& bdf, uint32_t& gsi);
[[nodiscard]] bool probe(uint16_t bdf, Function& out);  // false when nothing answers

// BAR `index` (0..5) with its size; the size is measured with memory/I/O
// decoding switched off around the all-ones write.
struct SizedBar {
    Bar bar;
    uint64_t size = 0;
};
[[nodiscard]] bool read_bar(uint16_t bdf, unsigned index, SizedBar& out);
// Memory space and bus mastering on, INTx not disabled.
void enable_mmio_and_dma(uint16_t bdf);

}  // namespace natsume::guest::pci
