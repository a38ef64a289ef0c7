#!/usr/bin/python3
"""Boots the hypervisor itself (natsume.elf) on QEMU TCG with intel-iommu,
an e1000, QEMU's edu (MSI) and an e1000e (MSI-X) given to partition rt0 and
a second e1000 to gp0 on the same INTx line, and checks that VT-d is set up
before anything needs VMX: the unit is found and decoded, each partition's
domain is built with its devices attached and no "DMA not isolated"
warning, translation is enabled on every unit, interrupt remapping is on
with remapping entries for rt0's MSI and MSI-X and for the shared line the
boot core takes, and only then does the boot stop with the expected "no
VMX" panic (QEMU TCG has no VT-x). --firmware uefi boots the same through OVMF and
GRUB-EFI: ACPI then comes from the XSDT the firmware gives and the memory
map is the UEFI one. --image boots instead the hybrid ISO `./natsume image`
makes of the same partition file (qemu/natsume_image.py: no emulator option,
GRUB for both firmwares), as a user would boot it; --image-kind disk boots
its GPT disk image instead, as the machine's hard disk (GRUB i386-pc from the
BIOS boot partition under SeaBIOS; natsume.efi from the ESP under OVMF), and
--image-kind usb the same image as a USB stick on an xHCI controller, the
way a person boots it."""

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "qemu"))
from natsume_emu import iso, qemu_runner, runner, session  # noqa: E402
import natsume_image  # noqa: E402

HERE = Path(__file__).resolve().parent

# (name, pattern) in the order they must appear.
EXPECTED = [
    ("PCI through ECAM (MCFG)", r"^natsume: pci: ECAM at 0xb0000000 for buses 0-255 \(MCFG\)"),
    ("e1000 enumerated through ECAM", r"^natsume: pci: 00:02\.0 8086:100e class 02/00"),
    ("unit decoded", r"^natsume: vtd: unit 0 at 0xfed90000: SAGAW 0x[0-9a-f]+ \((3|4)-level\)"),
    ("DMA remapping found", r"^natsume: vtd: VT-d: 1 unit\(s\), .*DMA remapping"),
    ("partition file accepted without a DMA window", r"^natsume: partition: \s*0 rt0\b"),
    ("e1000 resolved for rt0", r"^natsume: partition: rt0: device 00:02\.0 8086:100e"),
    ("domain built, device attached",
     r"^natsume: vtd: partition rt0: domain 1, devices 00:02\.0, 00:03\.0, 00:04\.0, RAM 0x4000000\+0x2000000 -> gpa 0, "
     r"DMA isolated$"),
    ("gp0's own domain, with the channel its devices may DMA into",
     r"^natsume: vtd: partition gp0: domain 2, devices 00:06\.0, .*, channel vif0 0xa000000\+0x200000 -> gpa "
     r"0x50000000, DMA isolated$"),
    ("interrupt remapping on", r"^natsume: vtd: interrupt remapping on: 256 entries per unit, .*compatibility-format "
                               r"interrupts blocked$"),
    ("edu's MSI through its own entry",
     r"^natsume: vtd: partition rt0: device 00:03\.0: MSI through entry 64, source-id 00:03\.0 checked$"),
    ("e1000e's MSI and MSI-X through their own entries",
     r"^natsume: vtd: partition rt0: device 00:04\.0: MSI through entry 65, MSI-X through entries 66-70, "
     r"source-id 00:04\.0 checked$"),
    ("shared line through interrupt remapping",
     r"^natsume: intx: GSI 11 routed per device through the boot core \(interrupt remapping\): 00:02\.0 \(rt0, "
     r".*00:06\.0 \(gp0, "),
    ("VMX checked last", r"^natsume: PANIC on cpu 0: VT-x requirement not met: this CPU has no VMX"),
]
# Translation is enabled before the per-partition lines are printed.
TRANSLATION = r"^natsume: vtd: unit 0: translation enabled \((queued|register-based) invalidation\)"
FORBIDDEN = [r"DMA not isolated", r"NOT isolated", r"natsume: vtd: fault"]


# Under UEFI: the loader (GRUB-EFI, or natsume.efi from the disk image's ESP),
# ACPI 2.0 through the XSDT.
UEFI_LOADER = {
    "iso": ("loaded by GRUB", r"^natsume: boot: loader 'GRUB "),
    "disk": ("loaded by natsume.efi", r"^natsume: boot: loader 'natsume\.efi'"),
    "usb": ("loaded by natsume.efi", r"^natsume: boot: loader 'natsume\.efi'"),
}
UEFI_ACPI = ("ACPI through the firmware's XSDT", r"^natsume: acpi: RSDP revision 2, OEM '.*', XSDT at 0x")


def media_args(image: Path, kind: str = "iso") -> list:
    """The boot medium: a CD (the ISOs) or the machine's first hard disk (the
    GPT disk image, on q35's built-in AHCI; snapshot=on keeps the file as
    built)."""
    if kind == "disk":
        return ["-drive", f"file={image},format=raw,if=ide,index=0,media=disk,snapshot=on"]
    if kind == "usb":  # the disk image as a USB stick on an xHCI controller, the firmware's first boot choice
        return ["-device", "qemu-xhci,addr=0x8", "-drive", f"if=none,id=stick,format=raw,file={image},snapshot=on",
                "-device", "usb-storage,drive=stick,bootindex=0"]
    if kind == "esp":  # a host folder as a FAT disk (run_efi_loader.py)
        return ["-drive", f"format=raw,file=fat:rw:{image}"]
    return ["-cdrom", str(image)]


def qemu_command(image: Path, serial: Path, firmware_args: list, kind: str = "iso") -> list:
    return [qemu_runner.QEMU_BIN, "-accel", "tcg", "-M", "q35", "-cpu", "max", "-smp", "3", "-m", "512",
            *firmware_args,
            "-device", "intel-iommu,intremap=on", "-vga", "none", "-nic", "none",
            "-device", "e1000,addr=0x2", "-device", "edu,addr=0x3", "-device", "e1000e,addr=0x4",
            "-device", "e1000,addr=0x6",
            *media_args(image, kind), "-serial", f"file:{serial}", "-display", "none", "-no-reboot",
            *qemu_runner.DEBUG_EXIT]


def check(lines: list, firmware: str = "bios", kind: str = "iso") -> list:
    problems = []
    at = 0
    for name, pattern in ([UEFI_LOADER[kind], UEFI_ACPI] if firmware == "uefi" else []) + EXPECTED:
        rx = re.compile(pattern)
        found = next((i for i in range(at, len(lines)) if rx.search(lines[i])), None)
        if found is None:
            earlier = any(rx.search(l) for l in lines[:at])
            problems.append(f"{name}: no line matching /{pattern}/" + (" after the previous one" if earlier else ""))
            continue
        at = found + 1
    enabled = [i for i, l in enumerate(lines) if re.search(TRANSLATION, l)]
    domain = [i for i, l in enumerate(lines) if "natsume: vtd: partition rt0: domain" in l]
    if not enabled:
        problems.append(f"translation enabled: no line matching /{TRANSLATION}/")
    elif domain and enabled[0] > domain[0]:
        problems.append("translation was reported enabled after the partition lines")
    for pattern in FORBIDDEN:
        bad = [l for l in lines if re.search(pattern, l)]
        if bad:
            problems.append(f"unexpected line: {bad[0]}")
    panics = [l for l in lines if l.startswith("natsume: PANIC on")]
    if len(panics) != 1 or "no VMX" not in panics[0]:
        problems.append(f"expected exactly the VMX panic, got: {panics}")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", type=Path, required=True, help="build tree with images/ and vmm-tools/")
    ap.add_argument("--hypervisor", type=Path, help="natsume.elf to boot (default: BUILD/images/natsume.elf)")
    ap.add_argument("--config", type=Path, default=HERE / "vtd-boot.toml")
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--echo", action="store_true")
    ap.add_argument("--firmware", choices=("bios", "uefi"), default="bios")
    ap.add_argument("--image", action="store_true", help="boot the ISO of ./natsume image (hybrid)")
    ap.add_argument("--image-kind", choices=("iso", "disk", "usb"),
                    help="with --image (implied): which image of ./natsume image to boot: the hybrid ISO "
                         "(default) or the GPT disk image")
    ap.add_argument("--efi-loader", type=Path,
                    help="natsume.efi for the disk image's ESP (default: BUILD/images/natsume.efi)")
    args = ap.parse_args()
    kind = args.image_kind or "iso"
    if args.image_kind:
        args.image = True

    build = session.BuildTree(args.build.resolve())
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    if args.image:
        loader = args.efi_loader.resolve() if args.efi_loader else build.efi_loader
        images = natsume_image.make_image(build, args.config.resolve(), work / "natsume-image",
                                          kinds=("disk" if kind == "usb" else kind,), efi_loader=loader)
        image_iso = images.disk if kind in ("disk", "usb") else images.iso
    else:
        spec = session.hypervisor_boot(build, args.config.resolve(), work)
        if args.hypervisor:
            spec.kernel = args.hypervisor.resolve()
        image_iso = iso.build_iso(spec, work, args.firmware)
    serial = work / "serial.log"
    cmd = qemu_command(image_iso, serial, qemu_runner.uefi_args(work) if args.firmware == "uefi" else [], kind)
    (work / "qemu-cmdline.txt").write_text(" ".join(cmd) + "\n")
    on_line = (lambda line: print(line, flush=True)) if args.echo else None
    result = runner.run_following_serial(cmd, serial, work / "qemu.out", r"natsume: PANIC: the machine is stopped",
                                         args.timeout, on_line, cwd=work)
    problems = check(result.lines, args.firmware, kind)
    if result.outcome == "timeout":
        problems.insert(0, f"timed out after {args.timeout} s")
    for p in problems:
        print(f"FAIL: {p}")
    if problems:
        for line in result.lines[-40:]:
            print(f"  | {line}")
        qemu_out = (work / "qemu.out").read_text(errors="replace").strip()
        if qemu_out:
            print(f"QEMU said: {qemu_out[-2000:]}")
        print(f"serial log: {serial}")
        return 1
    medium = {"disk": "disk image as the hard disk", "usb": "disk image as a USB stick", "iso": "ISO"}[kind]
    what = f"{args.firmware}, {medium}" if args.image else args.firmware
    print(f"PASS: hypervisor VT-d boot on QEMU TCG ({what}): domains built, devices attached, translation enabled, "
          f"interrupt remapping on for pins, the shared line, MSI and MSI-X, "
          f"then the VMX stop ({result.elapsed:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
