// Prepares a partition before its core launches it: RAM contents, EPT,
// I/O and MSR bitmaps, and the guest's long-mode boot environment.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "partition/partition.hpp"

namespace natsume::x86 {

struct BuildError {
    char text[192];
};

// Writes the reason into err and returns false, for `return build_fail(err, ...)`.
bool build_fail(BuildError& err, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// The boot modules a partition starts from: its ELF image, or Linux's bzImage and initramfs.
struct BootFiles {
    const uint8_t* image;
    size_t image_size;
    const uint8_t* initramfs;  // null when there is none
    size_t initramfs_size;
};

// The rates a partition is told (Linux: CPUID leaf 0x15).
struct Rates {
    uint64_t tsc_khz, lapic_timer_khz;
};

[[nodiscard]] bool build_partition(Partition& p, const BootFiles& files, const Rates& rates, BuildError& err);

// linux_build.cpp: the bzImage, initramfs, zero page, command line, ACPI
// tables and boot GDT of a Linux partition (docs/linux.md).
[[nodiscard]] bool load_linux(Partition& p, const BootFiles& files, BuildError& err);

// Ports a Linux partition's tables name (docs/linux.md): writes there power off or reset it.
inline constexpr uint16_t LINUX_SLEEP_CONTROL_PORT = 0x0f00, LINUX_SLEEP_STATUS_PORT = 0x0f01,
                          LINUX_RESET_PORT = 0x0f04;
inline constexpr uint8_t LINUX_RESET_VALUE = 0x0e;

}  // namespace natsume::x86
