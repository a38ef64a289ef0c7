"""Every integration scenario and what its serial log must show.

The hypervisor's exact log wording may still change: each scenario keeps
its expected patterns here, in one place, and tests/integration/README.md
lists them. Paths are relative to the repository root."""

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from checks import (Banner, BenchZeroExits, GuestPassed, Line, NativeBench, NoBanner, NoLine, Note,
                    ResultFields)

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
    # Non-empty: what the scenario waits for (a guest test or hypervisor feature
    # not built yet). ctest registers it DISABLED, so it shows as "Not Run"
    # instead of failing; run_scenario.py still runs it by hand. Remove the
    # reason once the piece lands and the scenario passes.
    pending: str = ""


# Bochs i440FX slots and the ISA lines its BIOS routes their INTx to (found
# with the probe-pci scenario): slot1 00:02.0 -> 9, slot2 00:03.0 -> 11,
# slot3 00:04.0 -> 9, slot4 00:05.0 -> 11, slot5 00:06.0 -> 9. So slot1 and
# slot2 are on different lines, slot1 shares line 9 with slot3 and slot5.
RT_E1000_VNET = PciDevice("e1000", 1, ethmod="vnet")   # 00:02.0, line 9: rt0's NIC
RT_E1000 = PciDevice("e1000", 1, ethmod="null")
GP_E1000 = PciDevice("e1000", 2, ethmod="null")        # 00:03.0, line 11: gp0's own
SHARED_PNIC = PciDevice("pcipnic", 3, ethmod="null")   # 00:04.0, line 9: shares with slot1
SHARED_LINE_COUNT = 200    # keep in step with configs/shared-line.toml
QUICK_BENCH_SAMPLES = 200   # keep in step with configs/bench-gate.toml


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
