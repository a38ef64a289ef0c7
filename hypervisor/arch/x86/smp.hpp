// Application-processor start-up (SDM Vol. 3A 8.4.4: INIT-SIPI-SIPI).
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume::x86::smp {

// Starts the core with this APIC ID as cpus[index]; waits until it reports
// online. False (with a sentence in cpus[index].failure) when it does not.
[[nodiscard]] bool start_ap(uint32_t index, uint32_t apic_id);

}  // namespace natsume::x86::smp

// Entered by each AP in long mode on its own stack; never returns.
extern "C" [[noreturn]] void ap_main();
