#pragma once

namespace natsume::guest::pic {
// Moves the 8259 pair's vectors to 0x20-0x2F (off the exception vectors, in
// case a spurious IRQ 7/15 arrives) and masks every line.
void remap_and_mask();
}  // namespace natsume::guest::pic
