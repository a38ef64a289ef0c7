#include "arch/x86/linux_ap.hpp"

#include "drivers/x86/cpu.hpp"
#include "drivers/x86/cpuid.hpp"

#include "base/log.hpp"
#include "lib/linux_boot.hpp"

namespace natsume::x86::linux_ap {
namespace {
namespace lb = linux_boot;

// MONITOR/MWAIT lets the core sleep until Linux's store to the mailbox (or
// the NMI of a core stopping the partition) instead of spinning.
bool can_mwait() { return drivers::cpuid::has_ecx1(drivers::cpuid::ecx1::MONITOR); }
void monitor(const volatile void* line) { asm volatile("monitor" ::"a"(line), "c"(0), "d"(0) : "memory"); }
void mwait() { asm volatile("mwait" ::"a"(0), "c"(0) : "memory"); }

template <typename T>
T load(const volatile uint8_t* mb, size_t off) {
    return *reinterpret_cast<const volatile T*>(mb + off);
}
}  // namespace

bool wait_for_wakeup(PerCpu& c, Partition& p, uint64_t& vector) {
    auto* mb            = reinterpret_cast<volatile uint8_t*>(gpa_to_host(p, lb::MAILBOX_GPA));
    const bool sleep    = can_mwait();
    bool unknown_logged = false;
    const uint32_t self = c.shared.apic_id;
    for (;;) {
        if (p.observe_state() == PartitionState::Stopped) return false;
        if (sleep) monitor(mb);
        // Linux stores the vector and the APIC ID before the command (release);
        // x86 keeps these loads in program order.
        const auto command = load<uint16_t>(mb, lb::MAILBOX_COMMAND);
        const auto apic_id = load<uint32_t>(mb, lb::MAILBOX_APIC_ID);
        switch (lb::mailbox_verdict(command, apic_id, self)) {
        case lb::MailboxVerdict::Wake:
            vector = load<uint64_t>(mb, lb::MAILBOX_WAKEUP_VECTOR);
            *reinterpret_cast<volatile uint16_t*>(mb + lb::MAILBOX_COMMAND) = 0;
            return true;
        case lb::MailboxVerdict::Unknown:
            if (!unknown_logged)
                log::print(
                    "natsume: partition %s: core %u: wake-up mailbox command %u is not one ACPI defines; waiting "
                    "for command 1\n",
                    p.name(), self, command);
            unknown_logged = true;
            break;
        case lb::MailboxVerdict::Idle:
        case lb::MailboxVerdict::Other: break;
        }
        if (sleep)
            mwait();
        else
            pause();
    }
}

}  // namespace natsume::x86::linux_ap
