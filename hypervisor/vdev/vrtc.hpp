// A Linux partition's CMOS clock (ports 0x70/0x71 when the partition owns
// neither; docs/linux.md): the time of day, read-only, in BCD and 24-hour
// mode, counted from the machine's clock as the hypervisor read it at boot.
// The update-in-progress bit is never set, so a reader never waits; there is
// no alarm, periodic or update interrupt and no CMOS RAM beyond the clock
// (other registers read 0). Pure: the caller passes the time.
#pragma once
#include <stdint.h>

namespace natsume::vrtc {

struct Clock {
    uint8_t index;  // the register the last index write selected
};

// OUT to the index port (bit 7, the PC's NMI gate, is not the partition's: ignored).
void select(Clock& c, uint8_t value);
// IN from the data port at `epoch_seconds` (seconds since 1970-01-01 UTC).
uint8_t read(const Clock& c, uint64_t epoch_seconds);

}  // namespace natsume::vrtc
