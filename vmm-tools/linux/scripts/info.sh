#!/bin/sh
# natsume.run=info: what this partition sees.
echo "== uname -a"
uname -a
# Debian's busybox has no lspci applet: the same facts from sysfs.
echo "== PCI devices (bdf vendor:device class irq driver)"
for d in /sys/bus/pci/devices/*; do
    [ -e "$d/vendor" ] || continue
    drv=-
    [ -L "$d/driver" ] && drv=$(basename "$(readlink "$d/driver")")
    bdf=${d##*/}
    echo "${bdf#0000:} $(sed 's/^0x//' "$d/vendor"):$(sed 's/^0x//' "$d/device") class=$(cat "$d/class") irq=$(cat "$d/irq") driver=$drv"
done
echo "== /proc/interrupts"
cat /proc/interrupts
echo "== /proc/meminfo (head)"
head -n 5 /proc/meminfo
echo "== processors: $(grep -c '^processor' /proc/cpuinfo)"
# The wall clock Linux read at boot from its virtual CMOS clock.
echo "== date: $(date -u '+%Y-%m-%d %H:%M:%S') UTC"
echo "== modules"
cut -d' ' -f1-3 /proc/modules
echo "== network interfaces"
ip link
echo "== block devices"
cat /proc/partitions
