#!/bin/sh
# Boots guest-kernel.elf natively (no hypervisor) from a GRUB BIOS ISO and
# prints the serial output. exit=1 is always added to the command line so the
# kernel ends the emulator itself.
#
#   run-native.sh <guest-kernel.elf> <bochs|qemu> [bochs cpu model] [kernel args...]
#   e.g. run-native.sh build/images/guest-kernel.elf bochs corei7_skylake_x test=newlib
#
# NET=1 adds an e1000 (8086:100e, MAC 52:54:00:12:34:56) in slot 1: Bochs on
# its vnet backend (host 192.168.10.1), QEMU on user networking (add
# ip=10.0.2.15 peer=10.0.2.2 for QEMU). IPS=N sets Bochs' ips (default 10000000).
set -eu
net=${NET:-0}
ips=${IPS:-10000000}
elf=$1; emu=$2; shift 2
model=corei5_lynnfield_750
if [ "$emu" = bochs ] && [ $# -gt 0 ]; then model=$1; shift; fi
args="$* exit=1"

work=$(mktemp -d /tmp/natsume-guest-native.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/iso/boot/grub"
cp "$elf" "$work/iso/boot/guest-kernel.elf"
cat > "$work/iso/boot/grub/grub.cfg" <<CFG
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=0
menuentry guest {
 multiboot2 /boot/guest-kernel.elf $args
 boot
}
CFG
grub-mkrescue -d /usr/lib/grub/i386-pc \
  --install-modules="multiboot2 normal serial terminal configfile iso9660 biosdisk boot echo" \
  --locales= --fonts= --themes= -o "$work/g.iso" "$work/iso" >/dev/null 2>&1

case "$emu" in
bochs)
  cat > "$work/bochsrc" <<RC
cpu: model=$model, count=1, ips=$ips
clock: sync=none, time0=938581955
display_library: term
com1: enabled=1, mode=file, dev=$work/serial.txt
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
ata0-master: type=cdrom, path=$work/g.iso, status=inserted
boot: cdrom
megs: 256
log: $work/bochs.log
RC
  if [ "$net" = 1 ]; then
    mkdir -p "$work/vnet"
    cat >> "$work/bochsrc" <<RC
pci: enabled=1, chipset=i440fx, slot1=e1000
e1000: enabled=1, mac=52:54:00:12:34:56, ethmod=vnet, ethdev=$work/vnet
RC
  fi
  printf 'c\nquit\n' > "$work/cmds"
  timeout 120 bochs-bin -q -f "$work/bochsrc" -rc "$work/cmds" </dev/null >"$work/term.txt" 2>&1 || true
  cat "$work/serial.txt"
  [ -n "${BOCHS_LOG:-}" ] && cp "$work/bochs.log" "$BOCHS_LOG"
  ;;
qemu)
  netargs=""
  [ "$net" = 1 ] && netargs="-nic user,model=e1000,mac=52:54:00:12:34:56"
  # shellcheck disable=SC2086
  timeout 60 qemu-system-x86_64 -M q35 -cpu max -m 256 -cdrom "$work/g.iso" -serial stdio $netargs \
    -display none -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null || true
  ;;
*) echo "unknown emulator $emu" >&2; exit 2 ;;
esac
