#!/bin/sh
# natsume.run=foreign natsume.addr=ADDR: reads guest-physical ADDR, memory
# that is not this partition's, through a mapping of /dev/mem (busybox
# devmem: read() of /dev/mem stops at the end of Linux's RAM, mmap() does
# not). Linux allows it when ADDR is not its RAM; the EPT maps nothing
# there, so the hypervisor stops this
# partition at the first access and rt0 runs on (bochs.linux-foreign). The
# "still running" line must never appear.
# With several CPUs the read runs on the last one, so that the stop starts
# on a core other than the partition's boot CPU.
addr=${NATSUME_ADDR:?natsume.addr=ADDR is required}
cpu=$(($(nproc) - 1))
echo "natsume-linux: foreign: reading 4 bytes at $addr through a /dev/mem mapping on CPU $cpu"
# The console is polled by another CPU's tty work: give it time to write the
# line out before the read stops the partition.
sleep 1
out=$(taskset -c "$cpu" devmem "$addr" 32 2>&1)
echo "natsume-linux: foreign: still running after reading $addr (devmem said: $out)"
