#!/bin/sh
# natsume.run=hostile: what a misbehaving Linux may try against the machine,
# through /dev/port (outb from user space) and the msr driver. Each must be
# refused or contained by the hypervisor: the partition keeps running, the
# machine is not reset, rt0 is not affected (bochs.linux-boot).
outb() { printf "\\$(printf '%03o' "$2")" | dd of=/dev/port bs=1 seek=$(($1)) count=1 2>/dev/null; }
echo "== hostile: reset through the chipset (0xCF9), the keyboard controller (0x64) and port 0x92"
outb 0xcf9 6
outb 0x64 0xfe
outb 0x92 1
echo "== hostile: the partition's own reset and sleep ports with values that must not act"
outb 0xf04 0            # not the FADT's reset value: ignored
outb 0xf00 0x14         # sleep type 5 without SLP_EN: ignored
echo "== hostile: the PIC and PIT the hypervisor keeps"
outb 0x21 0
outb 0x43 0x30
echo "== hostile: stop the machine's clock (CMOS status B, SET bit): its clock is read-only"
outb 0x70 0x0b
outb 0x71 0x80
echo "== hostile: MSRs it does not own (IA32_FEATURE_CONTROL, IA32_DEBUGCTL)"
dd if=/dev/cpu/0/msr bs=8 count=1 skip=$((0x3a)) iflag=skip_bytes 2>&1 | head -1
printf '\001\000\000\000\000\000\000\000' | dd of=/dev/cpu/0/msr bs=8 seek=$((0x1d9)) oflag=seek_bytes 2>&1 | head -1
echo "natsume-linux: hostile: still running after every attempt"
