"""Bochs 2.7 runner (Debian's bochs-bin, which has the internal debugger
compiled in and no `nogui` display)."""

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from . import disk
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


# PCI device models the harness can put into Bochs' i440FX slots.
PCI_KINDS = ("e1000", "pcipnic")
# Network backends: vnet is Bochs' built-in virtual host (192.168.10.1) that
# answers ARP and ICMP echo, so a guest driver can prove send and receive;
# null drops every frame (the device still works, nothing answers); socket
# carries frames as UDP datagrams on 127.0.0.1 (received on `port`, sent to
# port + 1), the way the harness's flooder (flood.py) reaches a NIC;
# tuntap attaches the card to a persistent tap device named by `ethdev`
# (ethdev=/dev/net/tun:NAME), a real Ethernet link to the host's network stack:
# the tap lives in a network namespace of its own (netpeer.py) and Bochs runs
# inside it (BochsConfig.netns).
ETHMODS = ("vnet", "null", "socket", "tuntap")
TUN_DEVICE = "/dev/net/tun"
# i440FX slots 1..5; slotN is PCI device N+1 on bus 0.
PCI_SLOTS = range(1, 6)
# Bochs 2.7 configures up to 4 e1000 cards (card=0..3).
MAX_E1000 = 4


@dataclass(frozen=True)
class PciDevice:
    """One device in a Bochs PCI slot."""
    kind: str                 # one of PCI_KINDS
    slot: int                 # 1..5
    ethmod: str = "vnet"      # one of ETHMODS
    mac: str = ""             # default: derived from the slot
    port: int = 0             # socket: the UDP port Bochs receives frames on
    ethdev: str = ""          # tuntap: the tap device's name (in the namespace Bochs runs in)

    @property
    def bdf(self) -> str:
        return f"00:{self.slot + 1:02x}.0"

    @property
    def mac_address(self) -> str:
        # Locally administered unicast (52:54:00 as QEMU uses), unique per slot.
        return self.mac or f"52:54:00:12:34:{0x50 + self.slot:02x}"


class BochsConfigError(ValueError):
    pass


def parse_pci_device(text: str) -> PciDevice:
    """KIND@SLOT[:BACKEND], e.g. "e1000@1:vnet" (the command-line form)."""
    kind, at, rest = text.partition("@")
    slot, _, ethmod = rest.partition(":")
    if not at or not slot.isdigit():
        raise BochsConfigError(f"PCI device '{text}': expected KIND@SLOT[:BACKEND], e.g. e1000@1:vnet")
    dev = PciDevice(kind, int(slot), ethmod or "vnet")
    check_pci((dev,))
    return dev


@dataclass
class BochsConfig:
    iso: Path
    work_dir: Path
    cpu_model: str = DEFAULT_CPU
    cpus: int = DEFAULT_CPUS
    ips: int = DEFAULT_IPS
    megs: int = 256
    pci_devices: tuple = ()   # PciDevice, at most one per slot
    disk_mib: int = 0         # > 0: a pattern disk of this size on the secondary IDE master (disk.py)
    netns: str = ""           # non-empty: Bochs runs in this network namespace (ip netns exec)

    @property
    def serial_path(self) -> Path:
        return self.work_dir / "serial.log"

    @property
    def log_path(self) -> Path:
        return self.work_dir / "bochs.log"


def check_pci(devices) -> None:
    slots = [d.slot for d in devices]
    for d in devices:
        if d.kind not in PCI_KINDS:
            raise BochsConfigError(f"unknown PCI device '{d.kind}' (known: {', '.join(PCI_KINDS)})")
        if d.slot not in PCI_SLOTS:
            raise BochsConfigError(f"PCI slot {d.slot} out of range 1..5")
        if d.ethmod not in ETHMODS:
            raise BochsConfigError(f"unknown network backend '{d.ethmod}' (known: {', '.join(ETHMODS)})")
        if d.ethmod == "socket" and not 0 < d.port < 65535:
            raise BochsConfigError(f"PCI slot {d.slot}: the socket backend needs a UDP port (1..65534)")
        if d.ethmod == "tuntap" and not re.fullmatch(r"[A-Za-z0-9_.-]{1,15}", d.ethdev):
            raise BochsConfigError(f"PCI slot {d.slot}: the tuntap backend needs a tap device name "
                                   f"(ethdev, 1-15 of A-Z a-z 0-9 _ . -), not '{d.ethdev}'")
        if slots.count(d.slot) > 1:
            raise BochsConfigError(f"two devices in PCI slot {d.slot}")
    if sum(d.kind == "e1000" for d in devices) > MAX_E1000:
        raise BochsConfigError(f"Bochs has at most {MAX_E1000} e1000 cards")
    if sum(d.kind == "pcipnic" for d in devices) > 1:
        raise BochsConfigError("Bochs has one pcipnic")


def net_dir(cfg: BochsConfig) -> Path:
    """vnet's FTP/TFTP root: an empty directory inside the run's work dir."""
    return cfg.work_dir / "vnet-root"


def pci_lines(cfg: BochsConfig) -> list:
    check_pci(cfg.pci_devices)
    devices = sorted(cfg.pci_devices, key=lambda d: d.slot)
    slots = "".join(f", slot{d.slot}={d.kind}" for d in devices)
    lines = [f"pci: enabled=1, chipset=i440fx{slots}"]
    card = 0
    for d in devices:
        backend = f"ethmod={d.ethmod}"
        if d.ethmod == "vnet":
            backend += f", ethdev={net_dir(cfg)}"
        elif d.ethmod == "socket":
            backend += f", ethdev={d.port}"   # Bochs: a bare port means localhost
        elif d.ethmod == "tuntap":
            backend += f", ethdev={TUN_DEVICE}:{d.ethdev}"   # Bochs opens the persistent tap NAME
        if d.kind == "e1000":
            # e1000 cards are numbered in slot order.
            lines.append(f"e1000: card={card}, enabled=1, mac={d.mac_address}, {backend}")
            card += 1
        else:
            lines.append(f"pcipnic: enabled=1, mac={d.mac_address}, {backend}")
    return lines


def disk_path(cfg: BochsConfig) -> Path:
    return cfg.work_dir / "disk.img"


def disk_lines(cfg: BochsConfig) -> list:
    """The secondary channel (ports 0x170/0x376, ISA line 15) with the pattern disk as master."""
    if cfg.disk_mib <= 0:
        return []
    return ["ata1: enabled=1, ioaddr1=0x170, ioaddr2=0x370, irq=15",
            f"ata1-master: type=disk, path={disk_path(cfg)}, mode=flat, "
            f"cylinders={disk.cylinders_for(cfg.disk_mib)}, heads={disk.HEADS}, spt={disk.SPT}"]


def bochsrc(cfg: BochsConfig) -> str:
    # Every log class reports and continues: "ask" would stop at a prompt and
    # "fatal" would drop into the built-in debugger. The harness decides
    # pass/fail from the serial log, and quotes the error/panic lines.
    return "\n".join([
        f"megs: {cfg.megs}",
        f"romimage: file={BIOS}",
        f"vgaromimage: file={VGABIOS}",
        f"cpu: model={cfg.cpu_model}, count={cfg.cpus}, ips={cfg.ips}, reset_on_triple_fault=1",
        *pci_lines(cfg),
        f"clock: sync=none, time0={TIME0}",
        "display_library: term",
        f"ata0-master: type=cdrom, path={cfg.iso}, status=inserted",
        *disk_lines(cfg),
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


def netns_prefix(netns: str) -> list:
    """The command prefix that starts a program in network namespace netns
    (ip netns exec execs it: it keeps the process group the runner kills)."""
    if not netns:
        return []
    ip = shutil.which("ip", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))
    return [ip or "ip", "netns", "exec", netns]


def run_bochs(cfg: BochsConfig, end_regex: Optional[str], timeout: float,
              on_line: Optional[Callable[[str], None]] = None,
              on_idle: Optional[Callable[[float], None]] = None) -> RunResult:
    cfg.work_dir.mkdir(parents=True, exist_ok=True)
    if cfg.disk_mib > 0:
        disk.make_pattern_disk(disk_path(cfg), cfg.disk_mib)
    if any(d.ethmod == "vnet" for d in cfg.pci_devices):
        net_dir(cfg).mkdir(exist_ok=True)
    rc = cfg.work_dir / "bochsrc.txt"
    rc.write_text(bochsrc(cfg))
    # The debugger reads these before taking input: continue, then quit when
    # the simulation stops, so it never waits at its prompt.
    cmds = cfg.work_dir / "bochs-cmds.txt"
    cmds.write_text("c\nquit\n")
    if cfg.log_path.exists():
        cfg.log_path.unlink()
    cmd = netns_prefix(cfg.netns) + [BOCHS_BIN, "-q", "-f", str(rc), "-rc", str(cmds)]
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
