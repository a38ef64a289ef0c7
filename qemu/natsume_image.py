#!/usr/bin/python3
"""`./natsume image FILE [-o OUT]`: boot media for a real machine.

The partition file is compiled (natsume-config, as `check` validates it),
and the hypervisor, the compiled file and every guest image it names go onto
two images of the same boot, written side by side:

  OUT.img  a GPT disk image for a USB stick (write it with dd): a BIOS boot
           partition with GRUB i386-pc (boot.img in the protective MBR), and
           an EFI system partition whose default boot file is Natsume's own
           EFI loader natsume.efi (with its loader file natsume.cfg), the
           boot files in /natsume and GRUB's configuration for the BIOS path.
  OUT.iso  a hybrid ISO with GRUB for both BIOS (i386-pc, El Torito and a
           hybrid MBR, so it can also be written to a USB stick) and UEFI
           (x86_64-efi on the ISO's EFI system partition image).

OUT defaults to FILE's name in the current directory; a .img or .iso suffix
on OUT is dropped, so `-o stick.img` writes stick.img and stick.iso, and an
existing directory as OUT gets FILE's name inside it. GRUB loads the
hypervisor by multiboot2 with the serial console on COM1, and natsume.efi
loads it the same way; no emulator option is on its command line.
Built without root: grub-mkrescue, grub-mkimage, xorriso, sfdisk and mtools.
The disk image needs natsume.efi from the build (BUILD/images/natsume.efi)."""

import argparse
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from natsume_emu.disk_image import build_disk  # noqa: E402
from natsume_emu.iso import IsoError, build_iso  # noqa: E402
from natsume_emu.session import BuildTree, SetupError, hypervisor_boot  # noqa: E402

KINDS = ("disk", "iso")


@dataclass
class Images:
    disk: Optional[Path] = None   # OUT.img
    iso: Optional[Path] = None    # OUT.iso


def output_base(out: Path, toml: Path) -> Path:
    """OUT without a .img or .iso suffix: the images are OUT.img and OUT.iso
    (DIR/FILE.img and DIR/FILE.iso when OUT is a directory)."""
    if out.is_dir():
        return out / toml.stem
    return out.with_suffix("") if out.suffix.lower() in (".img", ".iso") else out


def make_image(build: BuildTree, toml: Path, out: Path, hv_cmdline: str = "",
               kinds=KINDS, efi_loader: Optional[Path] = None) -> Images:
    """Writes the images of `kinds` for `toml` as OUT.img and OUT.iso (OUT:
    `out` less a .img/.iso suffix). The disk image takes natsume.efi from
    `efi_loader` (default: the build's) and fails if it is missing. Nothing
    is written unless every image was built."""
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise IsoError(f"unknown image kind(s) {unknown} (known: {', '.join(KINDS)})")
    base = output_base(out, toml)
    images = Images()
    with tempfile.TemporaryDirectory(prefix="natsume-image-") as tmp:
        work = Path(tmp)
        spec = hypervisor_boot(build, toml, work, hv_cmdline=hv_cmdline)
        spec.title = f"Natsume: {toml.name}"
        built = {}
        if "disk" in kinds:
            built["disk"] = build_disk(spec, efi_loader or build.efi_loader, work)
        if "iso" in kinds:
            built["iso"] = build_iso(spec, work, firmware="hybrid")
        base.parent.mkdir(parents=True, exist_ok=True)
        for kind, path in built.items():
            dest = base.parent / (base.name + (".img" if kind == "disk" else ".iso"))
            shutil.copyfile(path, dest)
            setattr(images, kind, dest)
    return images


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", type=Path, required=True, help="build tree with images/ and vmm-tools/")
    ap.add_argument("file", type=Path, help="the partition file")
    ap.add_argument("-o", "--output", type=Path,
                    help="where to write OUT.img and OUT.iso (default: FILE's name, here)")
    ap.add_argument("--hv-cmdline", default="", help="the hypervisor's command line (default: none)")
    args = ap.parse_args(argv)
    out = args.output or Path.cwd() / args.file.stem
    try:
        images = make_image(BuildTree(args.build.resolve()), args.file.resolve(), out.resolve(), args.hv_cmdline)
    except (SetupError, IsoError) as e:
        print(f"natsume-image: {e}", file=sys.stderr)
        return 1
    print(f"natsume-image: wrote {images.disk} ({images.disk.stat().st_size // (1 << 20)} MiB): GPT disk image, "
          f"boots by BIOS (GRUB) and by UEFI (natsume.efi); write it to a USB stick with dd")
    print(f"natsume-image: wrote {images.iso} ({images.iso.stat().st_size // 1024} KiB): hybrid ISO, "
          f"boots by BIOS and by UEFI (GRUB); burn it, or write it to a USB stick with dd")
    return 0


if __name__ == "__main__":
    sys.exit(main())
