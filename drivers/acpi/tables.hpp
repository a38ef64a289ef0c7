// ACPI table layouts (ACPI Specification 6.5, chapter 5.2) that the
// hypervisor both reads (the firmware's tables, lib/acpi) and writes (the
// tables it builds for a Linux partition, lib/acpi_build): one definition.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume::drivers::acpi {

// 5.2.5.3 RSDP.
inline constexpr size_t RSDP_V1_SIZE  = 20;  // through RsdtAddress, covered by the first checksum
inline constexpr size_t RSDP_V2_SIZE  = 36;  // through the reserved bytes
inline constexpr size_t RSDP_CHECKSUM = 8, RSDP_OEM = 9, RSDP_REVISION = 15, RSDP_RSDT = 16, RSDP_LENGTH = 20,
                        RSDP_XSDT = 24, RSDP_EXT_CHECKSUM = 32;
// 5.2.6 System description table header.
inline constexpr size_t HEADER_SIZE   = 36;
inline constexpr size_t HEADER_LENGTH = 4, HEADER_REVISION = 8, HEADER_CHECKSUM = 9, HEADER_OEM = 10,
                        HEADER_OEM_TABLE = 16, HEADER_OEM_REVISION = 24, HEADER_CREATOR = 28,
                        HEADER_CREATOR_REVISION = 32;
// 5.2.12 MADT: local APIC address and flags precede the entries (table 5.21 types).
inline constexpr size_t MADT_LAPIC_ADDRESS = 36, MADT_FLAGS = 40, MADT_ENTRIES = 44;
inline constexpr uint8_t MADT_LAPIC = 0x0, MADT_IOAPIC = 0x1, MADT_ISO = 0x2, MADT_LAPIC_NMI = 0x4,
                         MADT_LAPIC_OVERRIDE = 0x5, MADT_X2APIC = 0x9, MADT_X2APIC_NMI = 0xA, MADT_MP_WAKEUP = 0x10;
inline constexpr uint32_t MADT_LAPIC_ENABLED = 1u << 0;
// 5.2.12.19 multiprocessor wake-up structure: type, length 16, mailbox version (0), reserved, mailbox address.
inline constexpr uint8_t MADT_MP_WAKEUP_SIZE   = 16;
inline constexpr size_t MADT_MP_WAKEUP_VERSION = 2, MADT_MP_WAKEUP_MAILBOX = 8;
// 5.2.9 FADT (revision 6, 276 bytes) fields.
inline constexpr size_t FADT_SIZE = 276;
inline constexpr size_t FADT_FACS = 36, FADT_DSDT = 40, FADT_PM_PROFILE = 45, FADT_IAPC_BOOT_ARCH = 109,
                        FADT_FLAGS = 112, FADT_RESET_REG = 116, FADT_RESET_VALUE = 128, FADT_MINOR_VERSION = 131,
                        FADT_X_FACS = 132, FADT_X_DSDT = 140, FADT_SLEEP_CONTROL = 244, FADT_SLEEP_STATUS = 256,
                        FADT_HYPERVISOR_ID = 268;
// Table 5.10: FORCE_APIC_PHYSICAL_DESTINATION_MODE is bit 19.
inline constexpr uint32_t FADT_RESET_REG_SUP = 1u << 10, FADT_APIC_PHYSICAL = 1u << 19, FADT_HW_REDUCED = 1u << 20;
// 5.2.9.3 IA-PC boot architecture flags.
inline constexpr uint16_t BOOT_ARCH_8042 = 1u << 1, BOOT_ARCH_NO_VGA = 1u << 2, BOOT_ARCH_NO_CMOS_RTC = 1u << 5;
// 5.2.3.2 Generic address structure: address space, bit width, bit offset, access size, address.
inline constexpr size_t GAS_SIZE       = 12;
inline constexpr uint8_t GAS_SYSTEM_IO = 1, GAS_ACCESS_BYTE = 1;
// 7.4.2 sleep control register: SLP_TYP bits 4:2, SLP_EN bit 5.
inline constexpr uint8_t SLEEP_TYPE_SHIFT = 2, SLEEP_TYPE_MASK = 0x1c, SLEEP_ENABLE = 0x20;
// PCI Firmware Specification 3.2 table 4-3, MCFG: allocation entries after 44 bytes.
inline constexpr size_t MCFG_ENTRIES = 44, MCFG_ENTRY_SIZE = 16;

// 5.2.5.3 / 5.2.6: the bytes a checksum covers sum to zero modulo 256.
constexpr uint8_t byte_sum(const uint8_t* p, size_t n) {
    uint8_t sum = 0;
    for (size_t i = 0; i < n; ++i) sum = static_cast<uint8_t>(sum + p[i]);
    return sum;
}

}  // namespace natsume::drivers::acpi
