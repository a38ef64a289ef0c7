// kernel_main: runs on the main stack once boot.cpp has set up the console,
// page tables, GDT and IDT.
#include <stdio.h>

#include "arch/cpu.h"
#include "arch/idt.h"
#include "boot/boot.h"
#include "devices/lapic.h"
#include "devices/pic.h"
#include "devices/tsc.h"
#include "kernel/machine.h"
#include "lib/cmdline.h"
#include "tests/results.h"
#include "tests/tests.h"

extern "C" void (*__init_array_start[])();
extern "C" void (*__init_array_end[])();

namespace natsume::guest {
namespace {

constexpr uint64_t DEFAULT_TICKS = 5;

void run_constructors() {
    for (auto* f = __init_array_start; f != __init_array_end; ++f) (*f)();
}

void print_banner(const boot::Context& c, const char* role) {
    printf("natsume-guest: banner name=%s apic_id=%u mode=%s ram=%lluM role=%s\n", c.name, lapic::id(),
           c.mode == boot::Mode::Partition ? "partition" : "native", static_cast<unsigned long long>(c.ram_size >> 20),
           role);
    fflush(stdout);
}

// Natively the TSC rate is measured once; a partition is told it.
void calibrate_timers() {
    if (boot::context().tsc_khz == 0) boot::set_tsc_khz(tsc::calibrate_with_pit());
    if (boot::context().tsc_khz == 0) machine::fatal("TSC calibration against the PIT failed");
    if (lapic::calibrate_timer(boot::context().tsc_khz) != lapic::Status::Ok)
        machine::fatal("LAPIC timer calibration failed");
    printf("natsume-guest: tsc_khz=%llu lapic_timer_khz=%llu x2apic=%d\n",
           static_cast<unsigned long long>(boot::context().tsc_khz),
           static_cast<unsigned long long>(lapic::timer_khz()), lapic::x2apic() ? 1 : 0);
}

}  // namespace
}  // namespace natsume::guest

extern "C" [[noreturn]] void kernel_main() {
    using namespace natsume::guest;
    run_constructors();
    const boot::Context& c = boot::context();
    machine::set_exit_on_stop(cmdline::get_u64(c.cmdline, "exit", 0) != 0);
    // A partition owns no 8259: the legacy PIC belongs to the hypervisor.
    if (c.mode == boot::Mode::Native) pic::remap_and_mask();
    bool want_x2apic = cmdline::get_u64(c.cmdline, "x2apic", 0) != 0;
    if (lapic::init(idt::VECTOR_SPURIOUS, want_x2apic) != lapic::Status::Ok) machine::fatal("no local APIC");

    char role[16] = "rt";
    (void)cmdline::get(c.cmdline, "role", role, sizeof role);
    print_banner(c, role);
    calibrate_timers();

    char test[32];
    if (!cmdline::get(c.cmdline, "test", test, sizeof test)) {
        tests::lapic_periodic(cmdline::get_u64(c.cmdline, "ticks", DEFAULT_TICKS));
    } else if (!tests::run(test)) {
        printf("natsume-guest: unknown test '%s'\n", test);
        results::report("unknown-test", false, "\"name\":\"%s\"", test);
    }
    results::done();
    machine::stop(results::failed() == 0 ? 0 : 1);
}
