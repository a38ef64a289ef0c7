#!/bin/sh
# natsume.run=disk [natsume.disk=sda] [natsume.disk_mib=MIB]: reads the
# harness's pattern disk through the partition's passed-through IDE
# controller (ata_piix): every 512-byte sector starts with its LBA (8 bytes,
# little-endian) followed by bytes (offset ^ LBA) & 0xff. It checks sampled
# sectors across the disk byte for byte, reads MIB MiB (default 16) with
# O_DIRECT (no page cache) and prints the rate, then the channel's interrupt
# count. Exit status 0 only when every sampled sector matched.
say() { echo "natsume-linux: disk: $*"; }
dev=/dev/${NATSUME_DISK:-sda}
mib=${NATSUME_DISK_MIB:-16}
# libata scans its ports in the background: wait for the disk (30 s).
n=0
while [ ! -b "$dev" ] && [ "$n" -lt 30 ]; do
    sleep 1
    n=$((n + 1))
done
if [ ! -b "$dev" ]; then
    say "no $dev after 30 s"
    cat /proc/partitions
    exit 1
fi
name=${dev##*/}
sectors=$(cat "/sys/block/$name/size")
say "$dev: $sectors sectors, model $(cat "/sys/block/$name/device/model" 2>/dev/null)"
# One sector, checked against the pattern: prints "ok" or what differs.
check() {
    dd if="$dev" bs=512 skip="$1" count=1 iflag=direct 2>/dev/null | od -An -tu1 -v | awk -v lba="$1" '
        { for (i = 1; i <= NF; i++) b[n++] = $i }
        END {
            if (n != 512) { print "short read (" n " bytes)"; exit }
            v = lba
            for (i = 0; i < 8; i++) {
                if (b[i] != v % 256) { print "LBA byte " i " is " b[i] ", expected " v % 256; exit }
                v = int(v / 256)
            }
            low = lba % 256
            for (i = 8; i < 512; i++)
                if (b[i] != xor(i, low) % 256) { print "byte " i " is " b[i] ", expected " xor(i, low) % 256; exit }
            print "ok"
        }'
}
bad=0
good=0
for lba in 0 1 255 256 4097 $((sectors / 3)) $((sectors / 2 + 7)) $((sectors - 1)); do
    r=$(check "$lba")
    if [ "$r" = ok ]; then
        good=$((good + 1))
    else
        bad=$((bad + 1))
        say "sector $lba: $r"
    fi
done
say "sampled sectors: $good good, $bad bad"
# Sequential reads, bypassing the page cache, timed on the guest's clock
# (/proc/uptime, 10 ms steps; Debian's busybox dd prints no rate).
t0=$(cut -d' ' -f1 /proc/uptime)
dd if="$dev" of=/dev/null bs=64k count=$((mib * 16)) iflag=direct 2>/dev/null
rc=$?
t1=$(cut -d' ' -f1 /proc/uptime)
say "read: $mib MiB in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s (dd status $rc)"
grep -E 'ata_piix|ata[0-9]' /proc/interrupts | sed 's/^/natsume-linux: disk: interrupts: /'
[ "$bad" -eq 0 ]
