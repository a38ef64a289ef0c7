#!/bin/sh
# Boots guest-kernel.elf natively (no hypervisor) from a GRUB BIOS ISO and
# prints the serial output. exit=1 is always added to the command line so the
# kernel ends the emulator itself.
#
#   run-native.sh <guest-kernel.elf> <bochs|qemu> [bochs cpu model] [kernel args...]
#   e.g. run-native.sh build/images/guest-kernel.elf bochs corei7_skylake_x test=newlib
set -eu
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
cpu: model=$model, count=1, ips=10000000
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
  printf 'c\nquit\n' > "$work/cmds"
  timeout 120 bochs-bin -q -f "$work/bochsrc" -rc "$work/cmds" </dev/null >"$work/term.txt" 2>&1 || true
  cat "$work/serial.txt"
  ;;
qemu)
  timeout 60 qemu-system-x86_64 -M q35 -cpu max -m 256 -cdrom "$work/g.iso" -serial stdio \
    -display none -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null || true
  ;;
*) echo "unknown emulator $emu" >&2; exit 2 ;;
esac
