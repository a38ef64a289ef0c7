#!/usr/bin/python3
"""Natsume benchmarks under Bochs.

  natsume_bench.py --build BUILD irq [--quick] [--samples N] [--cpu MODEL ...]
                   [--load LOAD ...] [--lapic MODE ...] [--results DIR]
                   [--docs DIR | --no-docs] [--echo]
  natsume_bench.py --build BUILD exits [--quick] [--samples N] [--cpu MODEL ...]
  natsume_bench.py --build BUILD io [--quick] [--kib N] [--path disk|net ...] [--load L ...] [--cpu MODEL ...]

`exits` times each common VM exit from inside a partition (qemu/bench_exits.py).

`irq` runs the guest kernel's `test=bench-irq` (device interrupt latency via
e1000 ICS, LAPIC timer latency) natively (guest kernel alone via multiboot2)
and in partition rt0 (which owns the e1000 in slot1), on every Bochs CPU
model, with the other partition idle (load none), running `test=load-cpu`
(load cpu) or `test=load-irq` on its own e1000 (load irq-storm). It writes
BUILD/results/irq.json, then renders irq-latency.svg and irq.md: into
docs/results/ for a full run, into BUILD/results/ for --quick (a CI-sized run
must not replace the published figures) unless --docs says otherwise.

Exit status: 0 every case ran and every direct path (partition, LAPIC passed
through) took 0 VM exits per interrupt; 1 a run failed or the gate failed;
2 the benchmark could not be set up. Under Bochs every figure is a count of
TSC ticks (one per emulated instruction) and emulated ns at the configured
ips, never a hardware time.
"""

import argparse
import datetime
import json
import platform
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from natsume_emu import bench, bochs, serial_log  # noqa: E402
from natsume_emu.iso import IsoError  # noqa: E402
from natsume_emu.session import (NATIVE_END, BuildTree, Emulator, SetupError, boot,  # noqa: E402
                                 hypervisor_boot, native_boot, print_failure_context)

EXIT_OK, EXIT_FAIL, EXIT_SETUP = 0, 1, 2
FULL_SAMPLES = 10_000
QUICK_SAMPLES = 200
# The same emulated machine for every case: core 0 hypervisor, 1 rt0, 2 gp0.
CPUS = 3
# rt0's device (slot1 = 00:02.0, INTx on ISA line 9) and the other
# partition's own device for the interrupt storm (slot2 = 00:03.0, line 11:
# a different line, so rt0's line stays a direct, unshared route).
RT_DEVICE = bochs.PciDevice("e1000", 1, ethmod="null")
GP_DEVICE = bochs.PciDevice("e1000", 2, ethmod="null")
# Both loads run far longer than rt0's measurement (load-irq stops after
# seconds=, 5 by default); the run ends when rt0 is done.
GP_TEST = {"cpu": "test=load-cpu", "irq-storm": "test=load-irq seconds=3600",
           "ipi-storm": "test=load-irq ipi=1 seconds=3600",
           "console-flood": "test=load-attack kind=console", "io-storm": "test=load-attack kind=io",
           "ipi-attack": "test=load-attack kind=ipi", "eoi-flood": "test=load-attack kind=eoi",
           "refusal-flood": "test=load-attack kind=msr"}
# Linux loads: linux0 on core 2 boots configs/linux.toml's kernel and
# initramfs and owns the e1000 in slot2 (00:03.0, line 11) on vnet. rt0
# halts after_s emulated seconds before measuring, so its measurement falls
# inside the load; the TSCs both print show whether it did. Linux reaches
# /init about 715 emulated s after the hypervisor starts (docs/linux.md).
@dataclass(frozen=True)
class LinuxLoad:
    after_s: int      # rt0's wait before measuring
    params: str       # linux0's natsume.* parameters
    marker: str       # the console line whose TSC starts the load ("" = the boot itself)


LINUX_NET = "natsume.ip=192.168.10.15/24 natsume.peer=192.168.10.1"
LINUX_LOADS = {
    "linux-boot": LinuxLoad(550, "natsume.run=info", ""),
    "linux-stress": LinuxLoad(850, "natsume.run=load natsume.load=stress natsume.load_s=900", "stress"),
    "linux-net": LinuxLoad(850, f"natsume.run=net,load natsume.load=net natsume.load_s=900 {LINUX_NET}", "net"),
}
LINUX_DEVICE = bochs.PciDevice("e1000", 2, ethmod="vnet")
LINUX_MEGS = 512
LINUX_TIMEOUT = 2400.0
LINUX_INIT = re.compile(r"^\[linux0\] natsume-linux: init started \(.*tsc (\d+)")
LINUX_LOAD_START = re.compile(r"^\[linux0\] natsume-linux: load (\S+) start tsc=(\d+)")
LINUX_LOAD_END = re.compile(r"^\[linux0\] natsume-linux: load (\S+) end tsc=(\d+)")
WINDOW = re.compile(r"^\[rt0\] NATSUME-BENCH-WINDOW (\{.*\})")


def linux_block(load: str) -> str:
    cmdline = ("console=ttyS0 nokaslr io_delay=none natsume.shell=0 " + LINUX_LOADS[load].params)
    return f'''
[[partition]]
name = "linux0"
kind = "linux"
cores = [2]
ram = {{ base = 0x09000000, size = "4M" }}
dma = {{ base = 0x09400000, size = "252M" }}
allow_unisolated_dma = true
kernel = "linux.bzImage"
initramfs = "linux-initramfs.cpio.gz"
cmdline = "{cmdline}"
lapic = "trapped"

[[partition.device]]
bdf = "{LINUX_DEVICE.bdf}"
id = "{bench.E1000_ID}"
'''


def linux_coverage(lines: list, load: str) -> dict:
    """Whether Linux's load covered rt0's measurement, from the TSCs both
    printed (Bochs' TSCs advance together on every CPU)."""
    win = next((json.loads(m.group(1)) for l in lines if (m := WINDOW.search(l))), None)
    init = next((int(m.group(1)) for l in lines if (m := LINUX_INIT.search(l))), None)
    want = LINUX_LOADS[load].marker
    start = next((int(m.group(2)) for l in lines if (m := LINUX_LOAD_START.search(l)) and m.group(1) == want), None)
    end = next((int(m.group(2)) for l in lines if (m := LINUX_LOAD_END.search(l)) and m.group(1) == want), None)
    out = {"rt0_window_tsc": win, "linux_init_tsc": init, "load_start_tsc": start, "load_end_tsc": end}
    if not win:
        out["covered"] = False
    elif not want:   # the boot: still before /init when rt0 finished
        out["covered"] = init is None or init > win["tsc_end"]
    else:
        out["covered"] = (start is not None and start < win["tsc_start"]
                          and (end is None or end > win["tsc_end"]))
    return out


# Partition runs end when rt0 is done: the load partition may never stop.
PARTITION_END = (r"^\[rt0\] NATSUME-DONE|natsume: PANIC|natsume: all partitions stopped"
                 r"|natsume: partition rt0 stopped")


# Bochs `cpu: quantum=N` for this run, or None for Bochs' default. The
# harness's bochsrc has no such knob, so the cpu line is extended here.
QUANTUM = None


def set_quantum(n) -> None:
    global QUANTUM
    QUANTUM = n
    if n is None or getattr(bochs.bochsrc, "with_quantum", False):
        return
    plain = bochs.bochsrc

    def bochsrc(cfg):
        text = plain(cfg)
        if QUANTUM is None:
            return text
        return re.sub(r"^(cpu: .*)$", rf"\1, quantum={QUANTUM}", text, count=1, flags=re.M)
    bochsrc.with_quantum = True
    bochs.bochsrc = bochsrc


def say(msg: str) -> None:
    print(f"natsume-bench: {msg}", flush=True)


@dataclass
class RunOutcome:
    spec: bench.CaseSpec
    cases: list            # irq.json case records
    error: str = ""        # why the run produced no (or incomplete) results
    work_dir: str = ""


def gp_lapic(load: str) -> str:
    """The load partition's local APIC: an attacker is untrusted (trapped,
    its interrupt commands filtered); the other loads pass it through."""
    return "trapped" if load in bench.ATTACK_LOADS else "passthrough"


def partition_toml(spec: bench.CaseSpec, samples: int) -> str:
    """The bench machine, as configs/passthrough.toml lays it out: rt0 owns the
    e1000 in slot1; the load partition owns the e1000 in slot2."""
    text = f'''# Generated by qemu/natsume_bench.py for case {spec.name("*")}
version = 1
name = "bench-irq"
'''
    after = f" after_s={LINUX_LOADS[spec.load].after_s}" if spec.load in LINUX_LOADS else ""
    text += bench.partition_block("rt0", 1, 0x04000000, 0x08000000,
                                  f"role=rt test=bench-irq samples={samples}{after}", spec.lapic, RT_DEVICE.bdf)
    if spec.load in LINUX_LOADS:
        text += linux_block(spec.load)
    elif spec.load != "none":
        text += bench.partition_block("gp0", 2, 0x06000000, 0x08800000, f"role=gp {GP_TEST[spec.load]}",
                                      gp_lapic(spec.load), GP_DEVICE.bdf)
    return text


def case_specs(models: list, loads: list, lapics: list) -> list:
    specs = []
    for model in models:
        specs.append(bench.CaseSpec(model, "native", "native", "none"))
        for lapic in lapics:
            # Only xAPIC-only CPUs offer the choice; x2APIC CPUs pass the MSRs through.
            if lapic == "trapped" and model != "corei5_lynnfield_750":
                continue
            for load in loads:
                # Linux next door: measured against rt0 with its LAPIC passed through.
                if load in LINUX_LOADS and lapic != "passthrough":
                    continue
                specs.append(bench.CaseSpec(model, "partition", lapic, load))
    return specs


def load_still_running(lines: list) -> bool:
    """True when gp0 had not finished when rt0 did: its load covered every sample."""
    gp_done = [i for i, l in enumerate(lines) if re.match(r"^\[gp0\] NATSUME-DONE", l)
               or re.search(r"natsume: partition gp0 stopped", l)]
    rt_done = [i for i, l in enumerate(lines) if re.match(r"^\[rt0\] NATSUME-DONE", l)]
    return bool(rt_done) and (not gp_done or gp_done[0] > rt_done[0])


def run_case(build: BuildTree, spec: bench.CaseSpec, samples: int, timeout: float,
             ips: int, echo: bool) -> RunOutcome:
    linux = spec.load in LINUX_LOADS
    emu = Emulator(kind="bochs", cpu_model=spec.cpu_model, cpus=CPUS, ips=ips,
                   pci_devices=(RT_DEVICE, LINUX_DEVICE if linux else GP_DEVICE),
                   **({"megs": LINUX_MEGS} if linux else {}))
    if linux:
        timeout = max(timeout, LINUX_TIMEOUT)
    work = build.run_dir("bench-irq." + spec.name("all"))
    outcome = RunOutcome(spec=spec, cases=[], work_dir=str(work))
    try:
        if spec.mode == "native":
            boot_spec = native_boot(build, f"test=bench-irq samples={samples}")
            end, console = NATIVE_END, None
        else:
            toml = work / "bench-irq.toml"
            toml.write_text(partition_toml(spec, samples))
            boot_spec = hypervisor_boot(build, toml, work)
            end, console = PARTITION_END, "rt0"
    except (SetupError, IsoError) as e:
        outcome.error = f"could not set up the run: {e}"
        return outcome
    session = boot(boot_spec, work, emu, end, timeout, echo=echo)
    lines = session.lines
    panics = [l for l in lines if serial_log.PANIC.search(l)]
    try:
        found = bench.measurements(lines, console)
    except bench.BenchError as e:
        found, outcome.error = [], str(e)
    extra = {"wall_seconds": round(session.result.elapsed, 1),
             "bochs_quantum": QUANTUM or "default (16)",
             "emulator": f"Bochs {spec.cpu_model}, {CPUS} CPUs",
             "devices": {"rt0" if spec.mode == "partition" else "guest": RT_DEVICE.bdf}}
    if linux:
        cover = linux_coverage(lines, spec.load)
        extra["load_partition"] = {"name": "linux0", "cmdline": LINUX_LOADS[spec.load].params, "lapic": "trapped",
                                   "device": LINUX_DEVICE.bdf, "rt0_after_s": LINUX_LOADS[spec.load].after_s,
                                   "running_until_rt0_done": cover["covered"], "tsc": cover}
        if not cover["covered"] and not outcome.error:
            outcome.error = f"Linux's {spec.load} load did not cover rt0's measurement: {cover}"
    elif spec.mode == "partition" and spec.load != "none":
        extra["load_partition"] = {"name": "gp0", "cmdline": GP_TEST[spec.load], "lapic": gp_lapic(spec.load),
                                   "device": GP_DEVICE.bdf,
                                   "running_until_rt0_done": load_still_running(lines)}
    outcome.cases = [bench.case_record(spec, m, ips, extra) for m in found]
    seen = {m.source for m in found}
    missing = [s for s in bench.SOURCES if s not in seen]
    if panics:
        outcome.error = f"hypervisor panic: {panics[0]}"
    elif not outcome.error and missing:
        unknown = [l for l in lines if "unknown test 'bench-irq'" in l]
        why = "the guest kernel has no test=bench-irq" if unknown else session.result.outcome
        outcome.error = f"no NATSUME-BENCH line for source {', '.join(missing)} ({why})"
    if outcome.error:
        print_failure_context(session)
    return outcome


def git(*args) -> str:
    proc = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def host_cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def bochs_version() -> str:
    proc = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "bochs"], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL)
    return proc.stdout.strip() if proc.returncode == 0 else "unknown"


def metadata(args, samples: int, ips: int) -> dict:
    commit = git("rev-parse", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    # The options as given (the build and output paths left out): what to type to rerun it.
    given = [a for a in getattr(args, "argv", []) if a != "--no-docs"]
    cmd = " ".join(["./natsume bench irq"] + given)
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "quick": args.quick,
        "samples_requested": samples,
        "ips": ips,
        "bochs": bochs_version(),
        "clock": f"sync=none, time0={bochs.TIME0} (deterministic)",
        "host_cpu": host_cpu(),
        "git_commit": commit + ("-dirty" if commit and dirty else ""),
        "command": cmd,
        "bochs_quantum": args.quantum or "default (16)",
        "units": "Bochs TSC ticks (one per emulated instruction per CPU) and emulated ns at "
                 "the configured ips; not real-hardware times",
    }


def parse_args(argv):
    ap = argparse.ArgumentParser(description="Natsume benchmarks under Bochs.")
    ap.add_argument("--build", required=True, help="CMake build directory")
    sub = ap.add_subparsers(dest="bench", required=True)
    irq = sub.add_parser("irq", help="interrupt latency, Native vs partition")
    irq.add_argument("--quick", action="store_true",
                     help=f"{QUICK_SAMPLES} samples per case (CI); results stay in BUILD/results")
    irq.add_argument("--samples", type=int, help=f"samples per case (default {FULL_SAMPLES})")
    irq.add_argument("--cpu", action="append", choices=sorted(bochs.CPU_MODELS),
                     help="Bochs model (repeatable; default: all)")
    irq.add_argument("--load", action="append", choices=bench.LOADS,
                     help="load in the other partition (repeatable; default: all)")
    irq.add_argument("--lapic", action="append", choices=("passthrough", "trapped"),
                     help="partition LAPIC mode (repeatable; default: passthrough, and trapped "
                          "on corei5_lynnfield_750)")
    irq.add_argument("--ips", type=int, default=bochs.DEFAULT_IPS)
    irq.add_argument("--quantum", type=int, choices=range(1, 33), metavar="1..32",
                     help="Bochs SMP quantum (cpu: quantum=N), for experiments on how the "
                          "emulator's shared clock moves; default Bochs' own (16)")
    irq.add_argument("--results", help="where irq.json goes (default BUILD/results)")
    irq.add_argument("--timeout", type=float, help="wall seconds per run")
    docs = irq.add_mutually_exclusive_group()
    docs.add_argument("--docs", help="where irq.md and irq-latency.svg go")
    docs.add_argument("--no-docs", action="store_true", help="only write irq.json")
    irq.add_argument("--merge", action="append", default=[], metavar="IRQ_JSON",
                     help="with --render-only: merge the cases of this irq.json (another run's, e.g. "
                          "one CPU model's Linux loads) into the published one before rendering; "
                          "each replaces the case of the same name (repeatable)")
    irq.add_argument("--echo", action="store_true", help="stream every serial log")
    irq.add_argument("--render-only", action="store_true",
                     help="run nothing: redraw irq.md and irq-latency.svg from the irq.json in "
                          "--results (after a change of the report's layout)")
    ex = sub.add_parser("exits", help="VM-exit round trips from inside a partition")
    add_run_options(ex, "exits", "200 samples per case")
    ex.add_argument("--samples", type=int, help="samples per case (default 1000)")
    ex.add_argument("--baseline", help="exits.json of another commit: its p50 beside each case")
    io = sub.add_parser("io", help="I/O paths: Native, Passthrough, Paravirtual; disk and network; loads")
    add_run_options(io, "io", "1 MiB, 80 round trips and 800 frames per case, no load")
    io.add_argument("--kib", type=int, help="KiB read per disk case (default 8192)")
    io.add_argument("--path", action="append", choices=("disk", "net"), help="repeatable; default both")
    io.add_argument("--load", action="append", choices=("none", "cpu", "backend", "io"),
                    help="repeatable; default all (--quick: none)")
    io.add_argument("--variants-only", action="store_true",
                    help="run only the paravirtual experiments (copy, no-poll)")
    io.add_argument("--no-variants", action="store_true", help="leave the paravirtual experiments out")
    io.add_argument("--merge", action="store_true",
                    help="put the cases run into the io.json already in --results, replacing the same cases")
    io.add_argument("--render-only", action="store_true",
                    help="run nothing: redraw io.md and its plots from the io.json in --results")
    return ap.parse_args(argv)


def add_run_options(p, name: str, quick: str) -> None:
    """The options bench exits and bench io share."""
    p.add_argument("--quick", action="store_true", help=f"{quick}; results stay in BUILD/results")
    p.add_argument("--cpu", action="append", choices=sorted(bochs.CPU_MODELS),
                   help="Bochs model (repeatable; default: all)")
    p.add_argument("--ips", type=int, default=bochs.DEFAULT_IPS)
    p.add_argument("--results", help=f"where {name}.json goes (default BUILD/results)")
    p.add_argument("--docs", help=f"where {name}.md goes (default docs/results, BUILD/results for --quick)")
    p.add_argument("--timeout", type=float, help="wall seconds per run")
    p.add_argument("--echo", action="store_true", help="stream every serial log")


def publish(args, doc: dict, results: Path) -> bool:
    """irq.md and irq-latency.svg (plus a copy of irq.json when they go
    elsewhere than results/). False when matplotlib is missing."""
    docs = Path(args.docs) if args.docs else (results if args.quick else ROOT / "docs" / "results")
    try:
        import bench_report  # noqa: E402  (matplotlib is imported only here)
    except ImportError as e:
        say(f"no plot: {e} (install python3-matplotlib)")
        return False
    written = bench_report.render(doc, docs)
    if docs.resolve() != results.resolve():
        # the published table and plot keep the data they were drawn from
        (docs / "irq.json").write_text(json.dumps(doc, indent=1) + "\n")
        written.append(docs / "irq.json")
    for path in written:
        say(f"wrote {path}")
    return True


def merge_runs(doc: dict, paths: list) -> dict:
    """doc with the cases of the runs at `paths` in place of those of the
    same name; each merged case and the doc's merged_runs keep that run's
    date, commit and command."""
    for path in paths:
        other = json.loads(Path(path).read_text())
        run = {k: other.get(k) for k in ("date", "git_commit", "command", "samples_requested", "host_cpu")}
        new = {c["name"]: dict(c, run=run) for c in other.get("cases", [])}
        doc["cases"] = [c for c in doc["cases"] if c["name"] not in new] + list(new.values())
        doc.setdefault("merged_runs", []).append(dict(run, cases=len(new)))
        doc["failed"] = doc.get("failed", []) + other.get("failed", [])
    return doc


def render_only(args, build: BuildTree) -> int:
    results = Path(args.results) if args.results else build.root / "results"
    try:
        doc = json.loads((results / "irq.json").read_text())
        doc = merge_runs(doc, args.merge)
    except (OSError, json.JSONDecodeError, KeyError) as e:
        say(f"cannot read {results / 'irq.json'} or a --merge file: {e}")
        return EXIT_SETUP
    if args.merge:
        (results / "irq.json").write_text(json.dumps(doc, indent=1) + "\n")
        say(f"merged {len(args.merge)} run(s) into {results / 'irq.json'}")
    args.quick = bool(doc.get("quick"))
    return EXIT_OK if publish(args, doc, results) else EXIT_FAIL


def cmd_irq(args, build: BuildTree) -> int:
    if args.render_only:
        return render_only(args, build)
    samples = args.samples or (QUICK_SAMPLES if args.quick else FULL_SAMPLES)
    models = [bochs.CPU_MODELS[c] for c in (args.cpu or list(bochs.CPU_MODELS))]
    loads = args.load or list(bench.QUICK_LOADS if args.quick else bench.LOADS)
    set_quantum(args.quantum)
    lapics = args.lapic or ["passthrough", "trapped"]
    timeout = args.timeout or (300.0 if samples <= 1000 else 1800.0)
    try:
        # Partition runs need the hypervisor and the config tool too; a missing
        # one is reported per case, so native results still come out.
        build.require(build.guest_kernel)
    except SetupError as e:
        say(str(e))
        return EXIT_SETUP
    specs = case_specs(models, loads, lapics)
    say(f"{len(specs)} runs, {samples} samples per source, Bochs at {args.ips} ips")
    cases, skipped, failed = [], [], []
    for i, spec in enumerate(specs, 1):
        say(f"[{i}/{len(specs)}] {spec.name('*')}")
        out = run_case(build, spec, samples, timeout, args.ips, args.echo)
        cases += out.cases
        for c in out.cases:
            say(f"  {c['source']:6s} ticks min/p50/p99/max = "
                + "/".join(str(c["ticks"][k]) for k in bench.STATS)
                + f"  exits/irq = {c['exits_per_irq']}")
        if out.error:
            entry = {"case": spec.name("*"), "reason": out.error, "work_dir": out.work_dir}
            # A LAPIC mode the partition file compiler refuses is a configuration
            # the project does not offer yet, not a broken run.
            refusal = [l for l in out.error.splitlines() if 'lapic = "trapped"' in l]
            if spec.lapic == "trapped" and refusal:
                entry["reason"] = "the partition file compiler refuses it: " \
                    + refusal[0].split(": error: ", 1)[-1]
                skipped.append(entry)
                say(f"  skipped: {out.error.splitlines()[0]}")
            else:
                failed.append(entry)
                say(f"  FAILED: {out.error.splitlines()[0]}")
    meta = metadata(args, samples, args.ips)
    doc = bench.results_document(cases, skipped, meta)
    doc["failed"] = failed
    results = Path(args.results) if args.results else build.root / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "irq.json").write_text(json.dumps(doc, indent=1) + "\n")
    say(f"wrote {results / 'irq.json'} ({len(cases)} cases)")
    if not args.no_docs and cases and not publish(args, doc, results):
        failed.append({"case": "render", "reason": "matplotlib is missing", "work_dir": ""})
    gate = bench.gate_failures(cases)
    for g in gate:
        say(f"GATE: {g}")
    for f in failed:
        say(f"FAILED: {f['case']}: {f['reason'].splitlines()[0]}")
    if gate or failed:
        return EXIT_FAIL
    say("every direct path took 0 VM exits per interrupt")
    return EXIT_OK


def given_options(argv: list, bench_name: str) -> list:
    """The options after the benchmark's name, without where files go."""
    rest = argv[argv.index(bench_name) + 1:] if bench_name in argv else []
    out, skip = [], False
    for a in rest:
        if skip:
            skip = False
        elif a in ("--results", "--docs"):
            skip = True
        elif not a.startswith(("--results=", "--docs=")):
            out.append(a)
    return out


def main(argv=None) -> int:
    argv = list(argv if argv is not None else sys.argv[1:])
    args = parse_args(argv)
    args.argv = given_options(argv, args.bench)
    build = BuildTree(Path(args.build).resolve())
    if args.bench == "irq":
        return cmd_irq(args, build)
    if args.bench in ("exits", "io"):
        commit = git("rev-parse", "--short", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
        common = {"git_commit": commit + ("-dirty" if commit and dirty else ""), "bochs": bochs_version(),
                  "host_cpu": host_cpu()}
        if args.bench == "io":
            import bench_io  # noqa: E402
            return bench_io.cmd_io(args, build, ROOT, common)
        import bench_exits  # noqa: E402
        return bench_exits.cmd_exits(args, build, ROOT, common)
    return EXIT_SETUP


if __name__ == "__main__":
    sys.exit(main())
