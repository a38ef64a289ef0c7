#include <catch2/catch.hpp>

#include "drivers/x86/lapic.hpp"
#include "drivers/x86/msr.hpp"

using namespace natsume::drivers;

TEST_CASE("x2APIC MSRs are 0x800 + xAPIC offset / 16", "[drivers][lapic]") {
    CHECK(lapic::x2apic_msr(lapic::Reg::Id) == 0x802);
    CHECK(lapic::x2apic_msr(lapic::Reg::Ldr) == 0x80d);
    CHECK(lapic::x2apic_msr(lapic::Reg::IcrLow) == 0x830);
    CHECK(lapic::x2apic_msr(lapic::Reg::LvtCmci) == 0x82f);
    CHECK(lapic::x2apic_msr(lapic::Reg::TimerInitial) == 0x838);
    CHECK(lapic::x2apic_msr(lapic::Reg::SelfIpi) == 0x83f);
    CHECK(lapic::offset_of_x2apic_msr(0x835) == 0x350);
    CHECK(msr::X2APIC_ICR == 0x830);
    CHECK(msr::IA32_APIC_BASE == 0x1b);
}

TEST_CASE("interrupt command fields", "[drivers][lapic]") {
    lapic::Icr init = lapic::Icr::make(0, lapic::DeliveryMode::Init, 7);
    CHECK(init.mode() == lapic::DeliveryMode::Init);
    CHECK(init.x2apic_destination() == 7);
    CHECK(init.low() == 0x500);
    lapic::Icr self{0x40044};
    CHECK(self.shorthand() == lapic::Shorthand::Self);
    CHECK(self.vector() == 0x44);
    CHECK_FALSE(self.logical());
    CHECK(lapic::Icr{0x800}.logical());
    CHECK(lapic::Icr::xapic_high(3) == 0x03000000u);
    CHECK(lapic::Icr::xapic_destination(0x05000000u) == 5);
    CHECK(lapic::lvt::delivery(lapic::lvt::Delivery::ExtInt) == 0x700);
}
