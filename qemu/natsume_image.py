#!/usr/bin/python3
"""`./natsume image FILE [-o OUT]`: a bootable hybrid ISO for a real machine.

The partition file is compiled (natsume-config, as `check` validates it),
and the hypervisor, the compiled file and every guest image it names go onto
one ISO with GRUB for both BIOS (i386-pc, El Torito and a hybrid MBR, so it
can be written to a USB stick with dd) and UEFI (x86_64-efi on the ISO's EFI
system partition image). GRUB loads the hypervisor by multiboot2 with the
serial console on COM1; no emulator option is on its command line. Built
without root: grub-mkrescue, xorriso and mtools. A GPT disk image with
Natsume's own EFI loader as the default boot file comes with that loader."""

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from natsume_emu.iso import IsoError, build_iso  # noqa: E402
from natsume_emu.session import BuildTree, SetupError, hypervisor_boot  # noqa: E402


def make_image(build: BuildTree, toml: Path, out: Path, hv_cmdline: str = "") -> Path:
    """Writes the hybrid ISO for `toml` to `out`; returns `out`."""
    with tempfile.TemporaryDirectory(prefix="natsume-image-") as tmp:
        work = Path(tmp)
        spec = hypervisor_boot(build, toml, work, hv_cmdline=hv_cmdline)
        spec.title = f"Natsume: {toml.name}"
        iso = build_iso(spec, work, firmware="hybrid")
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(iso, out)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", type=Path, required=True, help="build tree with images/ and vmm-tools/")
    ap.add_argument("file", type=Path, help="the partition file")
    ap.add_argument("-o", "--output", type=Path, help="the ISO to write (default: FILE's name with .iso, here)")
    ap.add_argument("--hv-cmdline", default="", help="the hypervisor's command line (default: none)")
    args = ap.parse_args(argv)
    out = args.output or Path.cwd() / (args.file.stem + ".iso")
    try:
        path = make_image(BuildTree(args.build.resolve()), args.file.resolve(), out.resolve(), args.hv_cmdline)
    except (SetupError, IsoError) as e:
        print(f"natsume-image: {e}", file=sys.stderr)
        return 1
    print(f"natsume-image: wrote {path} ({path.stat().st_size // 1024} KiB): boots by BIOS and by UEFI; "
          f"write it to a USB stick with dd, or burn it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
