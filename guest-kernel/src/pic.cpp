#include "pic.h"

#include <stdint.h>

#include "cpu.h"

namespace pic {
namespace {
// 8259A data sheet: command/data ports and initialization words.
constexpr uint16_t kMasterCmd = 0x20, kMasterData = 0x21, kSlaveCmd = 0xa0, kSlaveData = 0xa1;
constexpr uint8_t kIcw1Init = 0x11;  // edge triggered, cascade, ICW4 follows
constexpr uint8_t kIcw4_8086 = 0x01;
constexpr uint8_t kMasterBase = 0x20, kSlaveBase = 0x28;
}  // namespace

void remap_and_mask()
{
    cpu::outb(kMasterData, 0xff);
    cpu::outb(kSlaveData, 0xff);
    cpu::outb(kMasterCmd, kIcw1Init);
    cpu::outb(kSlaveCmd, kIcw1Init);
    cpu::outb(kMasterData, kMasterBase);
    cpu::outb(kSlaveData, kSlaveBase);
    cpu::outb(kMasterData, 1 << 2);  // slave on IRQ 2
    cpu::outb(kSlaveData, 2);        // slave identity
    cpu::outb(kMasterData, kIcw4_8086);
    cpu::outb(kSlaveData, kIcw4_8086);
    cpu::outb(kMasterData, 0xff);
    cpu::outb(kSlaveData, 0xff);
}

}  // namespace pic
