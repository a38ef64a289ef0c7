"""QEMU runners: TCG (VT-d, PCI/ACPI discovery and native boots; TCG has no
VMX) and nested KVM (everything together, only where the host allows it)."""

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from .runner import RunResult, run_following_serial

QEMU_BIN = "/usr/bin/qemu-system-x86_64"
# Debian's OVMF: the firmware, read-only, and a template of its variable store.
OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")
DEBUG_EXIT = ["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]

# linux/kvm.h: _IO(KVMIO = 0xAE, 0x00) and _IO(KVMIO, 0x01)
KVM_GET_API_VERSION = 0xAE00
KVM_CREATE_VM = 0xAE01
KVM_API_VERSION = 12


@dataclass
class QemuConfig:
    iso: Path
    work_dir: Path
    mem_mb: int = 512
    cpus: int = 2
    pci_devices: tuple = ()   # bochs.PciDevice; only e1000 has a QEMU twin
    # UEFI: the OVMF pflash pair (uefi_args) and an EFI system partition
    # folder booted as a FAT disk instead of the ISO (natsume.efi's own path).
    esp: Optional[Path] = None

    @property
    def serial_path(self) -> Path:
        return self.work_dir / "serial.log"


# Bochs vnet's defaults (/usr/share/doc/bochs/vnet.conf).
VNET_NET = "192.168.10.0/24"
VNET_HOST = "192.168.10.1"


class QemuConfigError(ValueError):
    pass


def uefi_args(work_dir: Path) -> list:
    """OVMF as the machine's firmware: its code read-only and a private copy
    of the variable store in the run's work directory."""
    import shutil
    for f in (OVMF_CODE, OVMF_VARS):
        if not f.is_file():
            raise QemuConfigError(f"OVMF firmware not found: {f} (Debian: ovmf)")
    vars_copy = work_dir / "ovmf-vars.fd"
    shutil.copyfile(OVMF_VARS, vars_copy)
    return ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
            "-drive", f"if=pflash,format=raw,unit=1,file={vars_copy}"]


def device_args(devices) -> list:
    """QEMU's e1000 (82540EM, the same 8086:100e as Bochs') at the BDF the
    Bochs slot would give it. vnet becomes user-mode networking restricted to
    the emulated LAN and addressed like Bochs' vnet (virtual host 192.168.10.1
    answering ARP and ICMP echo), so one guest test works on both; nothing
    leaves the machine. null becomes an unconnected hub port."""
    args = []
    for i, d in enumerate(sorted(devices, key=lambda d: d.slot)):
        if d.kind != "e1000":
            raise QemuConfigError(f"QEMU has no '{d.kind}' model (only e1000 is mirrored)")
        net = f"net{i}"
        backend = f"user,id={net},restrict=on,net={VNET_NET},host={VNET_HOST}" if d.ethmod == "vnet" else f"hubport,id={net},hubid={i}"
        args += ["-netdev", backend,
                 "-device", f"e1000,netdev={net},mac={d.mac_address},addr={d.slot + 1:#x}"]
    return args


def media_args(cfg: QemuConfig) -> list:
    """The firmware and the boot medium: SeaBIOS and the ISO, or OVMF and the ESP folder."""
    if cfg.esp is None:
        return ["-cdrom", str(cfg.iso)]
    return [*uefi_args(cfg.work_dir), "-drive", f"format=raw,file=fat:rw:{cfg.esp}"]


def tcg_args(cfg: QemuConfig) -> list:
    return [QEMU_BIN, "-accel", "tcg", "-M", "q35", "-cpu", "max",
            "-smp", str(cfg.cpus), "-m", str(cfg.mem_mb),
            "-device", "intel-iommu,intremap=on", *device_args(cfg.pci_devices),
            *media_args(cfg), "-serial", f"file:{cfg.serial_path}",
            "-display", "none", "-no-reboot", *DEBUG_EXIT]


def kvm_args(cfg: QemuConfig) -> list:
    # kernel-irqchip=split: interrupt remapping needs the IOAPIC in QEMU;
    # caching-mode=on: the vIOMMU must see every mapping change.
    return [QEMU_BIN, "-enable-kvm", "-cpu", "host,+vmx",
            "-M", "q35,kernel-irqchip=split", "-smp", str(cfg.cpus),
            "-m", str(cfg.mem_mb),
            "-device", "intel-iommu,intremap=on,caching-mode=on", *device_args(cfg.pci_devices),
            *media_args(cfg), "-serial", f"file:{cfg.serial_path}",
            "-display", "none", "-no-reboot", *DEBUG_EXIT]


def debug_exit_code(returncode: Optional[int]) -> Optional[int]:
    """isa-debug-exit makes QEMU exit with (value << 1) | 1; returns value."""
    if returncode is None or returncode < 0 or not (returncode & 1):
        return None
    return returncode >> 1


def nested_kvm_unavailable(dev: str = "/dev/kvm", cpuinfo: str = "/proc/cpuinfo") -> Optional[str]:
    """None when nested VMX under KVM can run here, else the reason it cannot."""
    try:
        fd = os.open(dev, os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return f"{dev} is not usable ({e.strerror})"
    try:
        if fcntl.ioctl(fd, KVM_GET_API_VERSION) != KVM_API_VERSION:
            return f"{dev} speaks an unexpected KVM API version"
        vm = fcntl.ioctl(fd, KVM_CREATE_VM, 0)
        os.close(vm)
    except OSError as e:
        return f"{dev} cannot create a VM ({e.strerror})"
    finally:
        os.close(fd)
    try:
        flags = Path(cpuinfo).read_text()
    except OSError as e:
        return f"cannot read {cpuinfo} ({e.strerror})"
    has_vmx = any(line.startswith("flags") and "vmx" in line.split()
                  for line in flags.splitlines())
    if not has_vmx:
        return ("the host CPU does not expose VMX (no 'vmx' flag in /proc/cpuinfo), "
                "so KVM cannot offer nested VT-x to a guest hypervisor")
    return None


def run_qemu(cfg: QemuConfig, end_regex: Optional[str], timeout: float,
             on_line: Optional[Callable[[str], None]] = None,
             kvm: bool = False,
             on_idle: Optional[Callable[[float], None]] = None) -> RunResult:
    cfg.work_dir.mkdir(parents=True, exist_ok=True)
    cmd = kvm_args(cfg) if kvm else tcg_args(cfg)
    (cfg.work_dir / "qemu-cmdline.txt").write_text(" ".join(cmd) + "\n")
    return run_following_serial(cmd, cfg.serial_path, cfg.work_dir / "qemu.out",
                                end_regex, timeout, on_line, cwd=cfg.work_dir,
                                on_idle=on_idle)
