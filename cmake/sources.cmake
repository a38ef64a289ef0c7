# Where each library's sources are, defined once for the main build
# (hypervisor/, common/, vmm-tools/) and the standalone fuzzing project
# (tests/fuzz/), which compiles the same files with clang and sanitizers.
# Include it after setting NATSUME_ROOT to the repository's top.
if(NOT DEFINED NATSUME_ROOT)
  message(FATAL_ERROR "cmake/sources.cmake: set NATSUME_ROOT first")
endif()

# The hypervisor's layers, bottom up (docs/architecture.md "Source map").
file(GLOB NATSUME_HV_LIB_SOURCES CONFIGURE_DEPENDS ${NATSUME_ROOT}/hypervisor/lib/*.cpp)
file(GLOB NATSUME_HV_BASE_SOURCES CONFIGURE_DEPENDS ${NATSUME_ROOT}/hypervisor/base/*.cpp)
file(GLOB NATSUME_HV_VDEV_SOURCES CONFIGURE_DEPENDS ${NATSUME_ROOT}/hypervisor/vdev/*.cpp)
file(GLOB NATSUME_HV_PARTITION_SOURCES CONFIGURE_DEPENDS ${NATSUME_ROOT}/hypervisor/partition/*.cpp)
file(GLOB NATSUME_HV_ARCH_SOURCES CONFIGURE_DEPENDS
  ${NATSUME_ROOT}/hypervisor/arch/x86/*.cpp
  ${NATSUME_ROOT}/hypervisor/arch/x86/vtd/*.cpp
  ${NATSUME_ROOT}/hypervisor/arch/x86/*.S
  ${NATSUME_ROOT}/hypervisor/arch/x86/boot/*.S)
file(GLOB NATSUME_HV_BOOT_SOURCES CONFIGURE_DEPENDS ${NATSUME_ROOT}/hypervisor/boot/*.cpp)
# Of the partition layer the registry and the channel decisions are pure
# (partition.cpp uses the CPU).
set(NATSUME_HV_PARTITION_PURE_SOURCES ${NATSUME_ROOT}/hypervisor/partition/mmio_regions.cpp
                                      ${NATSUME_ROOT}/hypervisor/partition/channels.cpp)

# The pure parts of natsume.efi (hypervisor/efi/): its loader file, the
# boot information it writes and the memory map it hands over.
set(NATSUME_EFI_PURE_SOURCES ${NATSUME_ROOT}/hypervisor/efi/loader_config.cpp
                             ${NATSUME_ROOT}/hypervisor/efi/info_builder.cpp
                             ${NATSUME_ROOT}/hypervisor/efi/memory_map.cpp)

# Shared by the host tools and the hypervisor (freestanding-clean).
file(GLOB NATSUME_COMMON_SOURCES CONFIGURE_DEPENDS ${NATSUME_ROOT}/common/*.cpp ${NATSUME_ROOT}/common/config/*.cpp)

# The partition-file compiler behind natsume-config (its main.cpp apart).
file(GLOB NATSUME_CONFIG_COMPILER_SOURCES CONFIGURE_DEPENDS ${NATSUME_ROOT}/vmm-tools/config/*.cpp)
list(REMOVE_ITEM NATSUME_CONFIG_COMPILER_SOURCES ${NATSUME_ROOT}/vmm-tools/config/main.cpp)

# natsume-config probe (docs/probe.md), and the hypervisor's parsers it runs
# on the host: one definition of each ACPI, DMAR and PCI fact.
file(GLOB NATSUME_PROBE_SOURCES CONFIGURE_DEPENDS ${NATSUME_ROOT}/vmm-tools/probe/*.cpp)
set(NATSUME_PROBE_PARSER_SOURCES ${NATSUME_ROOT}/hypervisor/lib/acpi.cpp ${NATSUME_ROOT}/hypervisor/lib/dmar.cpp
                                 ${NATSUME_ROOT}/hypervisor/lib/pci.cpp)

# The paravirtual drivers shared by the guest kernel and the host tests.
file(GLOB NATSUME_DRIVERS_PV_SOURCES CONFIGURE_DEPENDS ${NATSUME_ROOT}/drivers/pv/*.cpp)
