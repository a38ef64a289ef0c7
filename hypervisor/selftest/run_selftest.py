#!/usr/bin/python3
"""Boots natsume-selftest on QEMU TCG with intel-iommu (interrupt remapping on)
and the edu and e1000 devices, and checks its result lines.

Passes when every NATSUME-RESULT passed, all required test names reported,
every result used the paging depth this address width implies (3 levels for
aw-bits=39, 4 for 48), NATSUME-DONE reports fail=0 and QEMU left through
isa-debug-exit with code 0."""

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "qemu"))
from natsume_emu import iso, qemu_runner, runner  # noqa: E402

DMA_TESTS = ["dmar", "x58-erratum-check", "vtd-init", "vtd-enable", "dma-mapped", "dma-2mib-mapping",
             "dma-unmapped-faulted", "dma-readonly-faulted", "dma-above-39-bits", "dma-hypervisor-memory",
             "dma-peer-to-peer", "dma-fault-storm", "dma-bus-master-off"]
QUEUED_TESTS = DMA_TESTS + ["msi-remapped", "msi-wrong-source-id", "msi-injection-blocked",
                            "msi-virtualized-remapped", "msix-virtualized-remapped"]
# Without queued invalidation the interrupt entry cache cannot be flushed, so
# interrupt remapping must refuse to start.
REGISTER_TESTS = DMA_TESTS + ["ir-needs-queue"]
RESULT = re.compile(r"NATSUME-RESULT (\{.*\})")
DONE = re.compile(r"NATSUME-DONE pass=(\d+) fail=(\d+)")


def qemu_command(image_iso: Path, serial: Path, aw_bits: int, cpus: int) -> list:
    iommu = "intel-iommu,intremap=on" + (",aw-bits=48" if aw_bits == 48 else "")
    return [qemu_runner.QEMU_BIN, "-accel", "tcg", "-M", "q35", "-cpu", "max", "-smp", str(cpus),
            "-m", "512", "-device", iommu,
            # A 48-bit DMA mask so edu can reach IOVAs above 4 GiB (default is 28 bits).
            "-device", "edu,dma_mask=0xffffffffffff", "-device", "e1000", "-device", "e1000e",
            "-cdrom", str(image_iso), "-serial", f"file:{serial}", "-display", "none", "-no-reboot",
            *qemu_runner.DEBUG_EXIT]


def check(serial_text: str, exit_code, levels: int, required: list) -> list:
    problems = []
    results = {}
    for line in serial_text.splitlines():
        m = RESULT.search(line)
        if m:
            try:
                r = json.loads(m.group(1))
            except json.JSONDecodeError as e:
                problems.append(f"unparsable result line ({e}): {line}")
                continue
            results[r.get("test")] = r
    for name in required:
        if name not in results:
            problems.append(f"test '{name}' did not report")
    for name, r in results.items():
        if r.get("status") != "pass":
            problems.append(f"test '{name}' failed: {json.dumps(r)}")
        if r.get("levels") not in (0, levels) and name not in ("dmar", "x58-erratum-check"):
            problems.append(f"test '{name}' ran with {r.get('levels')} levels, expected {levels}")
    done = DONE.search(serial_text)
    if not done:
        problems.append("no NATSUME-DONE line")
    elif int(done.group(2)) != 0 or int(done.group(1)) < len(required):
        problems.append(f"summary: {done.group(0)}")
    if "natsume: PANIC" in serial_text:
        problems.append("the self-test panicked")
    if exit_code != 0:
        problems.append(f"QEMU debug-exit code {exit_code}, expected 0")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--image", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--aw-bits", type=int, choices=(39, 48), default=39)
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--invalidation", choices=("queued", "register"), default="queued")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--echo", action="store_true")
    args = ap.parse_args()

    levels = 4 if args.aw_bits == 48 else 3
    args.image = args.image.resolve()
    args.work = args.work.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    cmdline = f"vtd-levels={levels}"
    if args.invalidation == "register":
        cmdline += " vtd-register-invalidation"
    spec = iso.BootSpec(kernel=args.image, cmdline=cmdline, title="natsume-selftest")
    image_iso = iso.build_iso(spec, args.work)
    serial = args.work / "serial.log"
    if serial.exists():
        serial.unlink()
    cmd = qemu_command(image_iso, serial, args.aw_bits, args.cpus)
    (args.work / "qemu-cmdline.txt").write_text(" ".join(cmd) + "\n")
    on_line = (lambda line: print(line, flush=True)) if args.echo else None
    result = runner.run_following_serial(cmd, serial, args.work / "qemu.out", r"NATSUME-DONE|natsume: PANIC",
                                         args.timeout, on_line, cwd=args.work)
    required = REGISTER_TESTS if args.invalidation == "register" else QUEUED_TESTS
    problems = check(result.serial, qemu_runner.debug_exit_code(result.returncode), levels, required)
    if result.outcome == "timeout":
        problems.insert(0, f"timed out after {args.timeout} s")
    for p in problems:
        print(f"FAIL: {p}")
    if problems:
        qemu_out = (args.work / "qemu.out").read_text(errors="replace").strip()
        if qemu_out:
            print(f"QEMU said: {qemu_out[-2000:]}")
        print(f"serial log: {serial}")
        return 1
    print(f"PASS: VT-d self-test, aw-bits={args.aw_bits} ({levels}-level), {args.invalidation} invalidation, "
          f"{result.elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
