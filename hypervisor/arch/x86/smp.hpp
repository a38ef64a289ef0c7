// Application-processor start-up (SDM Vol. 3A 8.4.4: INIT-SIPI-SIPI).
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume::x86 {
struct PerCpu;
}

namespace natsume::x86::smp {

// What each AP runs once it is online: the boot flow's rendezvous (or the
// self-test's idle loop). Set before the first start_ap; never returns.
using ApContinuation = void (*)(PerCpu&);
void set_ap_continuation(ApContinuation fn);

// Starts the core with this APIC ID as cpus[index]; waits until it reports
// online. False (with a sentence in cpus[index].failure) when it does not.
[[nodiscard]] bool start_ap(uint32_t index, uint32_t apic_id);

// After the last AP is up: the trampoline below 1 MiB becomes a halt loop and
// the AP entry refuses to run again, so a start-up IPI (from a guest with its
// xAPIC passed through, say) cannot restart a core into the hypervisor.
void close_ap_start();

}  // namespace natsume::x86::smp

// Entered by each AP in long mode on its own stack; never returns.
extern "C" [[noreturn]] void ap_main();
