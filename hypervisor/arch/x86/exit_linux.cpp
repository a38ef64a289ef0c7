// The ports a Linux partition's hardware-reduced ACPI tables and its console
// name (docs/linux.md): the virtual 16550 at COM1 (vdev/vuart), the sleep
// control register (SLP_EN powers the partition off), the sleep status
// register, and the reset register (reboot). Power-off and reboot stop only
// this partition, cleanly: nothing of the machine is touched.
#include "drivers/acpi/tables.hpp"
#include "drivers/uart16550.hpp"
#include "drivers/x86/cmos.hpp"

#include "arch/x86/exit_context.hpp"
#include "arch/x86/partition_build.hpp"
#include "arch/x86/rtc_hw.hpp"
#include "arch/x86/vmx.hpp"
#include "arch/x86/vmx_defs.hpp"
#include "base/log.hpp"
#include "vdev/vrtc.hpp"
#include "vdev/vuart.hpp"

namespace natsume::x86 {
namespace {

namespace u16550 = drivers::uart16550;
namespace acpi   = drivers::acpi;
namespace cmos   = drivers::cmos;

uint8_t al(const Vcpu& v) { return static_cast<uint8_t>(v.regs.rax); }
void set_al(Vcpu& v, uint8_t value) { v.regs.rax = (v.regs.rax & ~0xffull) | value; }

Action uart(Vcpu& v, const IoAccess& io) {
    const auto offset = static_cast<uint16_t>(io.port - u16550::COM1);
    if (io.in) {
        set_al(v, vuart::read(v.part.devices.uart, offset));
    } else {
        vuart::WriteResult w = vuart::write(v.part.devices.uart, offset, al(v));
        if (w.transmit) partition_console_write(v.part, reinterpret_cast<const char*>(&w.byte), 1);
    }
    skip_instruction();
    return Action::Resume;
}

Action sleep_control(Vcpu& v) {
    const uint8_t value = al(v);
    if (!(value & acpi::SLEEP_ENABLE)) {
        skip_instruction();
        return Action::Resume;
    }
    // \_S5 names sleep type 5; the tables name no other state.
    log::format(v.stop_reason, sizeof v.stop_reason,
                "powered off (ACPI sleep type %u through the sleep control register)",
                (value & acpi::SLEEP_TYPE_MASK) >> acpi::SLEEP_TYPE_SHIFT);
    return Action::Stop;
}

Action reset(Vcpu& v) {
    if (al(v) != LINUX_RESET_VALUE) {
        skip_instruction();
        return Action::Resume;
    }
    log::format(v.stop_reason, sizeof v.stop_reason,
                "asked to reboot (ACPI reset register): stopped; partitions are not restarted");
    return Action::Stop;
}

// The clock is the machine's: a write to its registers is refused (logged
// once for the port, counted), the index is the partition's own.
Action clock(Vcpu& v, const IoAccess& io) {
    if (io.port == cmos::INDEX_PORT && !io.in)
        vrtc::select(v.part.devices.rtc, al(v));
    else if (io.port == cmos::DATA_PORT && io.in)
        set_al(v, vrtc::read(v.part.devices.rtc, rtc_hw::epoch_now()));
    else if (io.in)
        set_al(v, 0xff);  // the index port reads as nothing
    else
        partition_refuse_port(v.part, io.port,
                              "write 0x%x to CMOS register 0x%x dropped: the clock and CMOS RAM are the machine's",
                              al(v), v.part.devices.rtc.index);
    skip_instruction();
    return Action::Resume;
}

}  // namespace

bool linux_port_access(Vcpu& v, const IoAccess& io, Action& action) {
    if (v.part.config.file.kind != NATSUME_KIND_LINUX || io.string || io.size != 1) return false;
    if (io.port >= u16550::COM1 && io.port < u16550::COM1 + u16550::PORT_COUNT) {
        action = uart(v, io);
        return true;
    }
    if (io.port == LINUX_SLEEP_CONTROL_PORT && !io.in) {
        action = sleep_control(v);
        return true;
    }
    if (io.port == cmos::INDEX_PORT || io.port == cmos::DATA_PORT) {
        action = clock(v, io);
        return true;
    }
    // No wake status is ever set: reads are 0, Linux's write-one-to-clear writes change nothing.
    if (io.port == LINUX_SLEEP_STATUS_PORT) {
        if (io.in) set_al(v, 0);
        skip_instruction();
        action = Action::Resume;
        return true;
    }
    if (io.port == LINUX_RESET_PORT && !io.in) {
        action = reset(v);
        return true;
    }
    return false;
}

}  // namespace natsume::x86
