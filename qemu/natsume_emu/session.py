"""One boot, end to end: inputs from a build tree, a fresh work directory
under BUILD/runs/<name>/, the ISO, the emulator, and the failure report."""

import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from . import bochs, qemu_runner
from .blob import read_blob
from .efi_loader import esp_tree
from .iso import BootSpec, Module, build_iso
from .runner import RunResult

# How a hypervisor run ends: every partition stopped, or a panic.
HYPERVISOR_END = r"natsume: all partitions stopped|natsume: PANIC"
# How a native guest-kernel run ends.
NATIVE_END = r"NATSUME-DONE pass=\d+ fail=\d+"


class SetupError(RuntimeError):
    """The run could not start: missing build output, bad config, ISO failure."""


@dataclass
class BuildTree:
    root: Path

    @property
    def images(self) -> Path:
        return self.root / "images"

    @property
    def hypervisor(self) -> Path:
        return self.images / "natsume.elf"

    @property
    def efi_loader(self) -> Path:
        return self.images / "natsume.efi"

    @property
    def guest_kernel(self) -> Path:
        return self.images / "guest-kernel.elf"

    @property
    def config_tool(self) -> Path:
        return self.root / "vmm-tools" / "natsume-config"

    def run_dir(self, name: str) -> Path:
        """A clean per-run work directory: nothing carries over between runs."""
        d = self.root / "runs" / name
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
        return d

    def require(self, *paths: Path) -> None:
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise SetupError("missing build output (build it first): " + ", ".join(missing))


def compile_config(build: BuildTree, toml: Path, work_dir: Path,
                   image_dir: Optional[Path] = None) -> Path:
    build.require(build.config_tool)
    out = work_dir / "natsume-config.bin"
    cmd = [str(build.config_tool), "compile", str(toml), "-o", str(out),
           "--image-dir", str(image_dir or build.images)]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if proc.returncode != 0 or not out.is_file():
        raise SetupError(f"natsume-config compile {toml} failed (exit {proc.returncode}):\n"
                         + proc.stdout + proc.stderr)
    return out


def image_file(build: BuildTree, image: str, image_dir: Optional[Path] = None) -> Path:
    """A module's file: <name>.elf for an ELF guest image; a Linux
    partition's kernel and initramfs are named as they are."""
    images = image_dir or build.images
    if (images / image).is_file():
        return images / image
    return images / (image if image.endswith(".elf") else image + ".elf")


def image_overlay(build: BuildTree, work_dir: Path, overrides: dict) -> Path:
    """WORK/images: the build's image directory with some files replaced
    (name -> path, e.g. a variant of linux-initramfs.cpio.gz), as symbolic
    links, so the partition file compiles against and boots the variants."""
    build.require(build.images)
    for name, path in overrides.items():
        if "/" in name or not name:
            raise SetupError(f"image override '{name}': give a file name of the image directory")
        if not Path(path).is_file():
            raise SetupError(f"image override {name}={path}: no such file")
    out = work_dir / "images"
    out.mkdir()
    for entry in sorted(build.images.iterdir()):
        if entry.name not in overrides:
            (out / entry.name).symlink_to(entry.resolve())
    for name, path in overrides.items():
        (out / name).symlink_to(Path(path).resolve())
    return out


def hypervisor_boot(build: BuildTree, toml: Path, work_dir: Path,
                    hv_cmdline: str = "emulator-exit",
                    image_overrides: Optional[dict] = None) -> BootSpec:
    """image_overrides: image name -> file used instead of the build's (image_overlay)."""
    build.require(build.hypervisor)
    image_dir = image_overlay(build, work_dir, image_overrides) if image_overrides else None
    blob_path = compile_config(build, toml, work_dir, image_dir)
    blob = read_blob(blob_path)
    modules = [Module(blob_path, "natsume-config.bin", "natsume-config")]
    for image in blob.images():
        path = image_file(build, image, image_dir)
        build.require(path)
        modules.append(Module(path, path.name, image))
    return BootSpec(kernel=build.hypervisor, cmdline=hv_cmdline, modules=modules,
                    title=f"natsume {toml.name}")


def native_boot(build: BuildTree, args: str = "") -> BootSpec:
    build.require(build.guest_kernel)
    return BootSpec(kernel=build.guest_kernel, cmdline=f"exit=1 {args}".strip(),
                    title="guest-kernel native")


@dataclass
class Emulator:
    kind: str = "bochs"                  # bochs, qemu (TCG), kvm (nested)
    cpu_model: str = bochs.DEFAULT_CPU   # Bochs only
    cpus: int = bochs.DEFAULT_CPUS
    ips: int = bochs.DEFAULT_IPS
    pci_devices: tuple = ()              # bochs.PciDevice, in Bochs slot terms
    disk_mib: int = 0                    # Bochs only: a pattern disk on the secondary IDE master
    firmware: str = "bios"               # QEMU: bios (SeaBIOS, GRUB ISO) or uefi (OVMF, natsume.efi)
    megs: int = 256                      # Bochs: emulated RAM (a Linux partition needs more)
    netns: str = ""                      # Bochs only: run it in this network namespace (netpeer.py)

    def describe(self) -> str:
        devs = "".join(f", {d.kind}@{d.bdf}" for d in self.pci_devices)
        if self.firmware == "uefi":
            devs += ", OVMF + natsume.efi"
        if self.netns:
            devs += f", in network namespace {self.netns}"
        if self.kind == "bochs":
            return f"Bochs {self.cpu_model}, {self.cpus} CPUs{devs}"
        return {"qemu": "QEMU TCG", "kvm": "QEMU nested KVM"}[self.kind] + f", {self.cpus} CPUs{devs}"


@dataclass
class Session:
    result: RunResult
    work_dir: Path
    emulator: Emulator
    diagnostics: list = field(default_factory=list)   # emulator log error lines

    @property
    def lines(self) -> list:
        return self.result.lines


def say(msg: str) -> None:
    print(f"natsume-run: {msg}", flush=True)


def boot(spec: BootSpec, work_dir: Path, emu: Emulator, end_regex: Optional[str],
         timeout: float, echo: bool = True) -> Session:
    """Builds the ISO and boots it. echo streams the serial log live."""
    if emu.firmware == "uefi":
        if emu.kind == "bochs":
            raise SetupError("Bochs has no UEFI firmware here: boot UEFI on QEMU (--emulator qemu or kvm)")
        say(f"laying out the EFI system partition in {work_dir / 'esp'}")
        iso, esp = None, esp_tree(spec, spec.kernel.parent / "natsume.efi", work_dir / "esp")
    else:
        say(f"building ISO in {work_dir}")
        iso, esp = build_iso(spec, work_dir), None
    on_line: Optional[Callable[[str], None]] = None
    if echo:
        on_line = lambda line: print(line, flush=True)  # noqa: E731
    on_idle = lambda t: say(f"... still running ({t:.0f} s)")  # noqa: E731
    if emu.netns and emu.kind != "bochs":
        raise SetupError("a network-namespace peer (tuntap backend) is for Bochs runs only")
    if emu.kind == "bochs":
        where = f", in network namespace {emu.netns}" if emu.netns else ""
        say(f"booting Bochs ({emu.cpu_model}, {emu.cpus} CPUs{where}; this takes ~30 s, "
            f"timeout {timeout:.0f} s)")
        cfg = bochs.BochsConfig(iso=iso, work_dir=work_dir, cpu_model=emu.cpu_model,
                                cpus=emu.cpus, ips=emu.ips, pci_devices=tuple(emu.pci_devices),
                                disk_mib=emu.disk_mib, megs=emu.megs, netns=emu.netns)
        result = bochs.run_bochs(cfg, end_regex, timeout, on_line, on_idle)
        diag = bochs.diagnostic_lines(cfg.log_path)
    else:
        say(f"booting {emu.describe()} (timeout {timeout:.0f} s)")
        cfg = qemu_runner.QemuConfig(iso=iso, work_dir=work_dir, cpus=emu.cpus,
                                     pci_devices=tuple(emu.pci_devices), esp=esp)
        result = qemu_runner.run_qemu(cfg, end_regex, timeout, on_line,
                                      kvm=(emu.kind == "kvm"), on_idle=on_idle)
        diag = []
    say(f"run ended: {result.outcome} after {result.elapsed:.1f} s")
    return Session(result=result, work_dir=work_dir, emulator=emu, diagnostics=diag)


def print_failure_context(session: Session, tail: int = 60, out=sys.stdout) -> None:
    """The last serial lines and the emulator's error/panic log lines."""
    lines = session.lines
    print(f"---- last {min(tail, len(lines))} of {len(lines)} serial lines "
          f"({session.result.files.get('serial')}) ----", file=out)
    for line in lines[-tail:]:
        print(f"  | {line}", file=out)
    if session.diagnostics:
        print(f"---- emulator log error/panic lines ({session.result.files.get('bochs_log')}) ----",
              file=out)
        for line in session.diagnostics:
            print(f"  | {line}", file=out)
    print(f"---- work dir: {session.work_dir} ----", file=out, flush=True)
