"""The Linux guest image (build/images/linux, built by vmm-tools/linux) booted
natively: QEMU TCG with -kernel/-initrd, or Bochs from a GRUB ISO. The image's
/init prints "natsume-linux: ..." marker lines (docs/linux.md, "The guest image").

By hand, from the repository's qemu/ folder:

    /usr/bin/python3 -m natsume_emu.linux --build ../build qemu
    /usr/bin/python3 -m natsume_emu.linux --build ../build bochs --cpu skylake
"""

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from . import bochs
from .iso import build_linux_iso
from .qemu_runner import QEMU_BIN
from .runner import RunResult, run_following_serial

# The run is over when the kernel has powered off, or cannot go on.
LINUX_END = (r"reboot: Power down|Kernel panic - not syncing|"
             r"natsume-linux: still here|natsume-linux: starting a shell")
DEFAULT_CMDLINE = "natsume.run=info natsume.shell=0"
# QEMU user networking: the guest's usual address and slirp's gateway, which
# answers ping (restrict=on keeps everything inside the emulator).
QEMU_NET = "natsume.ip=10.0.2.15/24 natsume.peer=10.0.2.2"
# Bochs vnet: the virtual host 192.168.10.1 answers ARP and ICMP echo.
BOCHS_NET = "natsume.ip=192.168.10.2/24 natsume.peer=192.168.10.1"

_INIT = re.compile(r"natsume-linux: init started \(uptime ([\d.]+) s, tsc (\d+|unavailable), "
                   r"kernel (\S+?)(?:, ([^)]*))?\)")
_STATUS = re.compile(r"natsume-linux: command exit status (\d+)")
_LOADED = re.compile(r"natsume-linux: module (\S+) loaded")
_FAILED = re.compile(r"natsume-linux: module (\S+) FAILED")
_KTIME = re.compile(r"^\[\s*(\d+\.\d+)\]")


class LinuxImageError(RuntimeError):
    pass


@dataclass
class LinuxImage:
    kernel: Path
    initrd: Path
    manifest_path: Path

    @classmethod
    def in_build(cls, build_root: Path) -> "LinuxImage":
        d = Path(build_root) / "images" / "linux"
        img = cls(d / "bzImage", d / "initramfs.cpio.gz", d / "manifest.json")
        missing = [str(p) for p in (img.kernel, img.initrd, img.manifest_path) if not p.is_file()]
        if missing:
            raise LinuxImageError("missing Linux image (build it: ninja natsume_linux_image): "
                                  + ", ".join(missing))
        return img

    def manifest(self) -> dict:
        return json.loads(self.manifest_path.read_text())


@dataclass
class LinuxBoot:
    """What the serial log says about one boot."""
    result: RunResult
    cmdline: str
    config: str                                       # the emulator configuration, in words
    marks: dict = field(default_factory=dict)         # marker -> wall seconds since start
    init_uptime: Optional[float] = None               # /proc/uptime when /init started
    init_tsc: Optional[int] = None                    # TSC (MSR 0x10) when /init started
    kernel_release: str = ""
    kernel_version: str = ""
    modules_loaded: list = field(default_factory=list)
    modules_failed: list = field(default_factory=list)
    exit_statuses: list = field(default_factory=list)
    powered_off: bool = False
    last_kernel_time: Optional[float] = None          # the last printk timestamp

    @property
    def lines(self) -> list:
        return self.result.lines

    def summary(self) -> dict:
        return {"config": self.config, "cmdline": self.cmdline, "outcome": self.result.outcome,
                "wall_s": round(self.result.elapsed, 1),
                "marks_wall_s": {k: round(v, 1) for k, v in self.marks.items()},
                "init_uptime_s": self.init_uptime, "init_tsc": self.init_tsc,
                "kernel": self.kernel_release, "kernel_version": self.kernel_version,
                "modules_loaded": len(self.modules_loaded), "modules_failed": self.modules_failed,
                "exit_statuses": self.exit_statuses, "powered_off": self.powered_off,
                "last_kernel_time_s": self.last_kernel_time}


def _parse(result: RunResult, cmdline: str, config: str, marks: dict) -> LinuxBoot:
    b = LinuxBoot(result=result, cmdline=cmdline, config=config, marks=marks)
    for line in result.lines:
        m = _INIT.search(line)
        if m:
            b.init_uptime = float(m.group(1))
            b.init_tsc = int(m.group(2)) if m.group(2).isdigit() else None
            b.kernel_release, b.kernel_version = m.group(3), m.group(4) or ""
        if (m := _LOADED.search(line)):
            b.modules_loaded.append(m.group(1))
        if (m := _FAILED.search(line)):
            b.modules_failed.append(m.group(1))
        if (m := _STATUS.search(line)):
            b.exit_statuses.append(int(m.group(1)))
        if (m := _KTIME.match(line)):
            b.last_kernel_time = float(m.group(1))
        if "natsume-linux: powering off" in line:
            b.powered_off = True
    return b


class _Marks:
    """Wall time at which each marker line first appeared."""
    KEYS = (("grub", re.compile(r"Booting `")),
            ("kernel", re.compile(r"^\[\s*0\.0+\] Linux version")),
            ("init", re.compile(r"natsume-linux: init started")),
            ("modules", re.compile(r"natsume-linux: modules: ")),
            ("poweroff", re.compile(r"natsume-linux: powering off")))

    def __init__(self, echo: Optional[Callable[[str], None]]):
        self.start = time.monotonic()
        self.marks = {}
        self.echo = echo

    def __call__(self, line: str) -> None:
        for k, rx in self.KEYS:
            if k not in self.marks and rx.search(line):
                self.marks[k] = time.monotonic() - self.start
        if self.echo:
            self.echo(line)


def qemu_args(img: LinuxImage, cmdline: str, serial_path: Path, mem_mb: int = 512,
              cpus: int = 1, e1000: bool = True, machine: str = "pc") -> list:
    """QEMU TCG booting the image directly (no firmware boot loader), serial to a file."""
    nic = ["-nic", "user,model=e1000,restrict=on"] if e1000 else ["-nic", "none"]
    return [QEMU_BIN, "-accel", "tcg", "-M", machine, "-smp", str(cpus), "-m", str(mem_mb),
            "-kernel", str(img.kernel), "-initrd", str(img.initrd),
            "-append", f"console=ttyS0,115200 {cmdline}".strip(), *nic,
            "-serial", f"file:{serial_path}", "-display", "none", "-no-reboot"]


def run_qemu_native(img: LinuxImage, work_dir: Path, cmdline: str = DEFAULT_CMDLINE,
                    timeout: float = 120, on_line: Optional[Callable[[str], None]] = None,
                    **qemu_kw) -> LinuxBoot:
    work_dir.mkdir(parents=True, exist_ok=True)
    serial = work_dir / "serial.log"
    cmd = qemu_args(img, cmdline, serial, **qemu_kw)
    (work_dir / "qemu-cmdline.txt").write_text(" ".join(cmd) + "\n")
    marks = _Marks(on_line)
    result = run_following_serial(cmd, serial, work_dir / "qemu.out", LINUX_END, timeout,
                                  marks, cwd=work_dir)
    config = (f"QEMU TCG -M {qemu_kw.get('machine', 'pc')}, {qemu_kw.get('cpus', 1)} CPU, "
              f"{qemu_kw.get('mem_mb', 512)} MiB" + (", e1000 (user net)" if qemu_kw.get("e1000", True) else ""))
    return _parse(result, cmdline, config, marks.marks)


def run_bochs_native(img: LinuxImage, work_dir: Path, cmdline: str = DEFAULT_CMDLINE,
                     cpu_model: str = bochs.DEFAULT_CPU, ips: int = bochs.DEFAULT_IPS,
                     megs: int = 512, timeout: float = 1200,
                     on_line: Optional[Callable[[str], None]] = None,
                     on_idle: Optional[Callable[[float], None]] = None) -> LinuxBoot:
    """Bochs, 1 CPU, an e1000 on slot 1 (vnet), booting the image from a GRUB ISO."""
    work_dir.mkdir(parents=True, exist_ok=True)
    full = f"console=ttyS0,115200 {cmdline}".strip()
    iso = build_linux_iso(img.kernel, img.initrd, full, work_dir, title="natsume linux native")
    cfg = bochs.BochsConfig(iso=iso, work_dir=work_dir, cpu_model=bochs.resolve_cpu(cpu_model),
                            cpus=1, ips=ips, megs=megs,
                            pci_devices=(bochs.PciDevice("e1000", 1, "vnet"),))
    marks = _Marks(on_line)
    result = bochs.run_bochs(cfg, LINUX_END, timeout, marks, on_idle)
    config = f"Bochs 2.7 {cfg.cpu_model}, 1 CPU, ips={ips}, {megs} MiB, e1000@00:02.0 (vnet), GRUB ISO"
    return _parse(result, full, config, marks.marks)


def check_boot(b: LinuxBoot, want_statuses: Optional[int] = None) -> list:
    """The failures of a boot that ran commands and powered off (empty: it passed)."""
    errors = []
    if b.init_uptime is None:
        errors.append("no 'natsume-linux: init started' line")
    if b.modules_failed:
        errors.append(f"modules failed to load: {', '.join(b.modules_failed)}")
    if not b.modules_loaded:
        errors.append("no module loaded")
    if not any("natsume-linux: modules: " in l for l in b.lines):
        errors.append("no 'natsume-linux: modules:' summary line")
    if want_statuses is not None and len(b.exit_statuses) != want_statuses:
        errors.append(f"{len(b.exit_statuses)} command exit statuses, expected {want_statuses}")
    bad = [s for s in b.exit_statuses if s != 0]
    if bad:
        errors.append(f"commands failed: exit statuses {b.exit_statuses}")
    if not b.powered_off:
        errors.append("no 'natsume-linux: powering off' line")
    if not any("reboot: Power down" in l for l in b.lines):
        errors.append("the kernel did not power down ('reboot: Power down')")
    if any("Kernel panic" in l for l in b.lines):
        errors.append("kernel panic")
    return errors


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Boot the Linux guest image natively.")
    ap.add_argument("--build", default="build", help="build tree (default: %(default)s)")
    ap.add_argument("emulator", choices=("qemu", "bochs"))
    ap.add_argument("--cpu", default=bochs.DEFAULT_CPU, help="Bochs model (nehalem, skylake or a Bochs name)")
    ap.add_argument("--ips", type=int, default=bochs.DEFAULT_IPS, help="Bochs ips (default: %(default)s)")
    ap.add_argument("--cmdline", default=None, help=f"kernel parameters after console= "
                    f"(default: '{DEFAULT_CMDLINE}' plus natsume.run=net with --net)")
    ap.add_argument("--net", action="store_true", help="also run the net script against the emulator's peer")
    ap.add_argument("--timeout", type=float, default=None)
    ap.add_argument("--quiet", action="store_true", help="do not echo the serial log")
    ap.add_argument("--json", help="write the boot summary here")
    args = ap.parse_args(argv)
    build = Path(args.build).resolve()
    img = LinuxImage.in_build(build)
    cmdline = args.cmdline
    if cmdline is None:
        cmdline = DEFAULT_CMDLINE
        if args.net:
            cmdline = ("natsume.run=info,net natsume.shell=0 "
                       + (QEMU_NET if args.emulator == "qemu" else BOCHS_NET))
    echo = None if args.quiet else (lambda l: print(l, flush=True))  # noqa: E731
    if args.emulator == "qemu":
        work = build / "runs" / "linux-native-qemu"
        b = run_qemu_native(img, work, cmdline, timeout=args.timeout or 180, on_line=echo)
    else:
        model = bochs.resolve_cpu(args.cpu)
        work = build / "runs" / f"linux-native-bochs-{model}"
        b = run_bochs_native(img, work, cmdline, cpu_model=model, ips=args.ips,
                             timeout=args.timeout or 1800, on_line=echo,
                             on_idle=lambda t: print(f"natsume-linux-boot: ... {t:.0f} s", flush=True))
    summary = b.summary()
    summary["work_dir"] = str(work)
    print(json.dumps(summary, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1) + "\n")
    errors = check_boot(b)
    for e in errors:
        print(f"natsume-linux-boot: FAIL: {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
