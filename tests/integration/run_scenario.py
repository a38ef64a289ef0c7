#!/usr/bin/python3
"""Runs one integration scenario and asserts on its serial log.

  run_scenario.py --build BUILD --scenario NAME [--emulator bochs|qemu|kvm]
                  [--cpu nehalem|skylake] [--echo] [--image NAME=FILE ...]
  run_scenario.py --emit-cmake OUT     (used by CMakeLists.txt: one add_test per
                                        scenario x emulator x Bochs model)

Exit status: 0 pass, 1 fail, 77 skipped (emulator not available here)."""

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "qemu"))

from checks import run_checks  # noqa: E402
from natsume_emu import EXIT_SKIPPED, netpeer, qemu_runner  # noqa: E402
from natsume_emu.iso import BootSpec, IsoError, Module  # noqa: E402
from natsume_emu.session import (HYPERVISOR_END, NATIVE_END, BuildTree, Emulator,  # noqa: E402
                                 SetupError, boot, hypervisor_boot, native_boot,
                                 print_failure_context)
from scenarios import BOCHS_MODELS, SCENARIOS, bochs_models, by_name  # noqa: E402

PROBE_END = r"natsume-probe: done"
PROBE_MODULE_SIZE = 4096


def say(msg: str) -> None:
    print(f"scenario: {msg}", flush=True)


def probe_boot(build: BuildTree, work: Path, probe: Path) -> BootSpec:
    build.require(probe)
    module = work / "probe-module.bin"
    module.write_bytes(bytes(range(256)) * (PROBE_MODULE_SIZE // 256))
    return BootSpec(kernel=probe, cmdline="probe-arg=42 second",
                    modules=[Module(module, module.name, "probe-module")], title="probe")


def image_overrides(texts: list) -> dict:
    """--image NAME=FILE: FILE boots as the image directory's NAME."""
    out = {}
    for t in texts:
        name, eq, path = t.partition("=")
        if not eq or not name or not path:
            raise SetupError(f"--image {t}: expected NAME=FILE, e.g. linux-initramfs.cpio.gz=/tmp/initramfs.cpio.gz")
        out[name] = Path(path)
    return out


def boot_with_peer(sc, spec, work: Path, emu: Emulator, end: str, echo: bool):
    """Boots with Bochs inside a network namespace whose tap its tuntap NIC
    opens (netpeer.py); returns the session and the peer's log lines. The
    namespace and the iperf3 server are gone when this returns or raises."""
    taps = sorted({d.ethdev for d in emu.pci_devices if d.ethmod == "tuntap"})
    if len(taps) != 1:
        raise SetupError(f"{sc.name}: net_peer needs exactly one tap device among its tuntap NICs (have {taps})")
    if emu.kind != "bochs":
        raise SetupError(f"{sc.name}: the network peer runs Bochs in its namespace; not on {emu.kind}")
    with netpeer.NetPeer(work, tap=taps[0], lifetime=sc.timeout + 120) as peer:
        emu.netns = peer.netns
        session = boot(spec, work, emu, end, sc.timeout, echo=echo)
    log = peer.server_log().splitlines()
    say(f"the peer's iperf3 server log ({peer.log_path}): {len(log)} lines")
    return session, peer, log


def emulated(sc, args, build: BuildTree) -> int:
    emu = Emulator(kind=args.emulator, cpus=sc.cpus,
                   cpu_model=BOCHS_MODELS[args.cpu] if args.emulator == "bochs" else "",
                   pci_devices=tuple(sc.devices), disk_mib=sc.disk_mib, firmware=sc.firmware, megs=sc.megs)
    if sc.pending:
        say(f"note: {sc.name} is registered disabled until it has {sc.pending}")
    if emu.kind == "kvm":
        reason = qemu_runner.nested_kvm_unavailable()
        if reason:
            say(f"SKIPPED: nested KVM not available: {reason}")
            return EXIT_SKIPPED
    suffix = f".{args.cpu}" if emu.kind == "bochs" else ""
    work = build.run_dir(f"{emu.kind}.{sc.name}{suffix}")
    if sc.kind == "probe":
        probe = Path(args.probe) if args.probe else \
            build.root / "tests" / "integration" / "harness-probe.elf"
        spec, end = probe_boot(build, work, probe), PROBE_END
    elif sc.kind == "native":
        spec, end = native_boot(build, sc.guest_args), NATIVE_END
    else:
        spec, end = hypervisor_boot(build, ROOT / sc.config, work, image_overrides=image_overrides(args.image)), \
            sc.end or HYPERVISOR_END
    say(f"{sc.name}: {sc.what}")
    peer_log = None
    if sc.net_peer:
        session, peer, peer_log = boot_with_peer(sc, spec, work, emu, end, args.echo)
    else:
        session = boot(spec, work, emu, end, sc.timeout, echo=args.echo)
    errors = run_checks(sc.checks, session.lines)
    if peer_log is not None:
        errors += [f"peer: {e}" for e in run_checks(sc.peer_checks, peer_log)]
    if session.result.outcome == "timeout":
        errors.insert(0, f"timeout: the run did not end within {sc.timeout:.0f} s")
    if not errors:
        say(f"PASS {sc.name} on {emu.describe()} ({session.result.elapsed:.1f} s)")
        return 0
    say(f"FAIL {sc.name} on {emu.describe()}:")
    for e in errors:
        print(f"  - {e}", flush=True)
    print_failure_context(session)
    if peer_log is not None:
        print(f"---- the peer's iperf3 server log ({peer.log_path}), last {min(40, len(peer_log))} lines ----")
        for line in peer_log[-40:]:
            print(f"  | {line}")
    return 1


def offline(sc, build: BuildTree) -> int:
    """Through the front door, as a user would: ./natsume check FILE."""
    path = ROOT / sc.config
    env = dict(os.environ, NATSUME_BUILD_DIR=str(build.root))
    proc = subprocess.run([str(ROOT / "natsume"), "check", str(path)], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    errors = []
    if proc.returncode != 1:
        errors.append(f"exit status {proc.returncode}, expected 1")
    if not re.search(sc.offline_expect, out, re.MULTILINE):
        hint = ("./natsume check printed nothing: the build it runs first most likely failed "
                "(it discards the build's output; run ./natsume build to see why)"
                if not out.strip() else "the checker's message changed or the build failed")
        errors.append(f"no error line matching /{sc.offline_expect}/: {hint}")
    if not errors:
        say(f"PASS {sc.name}: {out.strip().splitlines()[0] if out.strip() else ''}")
        return 0
    say(f"FAIL {sc.name}:")
    for e in errors:
        print(f"  - {e}")
    print("---- ./natsume check output ----")
    print(out[-6000:])
    return 1


def ctest_entries():
    """(test name, scenario, emulator, bochs model, labels, ctest timeout)."""
    for sc in SCENARIOS:
        if sc.kind == "offline":
            yield f"offline.{sc.name}", sc, None, None, ["offline"], 600
            continue
        for emu in sc.emulators:
            budget = int(sc.timeout) + 60
            if emu == "bochs":
                for short in bochs_models(sc):
                    labels = ["bochs"] + (["slow"] if sc.slow else [])
                    yield f"bochs.{sc.name}.{short}", sc, emu, short, labels, budget
            else:
                yield f"{emu}.{sc.name}", sc, emu, None, [emu], budget


def emit_cmake(out: Path) -> None:
    lines = ["# Generated by tests/integration/run_scenario.py --emit-cmake; do not edit."]
    for name, sc, emu, cpu, labels, budget in ctest_entries():
        cmd = ["/usr/bin/python3", str(HERE / "run_scenario.py"),
               "--build", "${CMAKE_BINARY_DIR}", "--scenario", sc.name]
        if emu:
            cmd += ["--emulator", emu]
        if cpu:
            cmd += ["--cpu", cpu]
        if sc.kind == "probe":
            cmd += ["--probe", "${CMAKE_CURRENT_BINARY_DIR}/harness-probe.elf"]
        lines.append(f"add_test(NAME {name} COMMAND {' '.join(cmd)})")
        props = [f'LABELS "{";".join(labels)}"', f"TIMEOUT {budget}"]
        if emu == "kvm":
            props.append("SKIP_RETURN_CODE 77")
        if sc.kind == "offline":
            # ./natsume check runs the build: keep it away from other builds.
            props.append("RUN_SERIAL TRUE")
        if sc.pending:
            props.append("DISABLED TRUE")
        lines.append(f"set_tests_properties({name} PROPERTIES {' '.join(props)})")
    out.write_text("\n".join(lines) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build")
    ap.add_argument("--scenario")
    ap.add_argument("--emulator", choices=("bochs", "qemu", "kvm"), default="bochs")
    ap.add_argument("--cpu", choices=tuple(BOCHS_MODELS), default="nehalem")
    ap.add_argument("--echo", action="store_true", help="stream the serial log")
    ap.add_argument("--probe", help="harness probe kernel (default: BUILD/tests/integration/...)")
    ap.add_argument("--image", action="append", default=[], metavar="NAME=FILE",
                    help="boot FILE as the build's image NAME (e.g. linux-initramfs.cpio.gz=/tmp/variant.cpio.gz: "
                         "an initramfs with a script the build does not have yet); repeatable")
    ap.add_argument("--emit-cmake", metavar="OUT")
    args = ap.parse_args()
    if args.emit_cmake:
        emit_cmake(Path(args.emit_cmake))
        return 0
    if not args.build or not args.scenario:
        ap.error("--build and --scenario are required")
    build = BuildTree(Path(args.build).resolve())
    try:
        sc = by_name(args.scenario)
        if sc.kind == "offline":
            return offline(sc, build)
        return emulated(sc, args, build)
    except (SetupError, IsoError, KeyError, ValueError, netpeer.NetPeerError) as e:  # incl. Bochs/QEMU config errors
        say(f"FAIL {args.scenario}: could not set up the run: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
