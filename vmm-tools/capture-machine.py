#!/usr/bin/env python3
"""Captures the files `natsume-config probe` reads from a real Linux boot in an
emulator, as a tree under OUT that `probe --root OUT` reads (docs/probe.md).

  vmm-tools/capture-machine.py qemu-q35-iommu -o tests/probe-trees/qemu-q35-iommu
  vmm-tools/capture-machine.py bochs-i440fx  -o tests/probe-trees/bochs-i440fx

It boots Debian's generic kernel (linux-image-amd64, fetched with `apt-get
download` into --cache and unpacked with `dpkg-deb -x`, never installed) with
a busybox-static initramfs whose /init (vmm-tools/capture/init) copies the
files and prints them on the serial console as base64 of a gzipped tar
between marker lines. This script decodes that, writes the tree and a
CAPTURE.md saying how it was made. Only the tree goes into the repository;
the kernel and the initramfs stay in the cache.
"""

import argparse
import base64
import io
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
INIT = HERE / "capture" / "init"
BUSYBOX = Path("/bin/busybox")
BEGIN, END = "===NATSUME-TREE-BEGIN===", "===NATSUME-TREE-END==="
KERNEL_ARGS = "console=ttyS0,115200 quiet loglevel=0 panic=-1"

# Each machine: how to boot it and what it is meant to show.
MACHINES = {
    "qemu-q35-iommu": {
        "timeout": 300,
        "describe": "QEMU TCG q35, intel-iommu with interrupt remapping, 2 cores x 2 threads, 1 GiB, "
                    "e1000 and edu on bus 0, an e1000e behind a PCIe root port, ICH9 AHCI built in",
        "append": "intel_iommu=on",
    },
    "bochs-i440fx": {
        "timeout": 2400,
        "describe": "Bochs 2.7 i440FX (no DMAR), corei5_lynnfield_750 (Nehalem), 2 CPUs, 256 MiB, "
                    "slot1=e1000, slot2=pcipnic",
        "append": "",
    },
}


def die(msg: str) -> None:
    print(f"capture-machine: error: {msg}", file=sys.stderr)
    sys.exit(1)


def run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)


def kernel_package() -> str:
    """The versioned image package linux-image-amd64 depends on."""
    out = run(["apt-cache", "depends", "linux-image-amd64"]).stdout
    m = re.search(r"Depends: (linux-image-[0-9][^\s]*-amd64)", out)
    if not m:
        die("apt-cache depends linux-image-amd64 names no linux-image-*-amd64 (run apt-get update)")
    return m.group(1)


def fetch_kernel(cache: Path) -> Path:
    """Downloads and unpacks the kernel once; returns its vmlinuz."""
    pkg = kernel_package()
    root = cache / pkg
    found = sorted((root / "boot").glob("vmlinuz-*")) if root.is_dir() else []
    if found:
        return found[0]
    cache.mkdir(parents=True, exist_ok=True)
    print(f"capture-machine: apt-get download {pkg} into {cache}")
    run(["apt-get", "download", pkg], cwd=cache)
    debs = sorted(cache.glob(f"{pkg}_*.deb"))
    if not debs:
        die(f"apt-get download {pkg} left no .deb in {cache}")
    run(["dpkg-deb", "-x", str(debs[-1]), str(root)])
    found = sorted((root / "boot").glob("vmlinuz-*"))
    if not found:
        die(f"{debs[-1]} has no boot/vmlinuz-*")
    return found[0]


def build_initramfs(work: Path) -> Path:
    if not BUSYBOX.is_file():
        die("/bin/busybox not found: apt-get install busybox-static")
    if not shutil.which("cpio"):
        die("cpio not found: apt-get install cpio")
    root = work / "initramfs"
    if root.exists():
        shutil.rmtree(root)
    (root / "bin").mkdir(parents=True)
    shutil.copy2(BUSYBOX, root / "bin" / "busybox")
    shutil.copy2(INIT, root / "init")
    (root / "init").chmod(0o755)
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    out = work / "initramfs.cpio"
    with open(out, "wb") as f:
        subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], input="\n".join(files).encode() + b"\n",
                       stdout=f, cwd=root, check=True)
    return out


def qemu_command(kernel: Path, initrd: Path, serial: Path, append: str) -> list:
    return ["qemu-system-x86_64", "-accel", "tcg", "-M", "q35", "-cpu", "Nehalem",
            "-smp", "4,sockets=1,cores=2,threads=2", "-m", "1024",
            "-device", "intel-iommu,intremap=on",
            "-device", "e1000", "-device", "edu",
            "-device", "pcie-root-port,id=rp1,chassis=1,slot=1", "-device", "e1000e,bus=rp1",
            "-kernel", str(kernel), "-initrd", str(initrd), "-append", f"{KERNEL_ARGS} {append}".strip(),
            "-serial", f"file:{serial}", "-display", "none", "-no-reboot", "-nodefaults"]


def grub_iso(kernel: Path, initrd: Path, work: Path, append: str) -> Path:
    """A BIOS-only GRUB ISO booting the kernel (Bochs has no -kernel)."""
    root = work / "iso-root"
    if root.exists():
        shutil.rmtree(root)
    (root / "boot" / "grub").mkdir(parents=True)
    shutil.copyfile(kernel, root / "boot" / "vmlinuz")
    shutil.copyfile(initrd, root / "boot" / "initrd")
    (root / "boot" / "grub" / "grub.cfg").write_text("\n".join([
        "serial --unit=0 --speed=115200", "terminal_input serial", "terminal_output serial",
        "set timeout=0", 'menuentry "capture" {',
        f"  linux /boot/vmlinuz {KERNEL_ARGS} {append}".rstrip(), "  initrd /boot/initrd", "}", ""]))
    iso = work / "capture.iso"
    run(["grub-mkrescue", "-d", "/usr/lib/grub/i386-pc",
         "--install-modules=linux normal serial terminal configfile iso9660 biosdisk boot echo",
         "--locales=", "--fonts=", "--themes=", "-o", str(iso), str(root)])
    return iso


def bochs_command(iso: Path, serial: Path, work: Path) -> list:
    """The project's working Bochs configuration (qemu/natsume_emu/bochs.py),
    with Linux's needs: 2 CPUs, 256 MiB, an e1000 and the pseudo NIC."""
    rc = work / "bochsrc.txt"
    rc.write_text("\n".join([
        "megs: 256",
        "romimage: file=/usr/share/bochs/BIOS-bochs-latest",
        "vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest",
        "cpu: model=corei5_lynnfield_750, count=2, ips=10000000, reset_on_triple_fault=1",
        "pci: enabled=1, chipset=i440fx, slot1=e1000, slot2=pcipnic",
        "e1000: card=0, enabled=1, mac=52:54:00:12:34:51, ethmod=null",
        "pcipnic: enabled=1, mac=52:54:00:12:34:52, ethmod=null",
        "clock: sync=none, time0=946684800",
        "display_library: term",
        f"ata0-master: type=cdrom, path={iso}, status=inserted",
        "boot: cdrom",
        f"com1: enabled=1, mode=file, dev={serial}",
        "mouse: enabled=0",
        f"log: {work / 'bochs.log'}",
        "debug: action=ignore", "info: action=report", "error: action=report", "panic: action=report", ""]))
    cmds = work / "bochs-cmds.txt"
    cmds.write_text("c\nquit\n")
    return ["bochs-bin", "-q", "-f", str(rc), "-rc", str(cmds)]


def follow(cmd: list, serial: Path, work: Path, timeout: float) -> str:
    """Runs the emulator until the end marker is on the serial log."""
    if serial.exists():
        serial.unlink()
    start = time.monotonic()
    with open(work / "emulator.out", "wb") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                cwd=work, start_new_session=True)
    try:
        while time.monotonic() - start < timeout:
            text = serial.read_text(errors="replace") if serial.exists() else ""
            if END in text or proc.poll() is not None:
                return text
            time.sleep(1)
        die(f"no end marker after {timeout} s (serial log: {serial})")
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        print(f"capture-machine: emulator ran {time.monotonic() - start:.0f} s")
    return ""


def decode_tree(serial_text: str) -> bytes:
    if BEGIN not in serial_text or END not in serial_text:
        die("the serial log has no complete tree between the markers (did the kernel boot?)")
    body = serial_text.split(BEGIN, 1)[1].split(END, 1)[0]
    # Only base64 lines: a kernel message interleaved on the console is dropped.
    lines = [l.strip() for l in body.splitlines() if re.fullmatch(r"[A-Za-z0-9+/=]+", l.strip())]
    return base64.b64decode("".join(lines))


def write_tree(data: bytes, out: Path) -> str:
    """Unpacks the tar into out (replacing it); returns the guest's uname -r."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for m in tar.getmembers():
            if not (m.isdir() or m.isfile()) or m.name.startswith("/") or ".." in Path(m.name).parts:
                die(f"unexpected tar member {m.name}")
        tar.extractall(out)
    release = out / "kernel-release"
    text = release.read_text().strip() if release.exists() else "unknown"
    release.unlink(missing_ok=True)
    return text


def emulator_version(name: str) -> str:
    if name.startswith("qemu"):
        return run(["qemu-system-x86_64", "--version"]).stdout.splitlines()[0]
    out = run(["dpkg-query", "-W", "-f=${Version}", "bochs"]).stdout
    return f"Bochs (Debian package bochs {out})"


def write_notes(out: Path, shown: str, name: str, cmd: list, release: str) -> None:
    m = MACHINES[name]
    (out / "CAPTURE.md").write_text("\n".join([
        f"# {name}: captured from a real Linux boot",
        "",
        f"Machine: {m['describe']}.",
        f"Emulator: {emulator_version(name)}.",
        f"Kernel: Debian {release} (linux-image-amd64, unpacked, not installed), busybox-static initramfs",
        "with vmm-tools/capture/init. Made by:",
        "",
        f"    vmm-tools/capture-machine.py {name} -o {shown}",
        "",
        "Emulator command line:",
        "",
        "    " + " ".join(cmd),
        "",
        *config_notes(cmd),
        "Every file here was written by the guest (sysfs, procfs); the format is in docs/probe.md.",
        ""]))


def config_notes(cmd: list) -> list:
    """The emulator's configuration file, where it has one (Bochs)."""
    if "-f" not in cmd:
        return []
    rc = Path(cmd[cmd.index("-f") + 1])
    return ["bochsrc (paths are the capture's work files):", "",
            *("    " + line for line in rc.read_text().splitlines()), ""]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("machine", choices=sorted(MACHINES))
    ap.add_argument("-o", "--out", type=Path, required=True, help="tree to write (replaced)")
    ap.add_argument("--cache", type=Path, default=Path("/work/cache/capture"),
                    help="kernel download and work files, outside the repository")
    args = ap.parse_args()
    m = MACHINES[args.machine]
    kernel = fetch_kernel(args.cache)
    work = args.cache / f"run-{args.machine}"
    work.mkdir(parents=True, exist_ok=True)
    initrd = build_initramfs(work)
    serial = work / "serial.log"
    if args.machine.startswith("qemu"):
        cmd = qemu_command(kernel, initrd, serial, m["append"])
    else:
        cmd = bochs_command(grub_iso(kernel, initrd, work, m["append"]), serial, work)
    print(f"capture-machine: booting {kernel.name} on {args.machine} (timeout {m['timeout']} s)")
    release = write_tree(decode_tree(follow(cmd, serial, work, m["timeout"])), args.out)
    write_notes(args.out, str(args.out), args.machine, cmd, release)
    print(f"capture-machine: wrote {args.out}")


if __name__ == "__main__":
    main()
