"""Bootable GRUB ISO images, for BIOS (i386-pc) or UEFI (x86_64-efi).

One ISO per run, built from scratch in the run's work directory: nothing is
shared between runs, so a stale image can never boot a different input."""

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

GRUB_I386_PC = Path("/usr/lib/grub/i386-pc")
GRUB_X86_64_EFI = Path("/usr/lib/grub/x86_64-efi")
# Only what a serial-console multiboot2 boot needs: ~860 KB instead of 20 MB
# for BIOS; UEFI reads the ISO's EFI system partition image (FAT, GPT or MBR).
GRUB_MODULES = "multiboot2 normal serial terminal configfile iso9660 biosdisk boot echo"
GRUB_EFI_MODULES = "multiboot2 normal serial terminal configfile iso9660 part_gpt part_msdos fat boot echo"
# hybrid: both platforms on one ISO (grub-mkrescue takes every installed one).
FIRMWARES = ("bios", "uefi", "hybrid")


class IsoError(RuntimeError):
    pass


@dataclass
class Module:
    source: Path      # file on the host
    name: str         # file name inside /boot on the ISO
    cmdline: str      # multiboot2 module command line


@dataclass
class BootSpec:
    kernel: Path                  # multiboot2 ELF loaded by GRUB
    cmdline: str = ""             # kernel command line
    modules: list = field(default_factory=list)   # list[Module]
    title: str = "natsume"


def grub_cfg(spec: BootSpec, files_dir: str = "/boot") -> str:
    """GRUB's configuration: the serial console on COM1, then multiboot2 of
    spec's kernel and modules, read from `files_dir` on GRUB's root device
    (/boot on the ISO; the disk image keeps them in /natsume on its ESP)."""
    kernel_name = spec.kernel.name
    lines = [
        "serial --unit=0 --speed=115200",
        "terminal_input serial",
        "terminal_output serial",
        "set timeout=0",
        "set default=0",
        f'menuentry "{spec.title}" {{',
        f"  multiboot2 {files_dir}/{kernel_name} {spec.cmdline}".rstrip(),
    ]
    for m in spec.modules:
        lines.append(f"  module2 {files_dir}/{m.name} {m.cmdline}".rstrip())
    lines += ["  boot", "}", ""]
    return "\n".join(lines)


def build_iso(spec: BootSpec, work_dir: Path, firmware: str = "bios") -> Path:
    """Builds work_dir/boot.iso from spec for `firmware` (bios or uefi);
    returns its path."""
    if firmware not in FIRMWARES:
        raise IsoError(f"unknown firmware '{firmware}' (known: {', '.join(FIRMWARES)})")
    if not spec.kernel.is_file():
        raise IsoError(f"kernel image not found: {spec.kernel}")
    for m in spec.modules:
        if not m.source.is_file():
            raise IsoError(f"module not found: {m.source}")
    files = [(spec.kernel, spec.kernel.name)] + [(m.source, m.name) for m in spec.modules]
    dirs = {"bios": [GRUB_I386_PC], "uefi": [GRUB_X86_64_EFI], "hybrid": [GRUB_I386_PC, GRUB_X86_64_EFI]}[firmware]
    # biosdisk exists only for i386-pc; a hybrid image boots from CD or USB without it.
    modules = GRUB_MODULES if firmware == "bios" else GRUB_EFI_MODULES
    return grub_rescue_iso(work_dir, "iso-root", "boot.iso", files, grub_cfg(spec), dirs, modules)


def grub_rescue_iso(work_dir: Path, root_name: str, iso_name: str, files: list, cfg: str, dirs: list,
                    modules: str) -> Path:
    """work_dir/iso_name: /boot holding `files` ((source, name) pairs) and
    /boot/grub/grub.cfg = cfg, made bootable by grub-mkrescue for the GRUB
    platform directories `dirs` with `modules` built in."""
    for d in dirs:
        if not d.is_dir():
            raise IsoError(f"GRUB for {d.name} is not installed ({d}; Debian: "
                           f"{'grub-pc-bin' if d == GRUB_I386_PC else 'grub-efi-amd64-bin'})")
    root = work_dir / root_name
    if root.exists():
        shutil.rmtree(root)
    boot = root / "boot"
    (boot / "grub").mkdir(parents=True)
    for source, name in files:
        shutil.copyfile(source, boot / name)
    (boot / "grub" / "grub.cfg").write_text(cfg)
    iso = work_dir / iso_name
    if iso.exists():
        iso.unlink()
    platform = ["-d", str(dirs[0])] if len(dirs) == 1 else []
    cmd = ["grub-mkrescue", *platform,
           f"--install-modules={modules}", "--locales=", "--fonts=",
           "--themes=", "-o", str(iso), str(root)]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if proc.returncode != 0 or not iso.is_file():
        raise IsoError("grub-mkrescue failed:\n" + proc.stdout + proc.stderr)
    return iso


# A Linux boot (bzImage + initrd) instead of multiboot2: GRUB's `linux` module.
GRUB_LINUX_MODULES = "linux normal serial terminal configfile iso9660 biosdisk boot echo"


def kernel_args(cmdline: str) -> list:
    """Splits a kernel command line into parameters the way Linux does: spaces
    separate them, a double quote toggles quoting and is dropped."""
    args, cur, quoted, have = [], [], False, False
    for c in cmdline:
        if c == '"':
            quoted, have = not quoted, True
        elif c in " \t\n" and not quoted:
            if have:
                args.append("".join(cur))
            cur, have = [], False
        else:
            cur.append(c)
            have = True
    if have:
        args.append("".join(cur))
    return args


def grub_quote(arg: str) -> str:
    """One word of GRUB's script language, taken literally."""
    return "'" + arg.replace("'", "'\\''") + "'"


def linux_grub_cfg(kernel_name: str, initrd_name: str, cmdline: str, title: str = "linux",
                   files_dir: str = "/boot") -> str:
    """GRUB's configuration for a Linux boot on the serial console. Each kernel
    parameter is quoted for GRUB (so ';' or '&&' inside natsume.sh="..." stay
    text); GRUB hands a parameter holding spaces to Linux as "PARAM", with
    backslashes before \\, ' and " (the guest's /init undoes that)."""
    params = " ".join(grub_quote(a) for a in kernel_args(cmdline))
    return "\n".join([
        "serial --unit=0 --speed=115200",
        "terminal_input serial",
        "terminal_output serial",
        "set timeout=0",
        "set default=0",
        f'menuentry "{title}" {{',
        f"  linux {files_dir}/{kernel_name} {params}".rstrip(),
        f"  initrd {files_dir}/{initrd_name}",
        "  boot",
        "}",
        "",
    ])


def build_linux_iso(kernel: Path, initrd: Path, cmdline: str, work_dir: Path,
                    title: str = "linux") -> Path:
    """Builds work_dir/linux.iso, a GRUB BIOS ISO booting kernel (a bzImage) with
    initrd and cmdline; returns its path."""
    for f, what in ((kernel, "kernel image"), (initrd, "initrd")):
        if not f.is_file():
            raise IsoError(f"{what} not found: {f}")
    return grub_rescue_iso(work_dir, "linux-iso-root", "linux.iso", [(kernel, kernel.name), (initrd, initrd.name)],
                           linux_grub_cfg(kernel.name, initrd.name, cmdline, title), [GRUB_I386_PC],
                           GRUB_LINUX_MODULES)
