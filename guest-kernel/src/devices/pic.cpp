#include "devices/pic.h"

#include <stdint.h>

#include "drivers/x86/pic8259.hpp"

#include "arch/cpu.h"

namespace natsume::guest::pic {
namespace {
constexpr uint8_t MASTER_BASE = 0x20, SLAVE_BASE = 0x28;
struct Out {
    static void out8(uint16_t port, uint8_t v) { cpu::outb(port, v); }
};
}  // namespace

void remap_and_mask() { natsume::drivers::pic8259::remap_and_mask<Out>(MASTER_BASE, SLAVE_BASE); }

}  // namespace natsume::guest::pic
