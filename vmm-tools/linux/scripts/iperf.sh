#!/bin/sh
# natsume.run=iperf natsume.ip=ADDR/PREFIX natsume.peer=ADDR [natsume.iperf_s=SECONDS]
# [natsume.if=eth0]: brings the interface up as net.sh does (unless an earlier
# script did), runs iperf3 over TCP to the iperf3 server at natsume.peer for
# SECONDS (default 5), shows iperf3's own output and then one summary line
#   natsume-linux: iperf: sender X Mbits/sec receiver Y Mbits/sec
# taken from iperf3's closing lines. Under an emulator the sender's figure is
# in the guest's (emulated) time and the receiver's in the peer's clock.
# Exit status: iperf3's; 5 when its output has no summary.
say() { echo "natsume-linux: iperf: $*"; }

# net_up and $ifc from net.sh, which runs nothing itself when sourced so.
export NATSUME_NET_LIB=1
# shellcheck source=net.sh
. "$(dirname "$0")/net.sh"

secs=${NATSUME_IPERF_S:-5}
case $secs in
'' | *[!0-9]* | 0)
    say "natsume.iperf_s=$secs is not a whole number of seconds"
    exit 2 ;;
esac
if [ -n "$NATSUME_IP" ] && ip -o addr show dev "$ifc" 2>/dev/null | grep -q " ${NATSUME_IP%/*}/"; then
    say "$ifc already has $NATSUME_IP (an earlier script brought it up)"
else
    net_up || exit $?
fi
if ping -c 1 -W 5 "$NATSUME_PEER" >/dev/null 2>&1; then
    say "peer $NATSUME_PEER answers ping"
else
    say "peer $NATSUME_PEER does not answer ping; trying iperf3 all the same"
fi

out=/tmp/iperf3.out
cmd="iperf3 -c $NATSUME_PEER -t $secs -f m --connect-timeout 30000 --forceflush"
say "client to $NATSUME_PEER for $secs s ($cmd)"
# iperf3's output as it comes; timeout bounds a test whose peer went away.
# shellcheck disable=SC2086 # $cmd is split into words on purpose
{ timeout $((secs + 180)) $cmd 2>&1; echo $? >/tmp/iperf3.rc; } | tee "$out"
rc=$(cat /tmp/iperf3.rc)

# The closing lines:
#   [  5]   0.00-5.00   sec  1.25 MBytes  2.10 Mbits/sec    0             sender
#   [  5]   0.00-5.43   sec  1.19 MBytes  1.84 Mbits/sec                  receiver
summary=$(awk '
    function rate(   i) { for (i = NF - 1; i > 1; i--) if ($i ~ /bits\/sec$/) return $(i - 1) " " $i; return "" }
    $NF == "sender"   { s = rate() }
    $NF == "receiver" { r = rate() }
    END { if (s != "" && r != "") print "sender " s " receiver " r }' "$out")
if [ -z "$summary" ]; then
    say "no sender/receiver summary in iperf3's output (exit status $rc)"
    [ "$rc" -ne 0 ] && exit "$rc"
    exit 5
fi
say "$summary"
exit "$rc"
