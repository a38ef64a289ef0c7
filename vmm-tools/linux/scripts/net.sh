#!/bin/sh
# natsume.run=net natsume.ip=ADDR/PREFIX natsume.peer=ADDR [natsume.if=eth0]:
# configures the interface and pings the peer (exit status: ping's).
# Other scripts source this file for net_up alone (iperf.sh):
#   NATSUME_NET_LIB=1; . /natsume/scripts/net.sh; net_up || exit $?
ifc=${NATSUME_IF:-eth0}

# net_up: natsume.ip on $ifc, the link up, its carrier awaited; status 2 (no
# address or peer given), 3 (no such interface), 4 (ip failed), else 0.
net_up() {
    if [ -z "$NATSUME_IP" ] || [ -z "$NATSUME_PEER" ]; then
        echo "net: needs natsume.ip=ADDR/PREFIX and natsume.peer=ADDR (have ip='$NATSUME_IP' peer='$NATSUME_PEER')"
        return 2
    fi
    if [ ! -d "/sys/class/net/$ifc" ]; then
        echo "net: no interface $ifc; there are:"
        ip -o link
        return 3
    fi
    ip addr add "$NATSUME_IP" dev "$ifc" || return 4
    ip link set "$ifc" up || return 4
    # The e1000 reports its link from a watchdog, a second or two after up.
    i=0
    while [ "$(cat "/sys/class/net/$ifc/carrier" 2>/dev/null)" != 1 ] && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    echo "net: $ifc carrier=$(cat "/sys/class/net/$ifc/carrier" 2>/dev/null) after ~$((i * 100)) ms"
    ip addr show dev "$ifc"
    return 0
}

[ "${NATSUME_NET_LIB:-0}" = 1 ] && return 0
net_up || exit $?
ping -c 3 -W 5 "$NATSUME_PEER"
