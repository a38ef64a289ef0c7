#!/usr/bin/python3
"""Boot Natsume under an emulator.

  natsume_run.py --build BUILD run FILE [--cpu MODEL] [--cpus N] [--timeout S] [--emulator E]
      compile the partition file FILE, build an ISO, boot the hypervisor,
      stream the serial log; exit 0 when all partitions stopped without a
      panic, 1 on panic or timeout, 2 when the run could not be set up,
      77 when the emulator is not available here (nested KVM).
  natsume_run.py --build BUILD demo
      run configs/default.toml on corei5_lynnfield_750 with 3 CPUs, then show
      each partition's console and a summary of the hypervisor's own lines.
  natsume_run.py --build BUILD native [--args "..."] [--cpu MODEL] [--emulator E]
      boot the guest kernel alone (no hypervisor) with exit=1.
  run and native also take --pci KIND@SLOT[:BACKEND] (repeatable), e.g.
      --pci e1000@1:vnet --pci e1000@2:null: PCI devices in Bochs slots (QEMU:
      e1000 only, at the same BDF).
"""

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from natsume_emu import EXIT_SKIPPED  # noqa: E402
from natsume_emu import bochs, qemu_runner, serial_log  # noqa: E402
from natsume_emu.blob import read_blob  # noqa: E402
from natsume_emu.iso import IsoError  # noqa: E402
from natsume_emu.session import (HYPERVISOR_END, NATIVE_END, BuildTree, Emulator,  # noqa: E402
                                 SetupError, boot, hypervisor_boot, native_boot,
                                 print_failure_context, say)

EXIT_OK, EXIT_FAIL, EXIT_SETUP = 0, 1, 2
DEFAULT_TIMEOUT = 300.0


def emulator_from(args) -> Emulator:
    return Emulator(kind=args.emulator, cpu_model=bochs.resolve_cpu(args.cpu),
                    cpus=args.cpus, pci_devices=tuple(args.pci))


def check_available(emu: Emulator) -> None:
    if emu.kind == "kvm":
        reason = qemu_runner.nested_kvm_unavailable()
        if reason:
            say(f"SKIPPED: nested KVM not available: {reason}")
            sys.exit(EXIT_SKIPPED)


def verdict(session, want_end: bool = True) -> int:
    lines = session.lines
    panics = [l for l in lines if serial_log.PANIC.search(l)]
    stopped = any(serial_log.ALL_STOPPED.search(l) for l in lines)
    if panics:
        say("FAILED: the hypervisor panicked: " + panics[0])
    elif want_end and not stopped:
        say(f"FAILED: no 'natsume: all partitions stopped' ({session.result.outcome})")
    else:
        say("all partitions stopped, no panic")
        return EXIT_OK
    print_failure_context(session)
    return EXIT_FAIL


def run_partition_file(build: BuildTree, toml: Path, emu: Emulator, timeout: float,
                       run_name: str):
    check_available(emu)
    work = build.run_dir(run_name)
    say(f"compiling {toml}")
    spec = hypervisor_boot(build, toml, work)
    emu.megs = emulated_megs(read_blob(work / "natsume-config.bin"), emu.megs)
    return boot(spec, work, emu, HYPERVISOR_END, timeout), work


def emulated_megs(blob, at_least: int) -> int:
    """Emulated RAM that holds every partition's RAM and DMA window (a Linux
    partition's lie above Bochs' default 256 MiB), in steps of 128 MiB."""
    top = max((p.host_end() for p in blob.partitions), default=0) >> 20
    return max(at_least, -(-(top + 32) // 128) * 128)


def cmd_run(args, build: BuildTree) -> int:
    toml = Path(args.file).resolve()
    emu = emulator_from(args)
    session, _ = run_partition_file(build, toml, emu, args.timeout,
                                    f"run-{toml.stem}-{emu.kind}-{emu.cpu_model}")
    return verdict(session)


def cmd_native(args, build: BuildTree) -> int:
    emu = emulator_from(args)
    check_available(emu)
    work = build.run_dir(f"native-{emu.kind}-{emu.cpu_model}")
    session = boot(native_boot(build, args.args), work, emu, NATIVE_END, args.timeout)
    report = serial_log.guest_report(serial_log.console_of(session.lines, None))
    if report.done and report.done[1] == 0:
        say(f"guest kernel done: pass={report.done[0]} fail=0")
        return EXIT_OK
    say(f"FAILED: guest kernel tally {report.done} ({session.result.outcome})")
    print_failure_context(session)
    return EXIT_FAIL


# Hypervisor lines the demo summary picks out, by what they tell.
STOP_REASON = re.compile(r"partition \S+ stopped|all partitions stopped")
COUNTERS = re.compile(r"^natsume: stats:|\bexits\b|\bcounters?\b", re.IGNORECASE)


def print_console_view(lines: list, blob) -> None:
    consoles = serial_log.partition_consoles(lines)
    names = [p.name for p in blob.partitions] + [n for n in consoles
                                                 if n not in {p.name for p in blob.partitions}]
    info = {p.name: p for p in blob.partitions}
    print()
    for name in names:
        p = info.get(name)
        where = ""
        if p:
            where = (f" - cores {','.join(map(str, p.cores))}, RAM {p.ram_size >> 20} MiB "
                     f"at {p.ram_base:#x}, image {p.image}")
        print(f"==== partition {name}{where} ====")
        for text in consoles.get(name, ["(no console output)"]):
            print(f"  {text}")
        print()
    hv = serial_log.hypervisor_lines(lines)
    part_names = set(info)
    stops = [l for l in hv if STOP_REASON.search(l)]
    counters = [l for l in hv if COUNTERS.search(l) and l not in stops]
    table = [l for l in hv if l not in stops and l not in counters
             and any(re.search(rf"\b{re.escape(n)}\b", l) for n in part_names)]
    panics = [l for l in lines if serial_log.PANIC.search(l)]
    print("==== hypervisor ====")
    for title, group in (("partition table", table), ("stop reasons", stops),
                         ("exit counters", counters), ("PANIC", panics)):
        if group or title != "PANIC":
            print(f"  -- {title} --")
            for l in group or ["(none seen)"]:
                print(f"    {l}")
    print(f"  ({len(hv)} hypervisor lines in total)")
    print()


DEMOS = {"default": "default.toml", "linux": "linux.toml"}
# The machine each demo file describes: configs/linux.toml gives linux0 the
# e1000 in slot 1 (00:02.0), on the vnet backend that answers its pings.
DEMO_PCI = {"default": (), "linux": (bochs.PciDevice("e1000", 1, ethmod="vnet"),)}
HV_START = re.compile(r"natsume: boot: Natsume \S+ hypervisor starting \(TSC (\d+)\)")
LINUX_INIT = re.compile(r"^\[(\S+)\] natsume-linux: init started \(.*tsc (\d+)")


def report_linux_boot(lines: list, ips: int) -> None:
    """Hypervisor start to Linux's /init, in Bochs ticks (the TSC counts
    instructions under Bochs: an emulator figure, not a hardware time)."""
    start = next((int(m.group(1)) for l in lines if (m := HV_START.search(l))), None)
    init = next(((m.group(1), int(m.group(2))) for l in lines if (m := LINUX_INIT.search(l))), None)
    if start is None or init is None or init[1] < start:
        say("Linux boot time: not measured (no hypervisor start or /init line with a TSC)")
        return
    ticks = init[1] - start
    say(f"Linux boot time: {init[0]}'s /init started {ticks:,} Bochs ticks after the hypervisor did "
        f"({ticks / ips:.1f} emulated s at {ips // 1_000_000} M instructions a second; Bochs ticks are "
        f"instruction counts, not hardware time)")
# Wall seconds a Linux boot under Bochs may take (about 4-6 minutes here).
LINUX_DEMO_TIMEOUT = 1200


def cmd_demo(args, build: BuildTree) -> int:
    toml = ROOT / "configs" / DEMOS[args.which]
    emu = Emulator(kind="bochs", cpu_model="corei5_lynnfield_750", cpus=3, pci_devices=DEMO_PCI[args.which])
    timeout = max(args.timeout, LINUX_DEMO_TIMEOUT) if args.which == "linux" else args.timeout
    say(f"demo: {toml.relative_to(ROOT)} on {emu.describe()}")
    if args.which == "linux":
        say("Linux boots at the pace of an emulated 10 MHz CPU: expect 4 to 6 minutes")
    session, work = run_partition_file(build, toml, emu, timeout, f"demo-{args.which}")
    if args.which == "linux":
        report_linux_boot(session.lines, emu.ips)
    print_console_view(session.lines, read_blob(work / "natsume-config.bin"))
    say(f"serial log: {session.result.files.get('serial')}")
    return verdict(session)


def parse_args(argv):
    ap = argparse.ArgumentParser(description="Boot Natsume under an emulator.")
    ap.add_argument("--build", required=True, help="CMake build directory")
    sub = ap.add_subparsers(dest="command", required=True)

    def emu_opts(p):
        p.add_argument("--cpu", default=bochs.DEFAULT_CPU,
                       help="Bochs CPU model: corei5_lynnfield_750 (nehalem, default) "
                            "or corei7_skylake_x (skylake)")
        p.add_argument("--cpus", type=int, default=bochs.DEFAULT_CPUS, help="emulated CPUs")
        p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="wall seconds")
        p.add_argument("--emulator", choices=("bochs", "qemu", "kvm"), default="bochs")
        p.add_argument("--pci", action="append", default=[], type=bochs.parse_pci_device,
                       metavar="KIND@SLOT[:BACKEND]",
                       help="a PCI device, e.g. e1000@1:vnet, e1000@2:null, pcipnic@5 "
                            "(Bochs slot 1-5 = 00:02.0-00:06.0; QEMU mirrors e1000 at the same BDF)")

    run = sub.add_parser("run", help="boot a partition file")
    run.add_argument("file")
    emu_opts(run)
    demo = sub.add_parser("demo", help="boot configs/default.toml (or, with linux, configs/linux.toml) and show each "
                                       "console")
    demo.add_argument("which", nargs="?", choices=sorted(DEMOS), default="default")
    demo.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    native = sub.add_parser("native", help="boot the guest kernel without the hypervisor")
    native.add_argument("--args", default="", help="extra guest kernel arguments")
    emu_opts(native)
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    build = BuildTree(Path(args.build).resolve())
    handlers = {"run": cmd_run, "demo": cmd_demo, "native": cmd_native}
    try:
        return handlers[args.command](args, build)
    except (SetupError, IsoError, ValueError) as e:
        say(f"error: {e}")
        return EXIT_SETUP
    except KeyboardInterrupt:
        say("interrupted")
        return EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
