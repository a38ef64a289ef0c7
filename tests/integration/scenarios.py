"""Every integration scenario and what its serial log must show.

The hypervisor's exact log wording may still change: each scenario keeps
its expected patterns here, in one place, and tests/integration/README.md
lists them. Paths are relative to the repository root."""

from dataclasses import dataclass, field
from typing import Optional

from checks import Banner, GuestPassed, Line, NoBanner, NoLine

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
                GuestPassed("rt0"), GuestPassed("gp0"), *hypervisor_ok()]),
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
        name="bad-config", kind="offline",
        config="tests/integration/configs/invalid-syntax.toml",
        what="./natsume check on an invalid partition file exits 1 with file:line: error:",
        offline_expect=r"invalid-syntax\.toml:6(:\d+)?: error:"),
]

# Bochs models every Bochs scenario runs on (ctest name suffix -> model).
BOCHS_MODELS = {"nehalem": "corei5_lynnfield_750", "skylake": "corei7_skylake_x"}


def by_name(name: str) -> Scenario:
    for s in SCENARIOS:
        if s.name == name:
            return s
    raise KeyError(f"unknown scenario '{name}' (known: {', '.join(s.name for s in SCENARIOS)})")
