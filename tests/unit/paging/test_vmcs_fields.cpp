#include <catch2/catch.hpp>
#include <stdint.h>

#include "hypervisor/arch/x86/vmcs_fields.hpp"

using namespace natsume::x86;

TEST_CASE("VMCS encodings match SDM Appendix B", "[vmcs]") {
    CHECK(encoding(Vmcs::VPID) == 0x0000);
    CHECK(encoding(Vmcs::GUEST_CS_SELECTOR) == 0x0802);
    CHECK(encoding(Vmcs::GUEST_TR_SELECTOR) == 0x080E);
    CHECK(encoding(Vmcs::HOST_TR_SELECTOR) == 0x0C0C);
    CHECK(encoding(Vmcs::IO_BITMAP_A) == 0x2000);
    CHECK(encoding(Vmcs::MSR_BITMAP) == 0x2004);
    CHECK(encoding(Vmcs::TSC_OFFSET) == 0x2010);
    CHECK(encoding(Vmcs::EPT_POINTER) == 0x201A);
    CHECK(encoding(Vmcs::GUEST_PHYSICAL_ADDRESS) == 0x2400);
    CHECK(encoding(Vmcs::VMCS_LINK_POINTER) == 0x2800);
    CHECK(encoding(Vmcs::GUEST_IA32_EFER) == 0x2806);
    CHECK(encoding(Vmcs::GUEST_PDPTE3) == 0x2810);
    CHECK(encoding(Vmcs::HOST_IA32_EFER) == 0x2C02);
    CHECK(encoding(Vmcs::PIN_BASED_CONTROLS) == 0x4000);
    CHECK(encoding(Vmcs::SECONDARY_PROC_CONTROLS) == 0x401E);
    CHECK(encoding(Vmcs::EXIT_REASON) == 0x4402);
    CHECK(encoding(Vmcs::GUEST_TR_ACCESS_RIGHTS) == 0x4822);
    CHECK(encoding(Vmcs::GUEST_PREEMPTION_TIMER) == 0x482E);
    CHECK(encoding(Vmcs::HOST_IA32_SYSENTER_CS) == 0x4C00);
    CHECK(encoding(Vmcs::CR4_READ_SHADOW) == 0x6006);
    CHECK(encoding(Vmcs::EXIT_QUALIFICATION) == 0x6400);
    CHECK(encoding(Vmcs::GUEST_LINEAR_ADDRESS) == 0x640A);
    CHECK(encoding(Vmcs::GUEST_RIP) == 0x681E);
    CHECK(encoding(Vmcs::GUEST_IA32_SYSENTER_EIP) == 0x6826);
    CHECK(encoding(Vmcs::HOST_RIP) == 0x6C16);
}

TEST_CASE("VMCS width comes from encoding bits 14:13", "[vmcs]") {
    CHECK(width(Vmcs::GUEST_RIP) == Width::Natural);
    CHECK(width(Vmcs::VMCS_LINK_POINTER) == Width::W64);
    CHECK(width(Vmcs::PIN_BASED_CONTROLS) == Width::W32);
    CHECK(width(Vmcs::GUEST_CS_SELECTOR) == Width::W16);
    CHECK(width(Vmcs::VPID) == Width::W16);
    CHECK(width(Vmcs::HOST_TR_SELECTOR) == Width::W16);
    CHECK(width(Vmcs::EPT_POINTER) == Width::W64);
    CHECK(width(Vmcs::GUEST_PHYSICAL_ADDRESS) == Width::W64);
    CHECK(width(Vmcs::HOST_IA32_PAT) == Width::W64);
    CHECK(width(Vmcs::EXIT_REASON) == Width::W32);
    CHECK(width(Vmcs::GUEST_INTERRUPTIBILITY) == Width::W32);
    CHECK(width(Vmcs::HOST_IA32_SYSENTER_CS) == Width::W32);
    CHECK(width(Vmcs::CR0_GUEST_HOST_MASK) == Width::Natural);
    CHECK(width(Vmcs::EXIT_QUALIFICATION) == Width::Natural);
    CHECK(width(Vmcs::HOST_RSP) == Width::Natural);
}

TEST_CASE("VMCS field type and access type", "[vmcs]") {
    CHECK(field_type(Vmcs::PRIMARY_PROC_CONTROLS) == FieldType::Control);
    CHECK(field_type(Vmcs::EXIT_QUALIFICATION) == FieldType::ExitInfo);
    CHECK(field_type(Vmcs::GUEST_CR3) == FieldType::Guest);
    CHECK(field_type(Vmcs::HOST_CR3) == FieldType::Host);

    CHECK(is_read_only(Vmcs::VM_INSTRUCTION_ERROR));
    CHECK(is_read_only(Vmcs::GUEST_PHYSICAL_ADDRESS));
    CHECK(is_read_only(Vmcs::IDT_VECTORING_INFO));
    CHECK(is_read_only(Vmcs::GUEST_LINEAR_ADDRESS));
    CHECK_FALSE(is_read_only(Vmcs::GUEST_RIP));
    CHECK_FALSE(is_read_only(Vmcs::ENTRY_INTERRUPTION_INFO));
    CHECK_FALSE(is_read_only(Vmcs::HOST_RIP));

    constexpr auto link_high = static_cast<Vmcs>(0x2801);
    CHECK(is_high_half(link_high));
    CHECK_FALSE(is_high_half(Vmcs::VMCS_LINK_POINTER));
    CHECK(width(link_high) == Width::W64);
    CHECK(access_bytes(link_high) == 4);
    CHECK(access_bytes(Vmcs::VMCS_LINK_POINTER) == 8);
    CHECK(access_bytes(Vmcs::GUEST_ES_SELECTOR) == 2);
    CHECK(access_bytes(Vmcs::EXIT_CONTROLS) == 4);
    CHECK(access_bytes(Vmcs::GUEST_RFLAGS) == 8);
}

TEST_CASE("the value type follows the field width; writes reject wider values and read-only fields", "[vmcs]") {
    STATIC_REQUIRE(std::is_same_v<vmcs::value_t<Vmcs::GUEST_RIP>, uint64_t>);
    STATIC_REQUIRE(std::is_same_v<vmcs::value_t<Vmcs::EPT_POINTER>, uint64_t>);
    STATIC_REQUIRE(std::is_same_v<vmcs::value_t<Vmcs::EXIT_REASON>, uint32_t>);
    STATIC_REQUIRE(std::is_same_v<vmcs::value_t<Vmcs::GUEST_CS_SELECTOR>, uint16_t>);
    STATIC_REQUIRE(std::is_same_v<vmcs::value_t<static_cast<Vmcs>(0x2801)>, uint32_t>);
    STATIC_REQUIRE(vmcs::writable_v<Vmcs::GUEST_RIP, uint64_t>);
    STATIC_REQUIRE(vmcs::writable_v<Vmcs::GUEST_RIP, uint32_t>);
    STATIC_REQUIRE_FALSE(vmcs::writable_v<Vmcs::GUEST_CS_SELECTOR, uint64_t>);
    STATIC_REQUIRE_FALSE(vmcs::writable_v<Vmcs::GUEST_CS_SELECTOR, int>);
    STATIC_REQUIRE(vmcs::writable_v<Vmcs::PIN_BASED_CONTROLS, uint32_t>);
    STATIC_REQUIRE_FALSE(vmcs::writable_v<Vmcs::PIN_BASED_CONTROLS, uint64_t>);
    STATIC_REQUIRE_FALSE(vmcs::writable_v<Vmcs::EXIT_QUALIFICATION, uint64_t>);
    STATIC_REQUIRE_FALSE(vmcs::writable_v<Vmcs::GUEST_RIP, double>);
}

TEST_CASE("every listed field is a full-width encoding with bit 12 clear", "[vmcs]") {
    const Vmcs fields[] = {
        Vmcs::VPID,
        Vmcs::GUEST_ES_SELECTOR,
        Vmcs::HOST_ES_SELECTOR,
        Vmcs::IO_BITMAP_B,
        Vmcs::EXIT_MSR_STORE_ADDR,
        Vmcs::EXIT_MSR_LOAD_ADDR,
        Vmcs::ENTRY_MSR_LOAD_ADDR,
        Vmcs::VIRTUAL_APIC_PAGE_ADDR,
        Vmcs::APIC_ACCESS_ADDR,
        Vmcs::GUEST_IA32_DEBUGCTL,
        Vmcs::GUEST_IA32_PAT,
        Vmcs::GUEST_PDPTE0,
        Vmcs::EXCEPTION_BITMAP,
        Vmcs::PAGE_FAULT_ERROR_CODE_MASK,
        Vmcs::CR3_TARGET_COUNT,
        Vmcs::ENTRY_MSR_LOAD_COUNT,
        Vmcs::TPR_THRESHOLD,
        Vmcs::EXIT_INSTRUCTION_INFO,
        Vmcs::GUEST_GDTR_LIMIT,
        Vmcs::GUEST_SMBASE,
        Vmcs::GUEST_IA32_SYSENTER_CS,
        Vmcs::CR3_TARGET_VALUE3,
        Vmcs::GUEST_IDTR_BASE,
        Vmcs::GUEST_DR7,
        Vmcs::GUEST_PENDING_DEBUG_EXCEPTIONS,
        Vmcs::HOST_IDTR_BASE,
        Vmcs::HOST_IA32_SYSENTER_EIP,
    };
    for (Vmcs f : fields) {
        INFO("encoding 0x" << std::hex << encoding(f));
        CHECK_FALSE(is_high_half(f));
        CHECK((encoding(f) & 0x1000u) == 0);
        CHECK(encoding(f) < 0x8000u);
    }
}
