// The machine's CMOS clock, read once on the boot core before any guest
// runs: what a Linux partition's virtual clock (vdev/vrtc) counts from.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume::x86::rtc_hw {

// Reads the clock (waiting out an update in progress, within a deadline) and
// remembers it with the TSC. False with a sentence when it could not be read;
// the time then counts from 1970-01-01.
[[nodiscard]] bool read_at_boot(char* why, size_t why_size);
// Seconds since 1970-01-01 UTC now: the boot reading plus the TSC since.
uint64_t epoch_now();

}  // namespace natsume::x86::rtc_hw
