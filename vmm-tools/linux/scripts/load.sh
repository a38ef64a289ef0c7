#!/bin/sh
# natsume.run=load natsume.load=stress|net [natsume.load_s=SECONDS]: a load for
# the real-time partition next door to be measured under (./natsume bench irq):
#   stress  stress-ng --cpu 1 --vm 1 --io 1 (CPU, memory, sync) for SECONDS
#   net     ping -A (each echo sent as soon as the last is answered) with
#           1400-byte packets through its NIC to natsume.peer for SECONDS
#           (run the net script first: it configures the interface)
# It prints the TSC (MSR 0x10) at its start and end, so a harness can check
# that the load covered the measurement.
tsc() { dd if=/dev/cpu/0/msr bs=8 skip=2 count=1 2>/dev/null | od -An -tu8 | tr -d ' '; }
kind=${NATSUME_LOAD:-stress}
secs=${NATSUME_LOAD_S:-300}
case $kind in
stress) cmd="stress-ng --cpu 1 --vm 1 --vm-bytes 32M --io 1 --timeout ${secs}s --metrics-brief" ;;
net)
    if [ -z "$NATSUME_PEER" ]; then
        echo "load: natsume.load=net needs natsume.peer=ADDR"
        exit 2
    fi
    cmd="ping -A -q -s 1400 -w $secs $NATSUME_PEER" ;;
*)
    echo "load: unknown natsume.load=$kind (known: stress, net)"
    exit 2 ;;
esac
echo "natsume-linux: load $kind start tsc=$(tsc) ($cmd)"
$cmd
rc=$?
echo "natsume-linux: load $kind end tsc=$(tsc) status $rc"
exit $rc
