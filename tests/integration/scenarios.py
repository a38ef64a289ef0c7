"""Every integration scenario and what its serial log must show.

The hypervisor's exact log wording may still change: each scenario keeps
its expected patterns here, in one place, and tests/integration/README.md
lists them. Paths are relative to the repository root."""

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from checks import (Banner, BenchZeroExits, GuestPassed, Line, NativeBench, NoBanner, NoLine, Note,
                    Order, ResultFields)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "qemu"))
from natsume_emu.bochs import PciDevice  # noqa: E402

PANIC = r"natsume: PANIC"
ALL_STOPPED = r"natsume: all partitions stopped"


def hypervisor_ok() -> list:
    return [NoLine(PANIC, "a hypervisor panic"),
            Line(ALL_STOPPED, "'natsume: all partitions stopped' at the end of the run")]


def partition_table_row(name: str, core: int) -> Line:
    # the table row "natsume: partition:    0 rt0      1  0x004000000-..." (columns
    # id, name, core, ram); "rt0 core 1" / "rt0 cores=[1]" are accepted too
    return Line(rf"^natsume: (?!.*stopped).*\b{name}\b\s+(?:cores?\W{{0,4}})?{core}\b",
                f"a partition-table line naming {name} with core {core}")


def partition_banner(name: str, apic_id: int) -> Banner:
    return Banner(name, {"name": name, "apic_id": apic_id, "mode": "partition"})


def rt0_unaffected() -> list:
    return [partition_banner("rt0", 1), GuestPassed("rt0")]


def linux_hostile() -> list:
    """hostile.sh (resets through 0xCF9, 0x64 and 0x92, its own reset and sleep
    ports with values that must not act, the PIC and PIT, foreign MSRs) changes
    nothing."""
    return [Line(r"^natsume: refuse: partition linux0: write to port 0xcf9 \(1 bytes\)",
                 "Linux's write to the chipset reset port refused"),
            Line(r"^\[linux0\] natsume-linux: hostile: still running after every attempt",
                 "linux0 kept running after its hostile port and MSR accesses")]


def linux_foreign_read(addr: str, cpu: int, core: int) -> list:
    """foreign.sh reads guest-physical `addr`, outside linux0's memory, on
    Linux's CPU `cpu` (the partition's core `core`): the EPT has nothing there,
    so the hypervisor stops linux0 at that access, and every core of it parks."""
    return [Line(rf"^\[linux0\] natsume-linux: foreign: reading 4 bytes at {addr} through a /dev/mem mapping on "
                 rf"CPU {cpu}", f"the foreign read began, on Linux's CPU {cpu}"),
            NoLine(r"^\[linux0\] natsume-linux: foreign: still running", "Linux read past its own memory"),
            Line(rf"^natsume: partition linux0 stopped: EPT violation: read of guest-physical address {addr} "
                 r"outside the partition's memory", "the read stopped linux0 and nothing else"),
            Line(rf"^natsume: dump: linux0: core {core}: RIP=", f"the read was on linux0's core {core}"),
            NoLine(r"^natsume: partition linux0: its core \d+ did not leave the guest",
                   "a core of linux0 still running after the stop")]


@dataclass
class Scenario:
    name: str
    kind: str                     # native, hypervisor, probe, offline
    what: str                     # one line for docs and failure output
    checks: list = field(default_factory=list)
    config: Optional[str] = None  # partition file (hypervisor) or invalid file (offline)
    guest_args: str = ""          # native: extra guest kernel arguments
    cpus: int = 3
    timeout: float = 240.0        # wall seconds for the emulator run
    slow: bool = False            # expected to take more than 60 s
    emulators: tuple = ("bochs",)
    offline_expect: Optional[str] = None   # offline: regex of the error line
    devices: tuple = ()           # PciDevice in Bochs slots (QEMU mirrors e1000 only)
    models: tuple = ()            # Bochs models (short names); empty = all
    disk_mib: int = 0             # Bochs: a pattern disk of this size on the secondary IDE master
    firmware: str = "bios"        # QEMU/KVM: bios (SeaBIOS, GRUB ISO) or uefi (OVMF, natsume.efi from an ESP)
    megs: int = 256               # Bochs: emulated RAM (a Linux partition needs more)
    # Non-empty: what the scenario waits for (a guest test or hypervisor feature
    # not built yet). ctest registers it DISABLED, so it shows as "Not Run"
    # instead of failing; run_scenario.py still runs it by hand. Remove the
    # reason once the piece lands and the scenario passes.
    pending: str = ""
    # Hypervisor runs end at "all partitions stopped" (or a panic); a scenario
    # whose partition never stops by design ends at this pattern instead.
    end: Optional[str] = None
    # Bochs in a network namespace of its own whose tap its tuntap NIC opens,
    # with an iperf3 server on the tap's address (natsume_emu/netpeer.py);
    # needs root. peer_checks run on the server's log lines.
    net_peer: bool = False
    peer_checks: list = field(default_factory=list)


# Bochs i440FX slots and the ISA lines its BIOS routes their INTx to (found
# with the probe-pci scenario): slot1 00:02.0 -> 9, slot2 00:03.0 -> 11,
# slot3 00:04.0 -> 9, slot4 00:05.0 -> 11, slot5 00:06.0 -> 9. So slot1 and
# slot2 are on different lines, slot1 shares line 9 with slot3 and slot5.
RT_E1000_VNET = PciDevice("e1000", 1, ethmod="vnet")   # 00:02.0, line 9: rt0's NIC
RT_E1000 = PciDevice("e1000", 1, ethmod="null")
RT_E1000_TAP = PciDevice("e1000", 1, ethmod="tuntap", ethdev="tap0")   # 00:02.0 on the netpeer's tap
GP_E1000 = PciDevice("e1000", 2, ethmod="null")        # 00:03.0, line 11: gp0's own
SHARED_PNIC = PciDevice("pcipnic", 3, ethmod="null")   # 00:04.0, line 9: shares with slot1
SHARED_LINE_COUNT = 200    # keep in step with configs/shared-line.toml
QUICK_BENCH_SAMPLES = 200   # keep in step with configs/bench-gate.toml


# --- the hostile-partition suite (issue 7 section 5) ----------------------------
# gp0 runs test=hostile group=...; every vector reports NATSUME-RESULT
# "hv-<vector>" (guest-kernel/src/tests/hostile*.cpp), passing only when the
# expected outcome happened. These lists name every vector of each group, so
# a vector that never reported (the partition stopped early) fails too.
_DENIED_MSRS = ["tsc", "debugctl", "misc-enable", "feature-control", "spec-ctrl", "mtrr-deftype",
                "mtrr-physbase0", "smm-monitor-ctl", "tsc-adjust", "perf-global-ctrl", "mc0-status", "num-0x2000", "num-0x40000000", "num-0xc0002000", "num-0xc0010000",
                "num-0xffffffff"]
HOSTILE_MSR = (["msr-apic-base-read", "msr-apic-base-bit9", "msr-apic-base-maxphys",
                "msr-apic-base-move", "msr-apic-base-disable", "msr-apic-base-bsp",
                "msr-apic-base-x2apic-absent", "msr-x2apic-icr-in-xapic", "msr-x2apic-read-id",
                "msr-x2apic-read-tpr", "msr-x2apic-read-svr", "msr-x2apic-read-icr"]
               + [f"msr-{m}-{rw}" for m in _DENIED_MSRS for rw in ("read", "write")]
               + ["msr-pred-cmd-write", "msr-flush-cmd-write", "msr-ucode-update-write",
                  "msr-platform-info-read", "msr-vmx-basic-read", "msr-efer-reserved", "msr-efer-lme-clear",
                  "msr-pat-reserved-type"])
HOSTILE_CPU = (["cr4-vmxe", "cr4-reserved-31", "cr4-reserved-63", "cr0-pg-clear", "cr0-nw-without-cd",
                "invd", "wbinvd", "db-single-step", "user-trampoline", "hc-user-mode",
                "ac-user-misaligned"]
               + [f"xsetbv-{x}" for x in ("no-osxsave", "x87", "x87-sse", "zero", "sse-only", "avx-no-sse",
                                          "unlisted-bit", "xcr1")]
               + [f"vmx-{i}" for i in ("vmxon", "vmclear", "vmptrld", "vmread", "vmwrite", "vmlaunch",
                                       "vmresume", "vmxoff", "invept", "invvpid")])
HOSTILE_HYPERCALL = ["hc-console-len-4097", "hc-console-len-2e63", "hc-console-len-max", "hc-console-wrap",
                     "hc-console-straddle", "hc-console-outside", "hc-info-straddle", "hc-info-wrap",
                     "hc-stats-straddle", "hc-stats-wrap", "hc-unknown-first", "hc-unknown-ffffffff",
                     "hc-unknown-2e63", "hc-console-flood"]
_ICRS = ["fixed-foreign", "lowest-priority", "smi", "nmi", "init", "init-deassert", "sipi", "extint",
         "logical", "broadcast", "all-including", "all-excluding", "all-excluding-init", "own-nmi",
         "boot-low-vector", "boot-e0", "boot-nmi", "boot-init", "boot-sipi", "parked-init", "parked-sipi",
         "parked-nmi", "parked-fixed", "self-shorthand", "self-id"]
_LVT_MODES = ["nmi", "smi", "init", "extint", "fixed"]
HOSTILE_LAPIC = (["lapic-id-write", "lapic-ldr-write", "lapic-dfr-write"]
                 + [f"lapic-lvt-{r}-{m}" for r in ("lint0", "lint1", "thermal", "perf") for m in _LVT_MODES]
                 + [f"lapic-icr-{i}" for i in _ICRS]
                 + ["lapic-byte-store", "lapic-word-load", "lapic-qword-store", "lapic-qword-load",
                    "lapic-unaligned-store", "lapic-unaligned-load", "lapic-page-crossing-store",
                    "lapic-rep-movsl", "lapic-compat-tpr-store", "lapic-compat-icr-init"])
HOSTILE_PAGE_TABLE = ["lapic-page-table-load", "lapic-page-table-store"]
HOSTILE_X2APIC = (["x2apic-enable", "x2apic-to-xapic", "x2apic-id-write", "x2apic-ldr-write"]
                  + [f"x2apic-lvt-{r}-{m}" for r in ("lint0", "lint1", "thermal", "perf", "cmci")
                     for m in _LVT_MODES]
                  + [f"x2apic-icr-{i}" for i in _ICRS] + ["x2apic-self-ipi-msr"])
HOSTILE_IOAPIC = (["ioapic-foreign-pin"] + [f"ioapic-own-pin-{m}" for m in ("smi", "nmi", "init", "extint")]
                  + ["ioapic-own-pin-logical", "ioapic-own-pin-fixed", "ioapic-eoi-foreign-vector",
                     "ioapic-eoi-e0", "ioapic-byte-store", "ioapic-byte-load", "ioapic-qword-store",
                     "ioapic-qword-load", "ioapic-unaligned-store", "ioapic-unaligned-load",
                     "ioapic-rep-movsl"])
HOSTILE_IO = (["io-cf9-reset", "io-kbc-reset", "io-port92-fast-reset"]
              + [f"io-read-0x{p:02x}" for p in (0x20, 0x21, 0xa0, 0xa1, 0x40, 0x41, 0x42, 0x43, 0x61, 0x70, 0x71,
                                                 0x1f7, 0x177, 0x3f6, 0x376)]
              + ["io-pic-unmask-master", "io-pic-unmask-slave", "io-pic-icw1", "io-pit-mode", "io-pit-count",
                 "io-rtc-select-b", "io-rtc-periodic", "io-ide-read-dma", "io-ide-reset", "io-rep-insb", "pci-foreign-read",
                 "pci-foreign-byte-read", "pci-bar-move", "pci-bus-master-no-dma"])


def hostile_vectors(names: list) -> list:
    return [f"hv-{n}" for n in names]


def hostile_checks(vectors: list, stray_free: bool = True) -> list:
    """gp0 passed every named vector; rt0 ran its timer test over the whole
    attack (it finishes after gp0) with no stray IPI; no panic; clean end."""
    checks = [partition_banner("gp0", 2), GuestPassed("gp0", tests=hostile_vectors(vectors)),
              *rt0_unaffected(),
              Order(r"^\[gp0\] NATSUME-DONE", r"^\[rt0\] NATSUME-DONE",
                    "rt0's timer test spans the whole attack (gp0 finishes first)"),
              Line(r"^natsume: partition gp0 stopped\b", "gp0 stopping normally"),
              *hypervisor_ok()]
    if stray_free:
        checks.append(ResultFields("rt0", "lapic-timer", {"stray_ipis": 0}))
    return checks


HOSTILE_CORE_VECTORS = HOSTILE_MSR + HOSTILE_CPU + HOSTILE_HYPERCALL


SCENARIOS = [
    Scenario(
        name="probe", kind="probe", cpus=3, timeout=60,
        emulators=("bochs", "qemu"),
        what="the harness itself: GRUB passes command line and modules, COM1 reaches "
             "the serial log, the emulator-exit ports end the run",
        checks=[Line(r"^natsume-probe: boot magic=ok$", "the multiboot2 boot magic"),
                Line(r"^natsume-probe: cmdline=probe-arg=42 second$", "the kernel command line"),
                Line(r"^natsume-probe: module name=probe-module size=4096$",
                     "the module, with its name and exact size"),
                Line(r"^natsume-probe: done modules=1$", "exactly one module")]),
    Scenario(
        name="native", kind="native", cpus=1, timeout=120,
        emulators=("bochs", "qemu"),
        what="guest kernel booted without the hypervisor (the Native baseline)",
        checks=[Banner(None, {"mode": "native"}),
                GuestPassed(None, tests=["lapic-timer"])]),
    Scenario(
        name="default", kind="hypervisor", config="configs/default.toml",
        emulators=("bochs", "kvm"),
        what="configs/default.toml: rt0 on core 1 and gp0 on core 2 both run their "
             "self-tests to the end",
        checks=[partition_table_row("rt0", 1), partition_table_row("gp0", 2),
                partition_banner("rt0", 1), partition_banner("gp0", 2),
                GuestPassed("rt0"), GuestPassed("gp0"),
                # host hardening probed at boot (arch/x86/host_paging.cpp)
                Line(r"^natsume: memory: verified: stores to text and to a stack guard page fault$",
                     "the boot's check that the hypervisor's text is read-only and its stack guard pages unmapped"),
                *hypervisor_ok()]),
    Scenario(
        name="default-uefi", kind="hypervisor", config="configs/default.toml",
        emulators=("kvm",), firmware="uefi",
        what="configs/default.toml booted by OVMF and natsume.efi (the USB image's way in on UEFI): rt0 and "
             "gp0 run their self-tests to the end",
        checks=[Line(r"^natsume: boot: loader 'natsume\.efi'", "the hypervisor entered by natsume.efi"),
                Line(r"^natsume: acpi: RSDP revision 2, .* XSDT at", "ACPI through the firmware's XSDT"),
                partition_banner("rt0", 1), partition_banner("gp0", 2),
                GuestPassed("rt0"), GuestPassed("gp0"), *hypervisor_ok()]),
    Scenario(
        name="linux-boot", kind="hypervisor", config="configs/linux.toml", megs=512, slow=True, timeout=900,
        devices=(RT_E1000_VNET,),
        what="unmodified Debian Linux in linux0 beside rt0: the 64-bit boot protocol, its own ACPI tables, its "
             "console on the virtual 16550, its memory above 1 MiB an identity DMA window (Bochs has no IOMMU); "
             "/init pings Bochs' vnet host through its passed-through e1000, whose interrupts reach Linux with "
             "no VM exit, sees only its own PCI view, tries the machine's reset ports, its own reset and sleep "
             "ports with inert values, the PIC, PIT and foreign MSRs (hostile.sh) and keeps running, then powers "
             "the partition off; rt0 passes",
        checks=[Line(r"^natsume: partition: linux0: Linux 6\.1\.\S+ .*kernel at 0x8400000-",
                     "the bzImage placed by the 64-bit boot protocol, in its DMA window"),
                Line(r"^natsume: partition: linux0: its memory above 1 MiB is its DMA window 0x8400000-0x17ffffff",
                     "Linux's main memory is the identity window its e1000 can reach"),
                Line(r"^\[linux0\] \[\s*[0-9.]+\] BIOS-e820: \[mem 0x0000000008400000-0x0000000017ffffff\] usable",
                     "Linux took the window as its RAM"),
                Line(r"^\[linux0\] \[\s*[0-9.]+\] ACPI: PCI Root Bridge \[PCI0\]", "Linux found the PCI root in its DSDT"),
                Line(r"^\[linux0\] \[\s*[0-9.]+\] 00:00: ttyS0 at I/O 0x3f8 \(irq = 0", "the virtual COM1, polled"),
                Line(r"^\[linux0\] natsume-linux: init started", "/init started"),
                Line(r"^\[linux0\] \[\s*[0-9.]+\] e1000 0000:00:02\.0 eth0: \(PCI:", "Linux's e1000 driver took its NIC"),
                Line(r"^\[linux0\] 3 packets transmitted, 3 (packets )?received",
                     "three pings to the vnet host answered through the passed-through e1000"),
                Line(r"^natsume: rtc: machine clock 2000-01-01 00:00:\d\d ", "the hypervisor read Bochs' CMOS clock"),
                Line(r"^\[linux0\] == date: 2000-01-01 \d\d:\d\d:\d\d UTC",
                     "Linux's wall clock from its virtual CMOS clock (Bochs' time0 is 2000-01-01)"),
                NoLine(r"^natsume: refuse: partition linux0: (read from|write to) port 0x7[01] ",
                       "a refused CMOS clock access of Linux (its virtual clock answers them)"),
                Line(r"^\[linux0\] 00:00\.0 8086:1237 class=0x060000", "its PCI view: the virtual host bridge"),
                Line(r"^\[linux0\] 00:02\.0 8086:100e class=0x020000 irq=\d+ driver=e1000", "and its own e1000"),
                NoLine(r"^\[linux0\] 00:0[13-9a-f]\.\d ", "a PCI function of the machine that is not its own"),
                Line(r"^\[linux0\]\s+\d+:\s+[1-9]\d*\s+IO-APIC\s+\S+\s+eth0$",
                     "e1000 interrupts counted by Linux on its core (/proc/interrupts)"),
                NoLine(r"^natsume: stats: partition linux0: exits(?: \d+:\d+)* 1:\d+",
                       "an external-interrupt exit on linux0's core (its device interrupts must not exit)"),
                *linux_hostile(),
                # One-core Linux never writes the CMOS itself (SMP start-up writes its
                # warm-reset code), so the first logged write is hostile.sh's.
                Line(r"^natsume: refuse: partition linux0: write 0x80 to CMOS register 0xb dropped",
                     "Linux's write to the CMOS clock refused (the clock is the machine's)"),
                Line(r"^natsume: partition linux0 stopped: powered off \(ACPI sleep type 5",
                     "Linux powered its partition off through the sleep control register"),
                *rt0_unaffected(), *hypervisor_ok()]),
    Scenario(
        name="linux-foreign", kind="hypervisor", config="tests/integration/configs/linux-foreign.toml", megs=512,
        slow=True, timeout=900,
        what="Linux in linux0 (its memory all in its own RAM, no DMA window) reads guest-physical memory past "
             "its RAM through /dev/mem: the EPT has no such page, so the hypervisor stops linux0 at that "
             "access, and rt0 passes",
        checks=[Line(r"^natsume: partition: linux0: Linux 6\.1\.\S+ .*kernel at 0x1000000-",
                     "the bzImage placed in its own RAM at 16 MiB"),
                Line(r"^\[linux0\] \[\s*[0-9.]+\] BIOS-e820: \[mem 0x0000000000100000-0x000000000fffffff\] usable",
                     "its RAM above 1 MiB is Linux's main memory"),
                *linux_foreign_read("0x10000000", 0, 2),
                *rt0_unaffected(), *hypervisor_ok()]),
    Scenario(
        name="linux-smp", kind="hypervisor", config="tests/integration/configs/linux-smp.toml", megs=512, cpus=4,
        slow=True, timeout=1800, devices=(RT_E1000_VNET,),
        what="Linux in linux0 on two cores beside rt0: it boots on core 2 and starts core 3 through the ACPI "
             "multiprocessor wake-up mailbox of its MADT; core 3 enters Linux's 64-bit AP trampoline, whose "
             "paging-off stretch runs in the hypervisor's paging-off window (no unrestricted guest needed); "
             "a task pinned to each CPU runs there, the CPUs interrupt each other, its e1000 answers pings, "
             "its hostile script (reset ports, PIC, PIT, foreign MSRs) changes nothing, and a read of memory "
             "outside linux0 on its second CPU stops linux0 on core 3 and parks core 2 by NMI; rt0 passes",
        checks=[Line(r"^natsume: partition: linux0: cores 2 3: core 2 boots it",
                     "linux0 owns two cores, the first its boot CPU"),
                Line(r"^natsume: partition: linux0: multiprocessor wake-up mailbox at 0x1000 \(MADT type 0x10\)",
                     "its MADT names the wake-up mailbox"),
                Line(r"^natsume: partition linux0: core 3 woken through its wake-up mailbox, entering at 0x[0-9a-f]+",
                     "Linux woke core 3 through the mailbox"),
                Line(r"^natsume: partition linux0: core 3 turned paging off in compatibility mode",
                     "core 3 ran the trampoline's paging-off stretch in the hypervisor's window"),
                Line(r"^\[linux0\] \[\s*[0-9.]+\] smp: Brought up 1 node, 2 CPUs", "Linux brought up both CPUs"),
                Line(r"^\[linux0\] natsume-linux: smp: 2 CPUs online \(0-1\)", "both CPUs online in user space"),
                Line(r"^\[linux0\] natsume-linux: smp: a task pinned to CPU 1 ran on CPU 1",
                     "a task ran on the second CPU"),
                Line(r"^\[linux0\]\s+RES:\s+[1-9]\d*\s+[1-9]\d*\s", "rescheduling IPIs reached both CPUs"),
                Line(r"^\[linux0\] 3 packets transmitted, 3 (packets )?received",
                     "three pings answered through the passed-through e1000"),
                NoLine(r"^natsume: refuse: partition linux0: interrupt command", "an IPI of linux0 refused"),
                *linux_hostile(),
                *linux_foreign_read("0x20000000", 1, 3),
                *rt0_unaffected(), *hypervisor_ok()]),
    Scenario(
        name="linux-iperf", kind="hypervisor", config="tests/integration/configs/linux-iperf.toml", megs=512,
        slow=True, timeout=1500, devices=(RT_E1000_TAP,), net_peer=True,
        # The NIC path is the same on both models (bochs.linux-boot pings through it on
        # both); one model keeps ./natsume test within its time budget.
        models=("nehalem",),
        what="Linux in linux0 runs iperf3 over TCP through its passed-through e1000, whose Bochs tuntap backend "
             "is a tap in a network namespace of the harness's (192.168.20.1, an iperf3 server); it prints "
             "iperf3's sender and receiver rates (emulator figures: Bochs at 10 M ips takes about 1000 frames per "
             "emulated second), then powers the partition off; rt0 passes",
        checks=[Line(r"^\[linux0\] \[\s*[0-9.]+\] e1000 0000:00:02\.0 eth0: \(PCI:", "Linux's e1000 driver took its NIC"),
                Line(r"^\[linux0\] natsume-linux: iperf: client to 192\.168\.20\.1 for \d+ s",
                     "iperf.sh started the client"),
                Line(r"^\[linux0\] \[\s*\d+\] local 192\.168\.20\.15 port \d+ connected to 192\.168\.20\.1 port 5201",
                     "iperf3 connected to the peer through the e1000"),
                Line(r"^\[linux0\] natsume-linux: iperf: sender \d+(\.\d+)? Mbits/sec receiver "
                     r"(?!0(\.0+)? )\d+(\.\d+)? Mbits/sec",
                     "iperf3's summary with a non-zero receiver rate"),
                NoLine(r"^\[linux0\] iperf3: error", "an iperf3 error"),
                NoLine(r"^\[linux0\] natsume-linux: no script 'iperf'",
                       "an initramfs without iperf.sh: rebuild the Linux image, or boot a variant with "
                       "run_scenario.py --image linux-initramfs.cpio.gz=FILE"),
                Line(r"^natsume: partition linux0 stopped: powered off \(ACPI sleep type 5",
                     "Linux powered its partition off"),
                partition_banner("rt0", 1), GuestPassed("rt0"), *hypervisor_ok()],
        peer_checks=[Line(r"^Accepted connection from 192\.168\.20\.15, port \d+",
                          "the iperf3 server accepted the guest's control connection"),
                     Line(r"^\[\s*\d+\] local 192\.168\.20\.1 port 5201 connected to 192\.168\.20\.15 port \d+",
                          "the test stream from the guest"),
                     Line(r"^\[\s*\d+\]\s+0\.00-\d+\.\d+\s+sec\s+(?!0(\.0+)? )\d+(\.\d+)? [KMG]?Bytes\s+"
                          r"\d+(\.\d+)? Mbits/sec\s+receiver",
                          "the server's receiver summary: bytes arrived from the guest")]),
    Scenario(
        name="hypercalls", kind="hypervisor",
        config="tests/integration/configs/hypercalls.toml",
        what="rt0 runs test=hypercalls: every hypercall behaves as the ABI says",
        checks=[partition_banner("rt0", 1), GuestPassed("rt0", tests=["hc-unknown", "hc-partition-info", "hc-console-efault"]),
                partition_banner("gp0", 2), GuestPassed("gp0"),
                *hypervisor_ok()]),
    Scenario(
        name="fault-triple", kind="hypervisor", config="configs/tests/fault-triple.toml",
        what="gp0 triple-faults: only gp0 is stopped, with a register dump; rt0 finishes",
        checks=[Line(r"natsume: partition gp0 stopped: triple fault",
                     "gp0 stopped for a triple fault"),
                Line(r"RIP=", "a register dump (RIP=)"),
                *rt0_unaffected(), *hypervisor_ok()]),
    Scenario(
        name="fault-ept", kind="hypervisor", config="configs/tests/fault-ept.toml",
        what="gp0 touches memory outside its partition: stopped with the faulting "
             "guest-physical address; rt0 finishes",
        checks=[Line(r"natsume: partition gp0 stopped: EPT violation.*0x[0-9a-fA-F]+",
                     "gp0 stopped for an EPT violation, naming the guest-physical address"),
                *rt0_unaffected(), *hypervisor_ok()]),
    Scenario(
        name="bad-core", kind="hypervisor", config="configs/tests/bad-core.toml",
        what="a partition names a core the machine lacks: the boot is refused",
        checks=[Line(PANIC, "a hypervisor panic refusing the configuration"),
                # configs/tests/bad-core.toml gives gp0 core 5 on a 3-CPU machine
                Line(r"(?i)natsume: .*\bcores?\b\D{0,12}5\b", "a message naming the missing core 5"),
                NoBanner()]),
    Scenario(
        name="bad-ram", kind="hypervisor", config="configs/tests/bad-ram.toml",
        what="a partition's RAM is not usable memory on this machine: the boot is refused",
        checks=[Line(PANIC, "a hypervisor panic refusing the configuration"),
                # configs/tests/bad-ram.toml puts gp0's RAM at 0x40000000 on a 256 MiB machine
                Line(r"(?i)natsume: .*\bram\b.*0x0*40000000",
                     "a message naming the RAM range at 0x40000000"),
                NoBanner()]),
    Scenario(
        name="bad-dma-ack", kind="hypervisor", config="configs/tests/bad-dma-ack.toml",
        devices=(RT_E1000,),
        what="a partition owns a DMA-capable device on a machine without an IOMMU and the file does "
             "not acknowledge it (allow_unisolated_dma): the boot is refused",
        checks=[Line(PANIC, "a hypervisor panic refusing the configuration"),
                Line(r"natsume: .*\brt0\b.*00:02\.0.*no IOMMU.*allow_unisolated_dma = true",
                     "a message naming rt0's device and the missing acknowledgement"),
                NoBanner()]),
    Scenario(
        name="bad-isa-line", kind="hypervisor", config="configs/tests/bad-isa-line.toml", disk_mib=64,
        devices=(GP_E1000,),
        what="rt0 owns the IDE controller, whose secondary channel interrupts on ISA line 15, and gp0's e1000 "
             "is declared on GSI 15: an edge-triggered line cannot be shared, the boot is refused",
        checks=[Line(PANIC, "a hypervisor panic refusing the configuration"),
                Line(r"natsume: .*GSI 15 is the ISA line of IDE controller 00:01\.1 \(partition rt0\), and device "
                     r"00:03\.0 of partition gp0 has its INTx there", "a message naming both devices and the line"),
                NoBanner()]),
    Scenario(
        name="probe-pci", kind="probe", cpus=1, timeout=60,
        devices=(RT_E1000_VNET, PciDevice("pcipnic", 2, ethmod="null"), PciDevice("e1000", 5, ethmod="null")),
        what="the harness's PCI slots and NIC backends: each device appears at the BDF its slot "
             "gives, with the INTx line the scenarios rely on",
        checks=[Line(r"^natsume-probe: pci 00:00\.0 8086:1237 ", "the i440FX host bridge at 00:00.0"),
                Line(r"^natsume-probe: pci 00:02\.0 8086:100e line=9 pin=1$",
                     "slot1: the e1000 at 00:02.0, INTA# on line 9"),
                Line(r"^natsume-probe: pci 00:03\.0 fefe:efef line=11 pin=1$",
                     "slot2: the pcipnic at 00:03.0, INTA# on line 11"),
                Line(r"^natsume-probe: pci 00:06\.0 8086:100e line=9 pin=1$",
                     "slot5: a second e1000 at 00:06.0, sharing line 9 with slot1"),
                Line(r"^natsume-probe: done modules=1$", "the probe finished")]),
    Scenario(
        name="probe-e1000", kind="probe", cpus=1, timeout=60, emulators=("qemu",),
        devices=(RT_E1000_VNET, GP_E1000),
        what="QEMU's e1000 twins of the Bochs slots: 8086:100e at 00:02.0 and 00:03.0",
        checks=[Line(r"^natsume-probe: pci 00:02\.0 8086:100e ", "an e1000 at 00:02.0"),
                Line(r"^natsume-probe: pci 00:03\.0 8086:100e ", "an e1000 at 00:03.0"),
                Line(r"^natsume-probe: done modules=1$", "the probe finished")]),
    Scenario(
        name="native-e1000", kind="native", cpus=1, timeout=180,
        emulators=("bochs", "qemu"), devices=(RT_E1000_VNET,),
        guest_args="test=e1000",
        what="the guest kernel's e1000 driver natively: a frame out and the network backend's "
             "reply in (Bochs vnet / QEMU user networking)",
        checks=[Banner(None, {"mode": "native"}), GuestPassed(None, tests=["e1000"])]),
    Scenario(
        name="native-bench", kind="native", cpus=3, timeout=300,
        devices=(RT_E1000, GP_E1000),
        guest_args=f"test=bench-irq samples={QUICK_BENCH_SAMPLES}",
        what="the guest kernel's bench-irq natively: device and timer latencies with every sample "
             "and no exit count",
        checks=[Banner(None, {"mode": "native"}), NativeBench(QUICK_BENCH_SAMPLES)]),
    Scenario(
        name="bench-gate", kind="hypervisor", config="tests/integration/configs/bench-gate.toml",
        timeout=400, devices=(RT_E1000, GP_E1000),
        what="CI gate: rt0 owns the e1000 (LAPIC passed through); its device and LAPIC timer "
             "interrupts take 0 VM exits",
        checks=[partition_banner("rt0", 1), BenchZeroExits("rt0", QUICK_BENCH_SAMPLES),
                *hypervisor_ok()]),
    Scenario(
        name="passthrough-e1000", kind="hypervisor",
        config="tests/integration/configs/passthrough-e1000.toml",
        devices=(RT_E1000_VNET, GP_E1000),
        what="rt0's e1000 sends and receives through Bochs vnet; gp0 sees only its own device "
             "and a host bridge in config space",
        checks=[partition_banner("rt0", 1), GuestPassed("rt0", tests=["e1000"]),
                partition_banner("gp0", 2), GuestPassed("gp0", tests=["attack-pci"]),
                Line(r"DMA not isolated", "the boot log saying DMA is not isolated (no IOMMU)"),
                *hypervisor_ok()]),
    Scenario(
        name="attack-ioapic", kind="hypervisor",
        config="tests/integration/configs/attack-ioapic.toml",
        devices=(RT_E1000_VNET, GP_E1000),
        what="gp0 tries to program IOAPIC pin 9 (rt0's e1000): refused and logged; rt0's e1000 "
             "still works",
        checks=[GuestPassed("gp0", tests=["attack-ioapic"]),
                GuestPassed("rt0", tests=["e1000"]),
                # e.g. "natsume: refuse: partition gp0: IOAPIC pin 9: pin belongs to no device ..."
                Line(r"(?i)^natsume: (?=.*\b(refus\w*|denied|reject\w*))(?=.*\bgp0\b)"
                     r".*\bioapic\b.*\bpin 9\b",
                     "the hypervisor logging the refused write of gp0 to IOAPIC pin 9"),
                *hypervisor_ok()]),
    Scenario(
        name="attack-ide-line", kind="hypervisor", disk_mib=64,
        config="tests/integration/configs/attack-ide-line.toml",
        devices=(GP_E1000,),
        what="gp0 tries to program IOAPIC pin 15, the ISA line of rt0's IDE channel: refused and logged; rt0's "
             "reads still complete by that interrupt",
        checks=[GuestPassed("gp0", tests=["attack-ioapic"]),
                GuestPassed("rt0", tests=["ide-irq", "ide-read", "ide-seq"]),
                ResultFields("rt0", "ide-seq", {"requests": 8, "bad": 0, "interrupts": 8, "foreign_exits": 0}),
                Line(r"(?i)^natsume: (?=.*\b(refus\w*|denied|reject\w*))(?=.*\bgp0\b)"
                     r".*\bioapic\b.*\bpin 15\b",
                     "the hypervisor logging the refused write of gp0 to IOAPIC pin 15"),
                *hypervisor_ok()]),
    Scenario(
        name="attack-ipi", kind="hypervisor", models=("skylake",),
        config="tests/integration/configs/attack-ipi.toml",
        what="x2APIC: both guests switch to x2APIC mode; gp0's fixed IPI and INIT to rt0's core "
             "are refused by the ICR filter and logged; rt0 finishes",
        checks=[GuestPassed("gp0", tests=["attack-ipi"]),
                ResultFields("gp0", "attack-ipi", {"x2apic": True, "refused": True}),
                # "natsume: refuse: partition gp0: interrupt command 0x... to APIC ID 1 refused: ..."
                Line(r"^natsume: refuse: partition gp0: interrupt command .*\bAPIC ID 1\b.*\brefused\b",
                     "the hypervisor logging gp0's refused interrupt command to APIC ID 1"),
                *rt0_unaffected(), *hypervisor_ok()]),
    Scenario(
        name="attack-ipi-xapic", kind="hypervisor", models=("nehalem",),
        config="tests/integration/configs/attack-ipi-xapic.toml",
        what="xAPIC passed through (documented risk): gp0's INIT to rt0's core becomes an INIT exit "
             "the hypervisor ignores and logs; rt0 keeps running (its stray fixed IPIs are reported)",
        checks=[GuestPassed("gp0", tests=["attack-ipi"]),
                ResultFields("gp0", "attack-ipi", {"x2apic": False, "lapic": "passthrough"}),
                # "natsume: refuse: partition rt0: INIT signal at RIP 0x... ignored: ..."
                Line(r"^natsume: refuse: partition rt0: INIT signal\b.*\bignored\b",
                     "the hypervisor logging the INIT signal it kept from rt0's core"),
                *rt0_unaffected(),
                Note("rt0", "lapic-timer", ("stray_ipis",),
                     "fixed IPIs from gp0 that reached rt0 (not preventable with an xAPIC passed through)"),
                *hypervisor_ok()],
        # Under Bochs 2.7 the INIT stays pending after the INIT-signal VM exit
        # (later Bochs versions clear the pending INIT before taking that
        # exit), so rt0's core exits again on every VM entry and never runs
        # again. Kept until a platform that consumes the INIT can run it.
        pending="Bochs 2.7 re-raises the INIT after every INIT-signal VM exit (emulator behaviour), "
                "so rt0 cannot run again under Bochs"),
    Scenario(
        name="attack-ipi-trapped", kind="hypervisor", models=("nehalem",),
        config="tests/integration/configs/attack-ipi-trapped.toml",
        what="lapic = \"trapped\": gp0's fixed IPI and INIT to rt0's core are emulated ICR writes, "
             "refused and logged; rt0 finishes",
        checks=[GuestPassed("gp0", tests=["attack-ipi"]),
                ResultFields("gp0", "attack-ipi", {"x2apic": False, "lapic": "trapped", "refused": True}),
                Line(r"^natsume: refuse: partition gp0: interrupt command .*\bAPIC ID 1\b.*\brefused\b",
                     "the hypervisor logging gp0's refused interrupt command to APIC ID 1"),
                *rt0_unaffected(),
                ResultFields("rt0", "lapic-timer", {"stray_ipis": 0}),
                *hypervisor_ok()]),
    Scenario(
        name="lapic-trapped", kind="hypervisor", models=("nehalem",),
        config="tests/integration/configs/lapic-trapped.toml",
        what="lapic = \"trapped\" in both partitions: the LAPIC-timer test passes with every xAPIC "
             "register access emulated (EPT-violation exits, reason 48)",
        checks=[partition_banner("rt0", 1), partition_banner("gp0", 2),
                GuestPassed("rt0", tests=["lapic-timer"]), GuestPassed("gp0", tests=["lapic-timer"]),
                # "natsume: stats: partition rt0: exits 10:4 18:9 48:57 total=70 (reason:count)"
                Line(r"^natsume: stats: partition rt0: exits\b.*\s48:[1-9]\d*\b",
                     "rt0's exit counters showing EPT-violation exits (reason 48)"),
                Line(r"^natsume: stats: partition gp0: exits\b.*\s48:[1-9]\d*\b",
                     "gp0's exit counters showing EPT-violation exits (reason 48)"),
                *hypervisor_ok()]),
    Scenario(
        name="native-shared-line", kind="native", cpus=1, timeout=180,
        devices=(RT_E1000, SHARED_PNIC),
        guest_args="test=shared-line-native",
        what="natively, one kernel drives the e1000 (00:02.0) and the pcipnic (00:04.0) on their "
             "shared line 9: each device's interrupts, alone and together, reach the handler",
        checks=[Banner(None, {"mode": "native"}), GuestPassed(None, tests=["shared-line-native"]),
                ResultFields(None, "shared-line-native", {"gsi": [9, 9], "spurious": 0})]),
    Scenario(
        name="shared-line", kind="hypervisor", timeout=400,
        config="tests/integration/configs/shared-line.toml",
        devices=(RT_E1000, SHARED_PNIC),
        what="rt0's e1000 (00:02.0) and gp0's pcipnic (00:04.0) share INTx line 9: the hypervisor "
             "routes per device, each partition gets exactly its own device's interrupts",
        checks=[Line(r"^natsume: intx: GSI 9 is shared by 00:02\.0 \(rt0\) 00:04\.0 \(gp0\)",
                     "the boot report of line 9 shared by rt0's 00:02.0 and gp0's 00:04.0"),
                Line(r"^natsume: intx: GSI 9 routed per device through the boot core",
                     "the boot report of per-device routing for line 9"),
                GuestPassed("rt0", tests=["shared-line-rt"]),
                ResultFields("rt0", "shared-line-rt", {"triggered": SHARED_LINE_COUNT,
                                                       "received": SHARED_LINE_COUNT, "spurious": 0}),
                GuestPassed("gp0", tests=["shared-line-gp"]),
                ResultFields("gp0", "shared-line-gp", {"triggered": SHARED_LINE_COUNT,
                                                       "received": SHARED_LINE_COUNT}),
                Note("gp0", "shared-line-gp", ("spurious", "handler_calls"),
                     "interrupts gp0's pcipnic handler found no reason for"),
                *hypervisor_ok()]),
    Scenario(
        name="hostile-core", kind="hypervisor", timeout=300,
        config="tests/integration/configs/hostile-core.toml",
        what="hostile gp0: MSR (IA32_APIC_BASE, x2APIC MSRs in xAPIC mode, denied MSRs), control "
             "registers, VMX instructions, XSETBV, INVD, #AC/#DB, ring-3 and malformed hypercalls, a "
             "console flood, each refused as the contract says; rt0's timer unaffected",
        checks=hostile_checks(HOSTILE_CORE_VECTORS)),
    Scenario(
        name="hostile-lapic-trapped", kind="hypervisor", models=("nehalem",), timeout=300, cpus=4,
        config="tests/integration/configs/hostile-lapic-trapped.toml",
        what="hostile gp0 with a trapped xAPIC page: ID/LDR/DFR writes ignored, LVT NMI/SMI/INIT/ExtINT "
             "refused, every ICR mode, destination and shorthand refused but fixed-to-self, malformed "
             "accesses #GP; rt0 sees no stray IPI",
        checks=hostile_checks(HOSTILE_LAPIC)),
    Scenario(
        name="hostile-x2apic", kind="hypervisor", models=("skylake",), timeout=300, cpus=4,
        config="tests/integration/configs/hostile-x2apic.toml",
        what="hostile gp0 in x2APIC mode: the legal switch accepted, the way back and read-only writes "
             "#GP, LVT NMI/SMI/INIT/ExtINT dropped and logged, every ICR mode, destination and shorthand refused but "
             "fixed-to-self; rt0 sees no stray IPI",
        checks=hostile_checks(HOSTILE_X2APIC),
),
    Scenario(
        name="hostile-io", kind="hypervisor", timeout=300,
        config="tests/integration/configs/hostile-io.toml",
        devices=(RT_E1000, GP_E1000),
        what="hostile gp0 owning an e1000 on line 11: foreign and own IOAPIC pins with bad modes, EOI "
             "abuse, malformed IOAPIC accesses, reset ports, PIC/PIT/RTC, foreign config space, BAR move, "
             "bus master without DMA: all refused, the machine keeps running",
        checks=hostile_checks(HOSTILE_IOAPIC + HOSTILE_IO),
),
    Scenario(
        name="hostile-page-table", kind="hypervisor", timeout=300,
        config="tests/integration/configs/hostile-page-table.toml",
        what="hostile gp0 makes the trapped xAPIC page its own page directory: the processor's PDE "
             "reads from it must not be emulated as the load or store that caused them (#GP instead)",
        checks=hostile_checks(HOSTILE_PAGE_TABLE),
),
    Scenario(
        name="hostile-stop-flood", kind="hypervisor", timeout=300, cpus=4,
        config="tests/integration/configs/hostile-stop-flood.toml",
        what="availability: gp0 and gp1 both flood the console, then stop at about the same time (triple "
             "fault, #DB loop), each with its reason; rt0's timer keeps ticking; all partitions stop",
        checks=[partition_banner("gp0", 2), partition_banner("gp1", 3),
                # they end by a fault, so no NATSUME-DONE: the flood result itself must pass
                ResultFields("gp0", "hv-hc-console-flood", {"status": "pass"}),
                ResultFields("gp1", "hv-hc-console-flood", {"status": "pass"}),
                Line(r"^natsume: partition gp0 stopped: triple fault", "gp0 stopped for its triple fault"),
                Line(r"^natsume: partition gp1 stopped: .*\bexception loop\b",
                     "gp1 stopped for its #DB loop (CVE-2015-8104 class), not looping with it"),
                NoLine(r"^\[gp1\] NATSUME-RESULT .*\"hv-db-loop\"", "gp1 still running after its #DB loop"),
                Line(r"^natsume: console: partition gp[01]: \d+ bytes dropped",
                     "the hypervisor saying it dropped flooded console output"),
                *rt0_unaffected(),
                Order(r"^natsume: partition gp[01] stopped: (triple fault|.*exception loop)", r"^\[rt0\] NATSUME-DONE",
                      "rt0 still running when the flooding partitions stop"),
                ResultFields("rt0", "lapic-timer", {"stray_ipis": 0}),
                *hypervisor_ok()]),
    Scenario(
        name="hostile-never-exits", kind="hypervisor", timeout=240,
        config="tests/integration/configs/hostile-never-exits.toml",
        what="availability: gp0 computes with interrupts off and never causes a VM exit again; rt0's timer "
             "test still runs to its end with every tick, and the hypervisor keeps serving rt0's console",
        end=r"^\[rt0\] NATSUME-DONE|natsume: PANIC|natsume: all partitions stopped|natsume: partition rt0 stopped",
        checks=[partition_banner("gp0", 2),
                Line(r"^\[gp0\] natsume-guest: load-cpu running forever \(interrupts off\)",
                     "gp0 saying it entered its exit-free loop"),
                *rt0_unaffected(),
                Order(r"^\[gp0\] natsume-guest: load-cpu running forever", r"^\[rt0\] NATSUME-DONE",
                      "rt0 finishing while gp0 still spins"),
                ResultFields("rt0", "lapic-timer", {"stray_ipis": 0}),
                NoLine(r"^natsume: partition gp0 stopped", "gp0 was stopped although it did nothing wrong"),
                NoLine(PANIC, "a hypervisor panic")]),
    Scenario(
        name="channel-ping", kind="hypervisor", timeout=240,
        config="tests/integration/configs/channel-ping.toml",
        what="paravirtual channel: 200 request/response rounds between rt0 (frontend) and gp0 (backend) over "
             "vif0, one doorbell each way; every doorbell arrives, none is refused, receiving one takes no VM exit",
        checks=[Line(r"^natsume: channel: vif0: host 0xa000000-0xa1fffff \(2M\), frontend rt0 at 0x40000000, "
                     r"backend gp0 at 0x40000000", "the channel in the boot log"),
                partition_banner("rt0", 1), partition_banner("gp0", 2),
                GuestPassed("rt0", ["channel-ping"]), GuestPassed("gp0", ["channel-ping"]),
                ResultFields("rt0", "channel-ping", {"rounds": 200, "lost": 0, "doorbells_received": 200,
                                                     "foreign_exits": 0, "hypercalls": 201}),
                ResultFields("gp0", "channel-ping", {"answered": 200, "doorbells_received": 201,
                                                     "foreign_exits": 0}),
                *hypervisor_ok()]),
    Scenario(
        name="channel-attack", kind="hypervisor", timeout=240,
        config="tests/integration/configs/channel-attack.toml",
        what="hostile doorbells: gp0 binds and rings channels that do not exist, binds illegal vectors and rings "
             "a peer that bound none; each is refused with its error code and counted, nothing stops",
        checks=[partition_banner("gp0", 2), *rt0_unaffected(),
                GuestPassed("gp0", ["channel-bind-no-such", "channel-bind-vector-low", "channel-doorbell-unbound",
                                    "channel-refusals-counted"]),
                Line(r"^natsume: refuse: partition gp0: .*doorbell on channel 0 refused: the peer has bound no "
                     r"vector", "the refusal logged"),
                NoLine(r"^natsume: partition (gp0|rt0) stopped: (?!stopped itself)", "a partition stopped by force"),
                *hypervisor_ok()]),
    Scenario(
        name="channel-flood", kind="hypervisor", timeout=300,
        config="tests/integration/configs/channel-flood.toml",
        what="doorbell flood: gp0 rings rt0 5000 times as fast as it can; the hypervisor's rate limit refuses "
             "most with EAGAIN, rt0 receives exactly the ones sent, without a VM exit, and finishes",
        checks=[partition_banner("rt0", 1), partition_banner("gp0", 2),
                GuestPassed("rt0", ["channel-sink"]), GuestPassed("gp0", ["channel-flood"]),
                ResultFields("rt0", "channel-sink", {"foreign_exits": 0}),
                ResultFields("gp0", "channel-flood", {"count": 5000, "other": 0}),
                *hypervisor_ok()]),
    Scenario(
        name="vif-echo", kind="hypervisor", timeout=240,
        config="tests/integration/configs/vif-echo.toml",
        what="paravirtual netif over channel vif0: rt0's netfront sends 300 frames of 60-1514 bytes, gp0's "
             "netback echoes them through the rx ring; every byte back, no frame lost, no exit on either side "
             "that is not its own doorbell",
        checks=[partition_banner("rt0", 1), partition_banner("gp0", 2),
                GuestPassed("rt0", ["vif-echo"]), GuestPassed("gp0", ["vif-echo"]),
                ResultFields("rt0", "vif-echo", {"rounds": 300, "lost": 0, "mismatched": 0, "received": 300,
                                                 "foreign_exits": 0}),
                ResultFields("gp0", "vif-echo", {"delivered": 300, "refused": 0, "broken": 0, "echoed": 300,
                                                 "foreign_exits": 0}),
                *hypervisor_ok()]),
    Scenario(
        name="vif-hostile", kind="hypervisor", timeout=240,
        config="tests/integration/configs/vif-hostile.toml",
        what="hostile netfront: gp0 posts malformed tx requests between 300 good frames and finally a producer "
             "index past the ring; rt0's netback answers each malformed one with an error, echoes every good "
             "frame, stops reading the broken ring and finishes",
        checks=[partition_banner("rt0", 1), partition_banner("gp0", 2),
                GuestPassed("rt0", ["vif-echo"]), GuestPassed("gp0", ["vif-echo"]),
                ResultFields("gp0", "vif-echo", {"rounds": 300, "lost": 0, "mismatched": 0, "injected": 148,
                                                 "errors_ignored": 148}),
                ResultFields("rt0", "vif-echo", {"delivered": 300, "refused": 148, "broken": 1, "echoed": 300,
                                                 "foreign_exits": 0}),
                NoLine(r"^natsume: partition rt0 stopped: (?!stopped itself)", "rt0 stopped by force"),
                *hypervisor_ok()]),
    Scenario(
        name="vif-udp", kind="hypervisor", timeout=240,
        config="tests/integration/configs/vif-udp.toml",
        what="IPv4 over the paravirtual netif: rt0 resolves gp0 by ARP, pings it 10 times and runs 300 UDP "
             "request/response rounds (64-byte payload, echo on port 7); no exit on either side that is not its "
             "own doorbell",
        checks=[partition_banner("rt0", 1), partition_banner("gp0", 2),
                GuestPassed("rt0", ["vif-udp"]), GuestPassed("gp0", ["vif-udp"]),
                ResultFields("rt0", "vif-udp", {"arp": True, "pings": 10, "udp_rounds": 300, "foreign_exits": 0}),
                ResultFields("gp0", "vif-udp", {"refused": 0, "broken": 0, "foreign_exits": 0}),
                *hypervisor_ok()]),
    Scenario(
        name="vif-stream", kind="hypervisor", timeout=240,
        config="tests/integration/configs/vif-stream.toml",
        what="UDP stream over the paravirtual netif: rt0 sends 2000 full frames to gp0's discard port as fast as "
             "the rings take them; all arrive, with far fewer doorbells than frames (event-index suppression)",
        checks=[partition_banner("rt0", 1), partition_banner("gp0", 2),
                GuestPassed("rt0", ["vif-stream"]), GuestPassed("gp0", ["vif-stream"]),
                ResultFields("rt0", "vif-stream", {"frames": 2000, "frame_bytes": 1514, "foreign_exits": 0}),
                ResultFields("gp0", "vif-stream", {"discarded": 2000, "refused": 0, "foreign_exits": 0}),
                *hypervisor_ok()]),
    Scenario(
        name="vif-bridge", kind="hypervisor", timeout=300,
        config="tests/integration/configs/vif-bridge.toml",
        devices=(RT_E1000_VNET,),
        what="a netif backend bridged to a NIC: gp0 owns the e1000 (Bochs vnet) and bridges it to vif0; rt0, "
             "with no NIC, resolves and pings the vnet host through the vif, the bridge and the e1000",
        checks=[partition_banner("rt0", 1), partition_banner("gp0", 2),
                GuestPassed("rt0", ["vif-ping"]), GuestPassed("gp0", ["vif-bridge"]),
                ResultFields("rt0", "vif-ping", {"arp": True, "pings": 5}),
                ResultFields("gp0", "vif-bridge", {"nic_failed": 0, "refused": 0}),
                *hypervisor_ok()]),
    Scenario(
        name="vif-bridge2", kind="hypervisor", cpus=4, timeout=360,
        config="tests/integration/configs/vif-bridge2.toml",
        devices=(RT_E1000_VNET,),
        what="one netback serving two vifs: gp0 bridges its e1000 (Bochs vnet) and vif0 (rt0) and vif1 (rt1); rt0 "
             "pings the vnet host through the NIC and rt1 through the bridge alone; rt1's frame from an address "
             "not its own is dropped and counted",
        checks=[partition_banner("rt0", 1), partition_banner("rt1", 2), partition_banner("gp0", 3),
                GuestPassed("rt0", ["vif-ping"]), GuestPassed("rt1", ["vif-host"]), GuestPassed("gp0", ["vif-bridge"]),
                ResultFields("rt0", "vif-ping", {"arp": True, "pings": 5, "peer_pings": 5}),
                ResultFields("gp0", "vif-bridge", {"vifs": 2, "spoofed": 1, "nic_failed": 0, "refused": 0}),
                *hypervisor_ok()]),
    Scenario(
        name="native-ide", kind="native", cpus=1, timeout=180, disk_mib=64,
        guest_args="test=ide-read irq=1",
        what="the guest kernel's IDE driver natively: IDENTIFY of a 64 MiB disk on the secondary master, 16 "
             "reads of 64 KiB by bus-master DMA spread over the disk, each completed by the channel's interrupt "
             "(ISA line 15), every byte checked against its pattern",
        checks=[Banner(None, {"mode": "native"}), GuestPassed(None, tests=["ide-identify", "ide-irq", "ide-read"]),
                ResultFields(None, "ide-read", {"reads": 16, "good": 16, "bad_data": 0, "interrupts": 16})]),
    Scenario(
        name="passthrough-ide", kind="hypervisor", timeout=240, disk_mib=64,
        config="tests/integration/configs/passthrough-ide.toml",
        what="rt0 owns the PIIX3 IDE function: the hypervisor opens the secondary channel's legacy ports and "
             "gives rt0 its ISA line (15); rt0 reads 16 x 64 KiB of the pattern disk by bus-master DMA into its DMA "
             "window, every byte checked, then 256 KiB sequentially, every read completed by the channel's "
             "interrupt, with no VM exit",
        checks=[partition_banner("rt0", 1), GuestPassed("rt0", ["ide-identify", "ide-irq", "ide-read", "ide-seq"]),
                Line(r"^natsume: partition: rt0: device 00:01\.1 is an IDE controller in compatibility mode: "
                     r"secondary channel ports 0x170-0x177 and 0x376 opened", "the legacy ports opened"),
                Line(r"^natsume: partition: rt0: device 00:01\.1: IDE secondary channel interrupts on ISA line 15, "
                     r"GSI 15 -> core 1", "the channel's ISA line given to the owner"),
                ResultFields("rt0", "ide-read", {"reads": 16, "good": 16, "bad_data": 0, "interrupts": 16}),
                ResultFields("rt0", "ide-seq", {"requests": 8, "bad": 0, "interrupts": 8, "foreign_exits": 0}),
                *hypervisor_ok()]),
    Scenario(
        name="blk-read", kind="hypervisor", timeout=300, disk_mib=64,
        config="tests/integration/configs/blk-read.toml",
        what="paravirtual disk: gp0 owns the IDE controller and serves blkif on channel blk0; rt0, with no disk, "
             "reads 4 MiB sequentially (four 32 KiB requests in flight), every sector checked, no foreign exit",
        checks=[partition_banner("rt0", 1), partition_banner("gp0", 2),
                GuestPassed("rt0", ["blk-read"]), GuestPassed("gp0", ["blk-serve"]),
                ResultFields("rt0", "blk-read", {"requests": 128, "bad": 0, "lost": 0, "foreign_exits": 0}),
                ResultFields("gp0", "blk-serve", {"served": 128, "refused": 0, "disk_errors": 0}),
                *hypervisor_ok()]),
    Scenario(
        name="blk-hostile", kind="hypervisor", timeout=300, disk_mib=64,
        config="tests/integration/configs/blk-hostile.toml",
        what="hostile blkfront: gp0 posts a write to the read-only disk, an unknown operation, too many segments, "
             "a bad page and a sector past the disk; rt0's blkback answers each with an error, serves the 1 MiB "
             "read that follows and finishes",
        checks=[partition_banner("rt0", 1), partition_banner("gp0", 2),
                GuestPassed("rt0", ["blk-serve"]), GuestPassed("gp0", ["blk-read"]),
                ResultFields("gp0", "blk-read", {"requests": 32, "bad": 0, "injected": 5, "answered_with_errors": 5}),
                ResultFields("rt0", "blk-serve", {"served": 32, "refused": 5, "disk_errors": 0, "broken": 0}),
                NoLine(r"^natsume: partition rt0 stopped: (?!stopped itself)", "rt0 stopped by force"),
                *hypervisor_ok()]),
    Scenario(
        name="bad-config", kind="offline",
        config="tests/integration/configs/invalid-syntax.toml",
        what="./natsume check on an invalid partition file exits 1 with file:line: error:",
        offline_expect=r"invalid-syntax\.toml:6(:\d+)?: error:"),
]

# Bochs models every Bochs scenario runs on (ctest name suffix -> model).
BOCHS_MODELS = {"nehalem": "corei5_lynnfield_750", "skylake": "corei7_skylake_x"}


def bochs_models(sc: Scenario) -> list:
    return [m for m in BOCHS_MODELS if not sc.models or m in sc.models]


def by_name(name: str) -> Scenario:
    for s in SCENARIOS:
        if s.name == name:
            return s
    raise KeyError(f"unknown scenario '{name}' (known: {', '.join(s.name for s in SCENARIOS)})")
