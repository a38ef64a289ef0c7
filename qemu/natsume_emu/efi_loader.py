"""The EFI system partition that Natsume's own loader (natsume.efi) boots from.

natsume.efi reads `natsume.cfg` from the directory it was loaded from (so
\\EFI\\BOOT\\ when it is the default boot file BOOTX64.EFI). The file names
the hypervisor, its command line and the multiboot2 modules, one per line
(docs/real-hardware.md, "The loader file"):

    # comment
    hypervisor /natsume/hypervisor.elf
    cmdline console-level=info
    module /natsume/natsume-config.bin natsume-config
    module /natsume/rt0.elf rt0

Paths are absolute on the loader's own volume ('/' or '\\' separators); the
words after a module's path are its multiboot2 command line, whose first word
is the name the hypervisor looks it up by."""

import shutil
from pathlib import Path

from .iso import BootSpec, IsoError

LOADER_CFG = "natsume.cfg"
FILES_DIR = "natsume"            # \natsume\ on the ESP holds the boot files
DEFAULT_BOOT = ("EFI", "BOOT", "BOOTX64.EFI")


def loader_cfg(spec: BootSpec) -> str:
    lines = [f"# {spec.title}: read by natsume.efi",
             f"hypervisor /{FILES_DIR}/{spec.kernel.name}"]
    if spec.cmdline:
        lines.append(f"cmdline {spec.cmdline}")
    for m in spec.modules:
        lines.append(f"module /{FILES_DIR}/{m.name} {m.cmdline}".rstrip())
    return "\n".join(lines) + "\n"


def esp_tree(spec: BootSpec, loader: Path, root: Path) -> Path:
    """Lays out an ESP in directory `root`: natsume.efi as the default boot
    file, its loader file beside it, the boot files under /natsume. Returns
    `root`."""
    if not loader.is_file():
        raise IsoError(f"natsume.efi not found: {loader} (it is built with the hypervisor; needs gnu-efi)")
    for f in [spec.kernel] + [m.source for m in spec.modules]:
        if not f.is_file():
            raise IsoError(f"boot file not found: {f}")
    if root.exists():
        shutil.rmtree(root)
    boot_dir = root.joinpath(*DEFAULT_BOOT[:-1])
    boot_dir.mkdir(parents=True)
    shutil.copyfile(loader, boot_dir / DEFAULT_BOOT[-1])
    (boot_dir / LOADER_CFG).write_text(loader_cfg(spec))
    files = root / FILES_DIR
    files.mkdir()
    shutil.copyfile(spec.kernel, files / spec.kernel.name)
    for m in spec.modules:
        shutil.copyfile(m.source, files / m.name)
    return root
