"""Bochs 2.7 runner (Debian's bochs-bin, which has the internal debugger
compiled in and no `nogui` display)."""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from .runner import RunResult, run_following_serial

BOCHS_BIN = "/usr/bin/bochs-bin"
BIOS = "/usr/share/bochs/BIOS-bochs-latest"
VGABIOS = "/usr/share/bochs/VGABIOS-lgpl-latest"

# Short names used by tests and the command line, and the Bochs model each means.
CPU_MODELS = {
    "nehalem": "corei5_lynnfield_750",   # no unrestricted guest, no x2APIC (Core i7 920 class)
    "skylake": "corei7_skylake_x",       # unrestricted guest, x2APIC, APIC virtualization
}
DEFAULT_CPU = "corei5_lynnfield_750"
DEFAULT_CPUS = 3
# At 10 M ips the BIOS's ~3 emulated-second boot delay costs little wall time,
# which matters most with several emulated CPUs sharing one host thread.
DEFAULT_IPS = 10_000_000
# Fixed start time: with sync=none the whole run is deterministic.
TIME0 = 946684800


def resolve_cpu(name: str) -> str:
    """Accepts a short name (nehalem, skylake) or a Bochs model name."""
    if name in CPU_MODELS:
        return CPU_MODELS[name]
    if name in CPU_MODELS.values():
        return name
    raise ValueError(f"unknown CPU model '{name}' (use one of: "
                     f"{', '.join(list(CPU_MODELS) + list(CPU_MODELS.values()))})")


@dataclass
class BochsConfig:
    iso: Path
    work_dir: Path
    cpu_model: str = DEFAULT_CPU
    cpus: int = DEFAULT_CPUS
    ips: int = DEFAULT_IPS
    megs: int = 256

    @property
    def serial_path(self) -> Path:
        return self.work_dir / "serial.log"

    @property
    def log_path(self) -> Path:
        return self.work_dir / "bochs.log"


def bochsrc(cfg: BochsConfig) -> str:
    # Every log class reports and continues: "ask" would stop at a prompt and
    # "fatal" would drop into the built-in debugger. The harness decides
    # pass/fail from the serial log, and quotes the error/panic lines.
    return "\n".join([
        f"megs: {cfg.megs}",
        f"romimage: file={BIOS}",
        f"vgaromimage: file={VGABIOS}",
        f"cpu: model={cfg.cpu_model}, count={cfg.cpus}, ips={cfg.ips}, reset_on_triple_fault=1",
        "pci: enabled=1, chipset=i440fx",
        f"clock: sync=none, time0={TIME0}",
        "display_library: term",
        f"ata0-master: type=cdrom, path={cfg.iso}, status=inserted",
        "boot: cdrom",
        f"com1: enabled=1, mode=file, dev={cfg.serial_path}",
        "port_e9_hack: enabled=1",
        "mouse: enabled=0",
        f"log: {cfg.log_path}",
        "debug: action=ignore",
        "info: action=report",
        "error: action=report",
        "panic: action=report",
        "",
    ])


def run_bochs(cfg: BochsConfig, end_regex: Optional[str], timeout: float,
              on_line: Optional[Callable[[str], None]] = None,
              on_idle: Optional[Callable[[float], None]] = None) -> RunResult:
    cfg.work_dir.mkdir(parents=True, exist_ok=True)
    rc = cfg.work_dir / "bochsrc.txt"
    rc.write_text(bochsrc(cfg))
    # The debugger reads these before taking input: continue, then quit when
    # the simulation stops, so it never waits at its prompt.
    cmds = cfg.work_dir / "bochs-cmds.txt"
    cmds.write_text("c\nquit\n")
    if cfg.log_path.exists():
        cfg.log_path.unlink()
    cmd = [BOCHS_BIN, "-q", "-f", str(rc), "-rc", str(cmds)]
    result = run_following_serial(cmd, cfg.serial_path, cfg.work_dir / "bochs.out",
                                  end_regex, timeout, on_line, cwd=cfg.work_dir,
                                  on_idle=on_idle)
    result.files["bochs_log"] = cfg.log_path
    result.files["bochsrc"] = rc
    return result


# Bochs log lines look like "00069795311e[CPU0  ] message"; the letter after
# the tick count is the level (d, i, e, p).
_DIAG = re.compile(r"^\d+[ep]\[")


def diagnostic_lines(log_path: Path, limit: int = 40) -> list:
    """The Bochs log's error/panic lines (they name failed VM-entry checks)."""
    try:
        text = log_path.read_text(errors="replace")
    except FileNotFoundError:
        return []
    hits = [l for l in text.splitlines() if _DIAG.search(l)]
    return hits[-limit:]
