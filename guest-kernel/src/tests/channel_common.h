// Channels for the guest tests: one doorbell handler and its count, and the
// opening of the partition's first channel (its role checked, the handler
// installed, the doorbell vector bound), a refusal reported under the test's
// name.
#pragma once
#include <stdint.h>

#include <natsume/bootinfo.h>

namespace natsume::guest::device_tests {

inline constexpr uint32_t ANY_ROLE = 0xffffffffu;

// Doorbells this kernel has received since the handler was installed.
uint64_t doorbells_received();
void install_doorbell_handler();
// The first channel of the boot information, with the handler installed and
// the vector bound; nullptr, and `name` reported failed, when there is no
// channel of `role` or the bind is refused.
const natsume_boot_channel* open_first_channel(const char* name, uint32_t role = ANY_ROLE);
// Rings the peer when `wanted`; counts the doorbells rung in `rung`.
void ring_if(const natsume_boot_channel& ch, bool wanted, uint64_t& rung);

}  // namespace natsume::guest::device_tests
