#!/bin/sh
# natsume.run=smp: every online CPU runs a task pinned to it, and the CPUs'
# interprocessor-interrupt counters show they reached each other.
n=$(nproc)
echo "natsume-linux: smp: $n CPUs online ($(cat /sys/devices/system/cpu/online))"
c=0
while [ "$c" -lt "$n" ]; do
    # Field 39 of /proc/PID/stat: the CPU the task last ran on (proc(5)).
    ran=$(taskset -c "$c" awk '{ print $39 }' /proc/self/stat)
    echo "natsume-linux: smp: a task pinned to CPU $c ran on CPU $ran"
    c=$((c + 1))
done
grep -E '^ *(CPU|LOC|RES|CAL|TLB):?' /proc/interrupts
