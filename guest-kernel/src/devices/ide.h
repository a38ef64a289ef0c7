// The PIIX3 IDE controller's secondary channel, master disk: IDENTIFY, then
// reads by bus-master DMA (ATA READ DMA, LBA28), polled or, after
// enable_interrupts, completed by the channel's ISA interrupt. Natively this kernel
// owns the controller; in a partition the hypervisor must give it the
// function and the channel's legacy ports.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "drivers/block/ata.hpp"

namespace natsume::guest::ide {

enum class Status : uint8_t {
    Ok,
    NoController,
    NoBusMaster,
    NoDisk,
    Timeout,
    DeviceError,
    DmaError,
    NoDmaMemory,
    BadArgs,
    NoLine,
    NoIoapic
};
const char* status_name(Status s);

struct Info {
    uint16_t bdf     = 0;
    uint16_t bm_base = 0;
    uint64_t sectors = 0;  // LBA28 capacity
    char model[41]   = {};
};

[[nodiscard]] Status init();
const Info& info();

// Reads complete by the channel's interrupt (ISA line 15: in a partition the
// GSI the boot information gives for this function's secondary channel)
// routed to `vector` on this core, edge-triggered and active high; each read
// then waits for it instead of polling the bus master.
[[nodiscard]] Status enable_interrupts(uint8_t vector);
void disable_interrupts();
uint64_t irq_count();
// One READ DMA moves at most 256 sectors (128 KiB: its sector count 0).
inline constexpr uint32_t MAX_SECTORS = 256;
// Reads `count` sectors (1..MAX_SECTORS) from `lba` into `buf`, which must
// come from dma::alloc (one PRD per 64 KiB window it touches).
[[nodiscard]] Status read(uint64_t lba, uint32_t count, void* buf);
// The same into memory the controller reaches at bus address `bus` (a
// channel page offered to this partition's devices), with no copy.
[[nodiscard]] Status read_to(uint64_t lba, uint32_t count, uint64_t bus);
// One READ DMA into several buffers (scatter-gather: one PRD each, in disk
// order): whole sectors each, below 4 GiB, none crossing a 64 KiB boundary,
// at most MAX_PIECES and MAX_SECTORS in all.
struct Piece {
    uint64_t bus;
    uint32_t bytes;
};
inline constexpr uint32_t MAX_PIECES = 16;
[[nodiscard]] Status read_pieces(uint64_t lba, const Piece* pieces, uint32_t n);

}  // namespace natsume::guest::ide
