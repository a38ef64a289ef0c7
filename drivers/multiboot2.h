/*
 * The multiboot2 boot protocol's magic numbers (Multiboot2 Specification
 * 3.1.1 and 3.3): plain macros, so the entry assembly and C++ of the
 * hypervisor, its self-test and the guest kernel share one definition.
 */
#pragma once

#define MB2_HEADER_MAGIC     0xe85250d6 /* in the image's multiboot2 header */
#define MB2_BOOTLOADER_MAGIC 0x36d76289 /* in EAX when a multiboot2 loader enters the image */
