// ATA over a PCI IDE controller with bus-master DMA: the task-file registers
// (ATA/ATAPI-6, 7.x), status bits and the commands the guest kernel uses, the
// legacy ("compatibility mode") port bases and ISA lines, and the bus-master
// registers and physical region descriptors of the PCI IDE controller
// (Programming Interface for Bus Master IDE Controller, rev 1.0; Intel PIIX3
// datasheet 2.7). One definition for every tree.
#pragma once
#include <stdint.h>

namespace natsume::drivers::ata {

// The Intel PIIX3 IDE function (Bochs' and QEMU's i440FX), PCI class 01/01.
inline constexpr uint16_t PIIX3_VENDOR = 0x8086, PIIX3_IDE_DEVICE = 0x7010;

// A channel in compatibility mode: its command block, control block and ISA line.
struct LegacyChannel {
    uint16_t command;  // task file base
    uint16_t control;  // alternate status / device control
    uint8_t isa_irq;
};
inline constexpr LegacyChannel PRIMARY{0x1f0, 0x3f6, 14}, SECONDARY{0x170, 0x376, 15};
inline constexpr uint16_t COMMAND_BLOCK_PORTS = 8;  // the task file; the control block is one port here

// A PCI IDE controller (class 01, subclass 01) decodes a channel's legacy
// ports while its programming-interface bit for that channel is clear
// (bit 0 primary, bit 2 secondary: PCI IDE Controller Specification 2.1).
inline constexpr uint8_t PCI_CLASS_STORAGE = 0x01, PCI_SUBCLASS_IDE = 0x01;
constexpr bool is_ide(uint8_t class_code, uint8_t subclass) {
    return class_code == PCI_CLASS_STORAGE && subclass == PCI_SUBCLASS_IDE;
}
inline constexpr uint8_t PROG_IF_PRIMARY_NATIVE = 0x01, PROG_IF_SECONDARY_NATIVE = 0x04;
constexpr uint8_t native_bit(bool secondary) { return secondary ? PROG_IF_SECONDARY_NATIVE : PROG_IF_PRIMARY_NATIVE; }
constexpr bool compatibility_mode(uint8_t prog_if, bool secondary) { return !(prog_if & native_bit(secondary)); }
// In native mode a channel's command block is BAR 2n (8 ports) and its
// control block BAR 2n+1 (4 ports, the control register at +2): PCI IDE
// Controller Specification 2.1, 2.2. BAR 4 is the bus master's.
inline constexpr uint8_t NATIVE_CONTROL_BLOCK_PORTS = 4, NATIVE_CONTROL_REGISTER = 2;
constexpr uint8_t command_bar(bool secondary) { return secondary ? 2 : 0; }

// Task-file registers, offsets from the command block.
enum class Reg : uint16_t {
    DATA         = 0,
    ERROR        = 1,  // read; FEATURES on write
    SECTOR_COUNT = 2,
    LBA_LOW      = 3,
    LBA_MID      = 4,
    LBA_HIGH     = 5,
    DEVICE       = 6,  // bit 6 LBA, bit 4 device 1
    STATUS       = 7,  // read: clears a pending interrupt
    COMMAND      = 7,  // write
};
constexpr uint16_t port(const LegacyChannel& c, Reg r) {
    return static_cast<uint16_t>(c.command + static_cast<uint16_t>(r));
}

namespace status {
inline constexpr uint8_t ERR = 0x01, DRQ = 0x08, DF = 0x20, DRDY = 0x40, BSY = 0x80;
}
inline constexpr uint8_t DEVICE_LBA = 0x40, DEVICE_1 = 0x10;
inline constexpr uint8_t DEVCTL_NIEN = 0x02;  // device control: interrupts off

namespace command {
inline constexpr uint8_t IDENTIFY = 0xec, READ_DMA = 0xc8, WRITE_DMA = 0xca;
}
// IDENTIFY DEVICE words (ATA/ATAPI-6, 8.15): model 27-46, LBA28 capacity 60-61.
inline constexpr unsigned ID_MODEL = 27, ID_MODEL_WORDS = 20, ID_LBA28 = 60;
inline constexpr uint64_t LBA28_LIMIT = 1ull << 28;
inline constexpr uint32_t SECTOR      = 512;

// Bus master (BAR4, I/O): 8 registers per channel, the secondary at +8.
namespace bm {
inline constexpr uint16_t CHANNEL_STRIDE = 8;
inline constexpr uint16_t COMMAND = 0, STATUS = 2, PRDT = 4;
inline constexpr uint8_t CMD_START = 0x01, CMD_READ = 0x08;                       // READ: the device writes memory
inline constexpr uint8_t ST_ACTIVE = 0x01, ST_ERROR = 0x02, ST_INTERRUPT = 0x04;  // ERROR, INTERRUPT: write 1 to clear
inline constexpr uint8_t ST_DMA_CAPABLE = 0x60;                                   // drive 0 and 1 DMA capable
}  // namespace bm

// One physical region descriptor: a buffer in physical memory below 4 GiB that
// does not cross a 64 KiB boundary; byte count 0 means 64 KiB; the last has EOT.
struct Prd {
    uint32_t base;
    uint16_t bytes;
    uint16_t flags;
};
static_assert(sizeof(Prd) == 8, "PRD entries are 8 bytes");
inline constexpr uint16_t PRD_EOT       = 0x8000;
inline constexpr uint32_t PRD_MAX_BYTES = 0x10000;

}  // namespace natsume::drivers::ata
