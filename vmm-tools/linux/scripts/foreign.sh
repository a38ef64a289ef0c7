#!/bin/sh
# natsume.run=foreign natsume.addr=ADDR: reads guest-physical ADDR, memory
# that is not this partition's, through /dev/mem. Linux allows it when ADDR
# is not its RAM; the EPT maps nothing there, so the hypervisor stops this
# partition at the first access and rt0 runs on (bochs.linux-foreign). The
# "still running" line must never appear.
addr=${NATSUME_ADDR:?natsume.addr=ADDR is required}
echo "natsume-linux: foreign: reading 4 bytes at $addr through /dev/mem"
out=$(dd if=/dev/mem bs=4 count=1 skip=$((addr / 4)) 2>&1 | od -An -tx1)
echo "natsume-linux: foreign: still running after reading $addr (dd said: $out)"
