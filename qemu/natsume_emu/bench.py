"""The interrupt-latency benchmark's data: the guest kernel's NATSUME-BENCH
lines, the cases of one `natsume bench irq` run, and BUILD/results/irq.json.

Under Bochs the TSC advances one tick per emulated instruction, so every
figure here is a Bochs tick count; "emulated ns" is ticks * 1e9 / ips at the
configured ips. Neither is a real-hardware time."""

import json
import re
from dataclasses import dataclass, field
from typing import Optional

from . import serial_log

BENCH = re.compile(r"NATSUME-BENCH (?P<json>\{.*\})\s*$")
STATS = ("min", "p50", "p99", "max")
SOURCES = ("device", "timer")
# Also measured in partitions: the round trip of one hypercall (VMCALL to
# VMRESUME) -- not an interrupt path, so outside the zero-exit gate.
MEASURED_SOURCES = SOURCES + ("hypercall",)
# Availability attacks by the other partition (test=load-attack kind=...),
# which then runs untrusted: its local APIC trapped.
ATTACK_LOADS = ("console-flood", "io-storm", "ipi-attack", "eoi-flood", "refusal-flood")
# Loads by unmodified Linux in the other partition (qemu/natsume_bench.py).
LINUX_LOADS = ("linux-boot", "linux-stress", "linux-net")
LOADS = ("none", "cpu", "irq-storm", "ipi-storm") + ATTACK_LOADS + LINUX_LOADS
# The loads a --quick run covers: ipi-storm is the control experiment for
# irq-storm (interrupts on the other core without a device line) and runs in
# full runs only.
QUICK_LOADS = ("none", "cpu", "irq-storm")
MODES = ("native", "partition")


class BenchError(ValueError):
    """A NATSUME-BENCH line that does not say what the benchmark promises."""


@dataclass
class Measurement:
    """One NATSUME-BENCH line of the guest kernel."""
    source: str
    samples: int
    ticks: dict               # min/p50/p99/max
    tsc_khz: Optional[int]
    exits: Optional[int]      # VM exits during the case (hypercalls excluded); None natively
    irqs: int                 # handler entries during the case
    irqs_without_cause: Optional[int]   # device: entries that found no cause (re-deliveries)
    hist: list                # [[lo_ticks, count], ...]
    raw: dict = field(default_factory=dict)

    @property
    def exits_per_irq(self) -> Optional[float]:
        if self.exits is None or self.irqs <= 0:
            return None
        return self.exits / self.irqs


def _int(d: dict, key: str, where: str, allow_none: bool = False,
         signed: bool = False) -> Optional[int]:
    v = d.get(key)
    if v is None and allow_none:
        return None
    if not isinstance(v, int) or isinstance(v, bool) or (v < 0 and not signed):
        kind = "an integer" if signed else "a non-negative integer"
        raise BenchError(f"{where}: '{key}' must be {kind}, got {v!r}")
    return v


def parse_measurement(data: dict) -> Measurement:
    where = f"NATSUME-BENCH {json.dumps(data)[:80]}"
    if data.get("bench") != "irq":
        raise BenchError(f"{where}: 'bench' is {data.get('bench')!r}, expected 'irq'")
    source = data.get("source")
    if source not in MEASURED_SOURCES:
        raise BenchError(f"{where}: 'source' must be one of {MEASURED_SOURCES}")
    ticks = data.get("ticks")
    if not isinstance(ticks, dict):
        raise BenchError(f"{where}: 'ticks' must be an object")
    # Signed: a timer that fires before the expected TSC gives a negative latency.
    values = {k: _int(ticks, k, where, signed=True) for k in STATS}
    if not values["min"] <= values["p50"] <= values["p99"] <= values["max"]:
        raise BenchError(f"{where}: ticks not ordered min <= p50 <= p99 <= max: {values}")
    hist = data.get("hist", [])
    if not isinstance(hist, list) or not all(
            isinstance(b, list) and len(b) == 2 and all(isinstance(x, int) for x in b) for b in hist):
        raise BenchError(f"{where}: 'hist' must be a list of [lo_ticks, count] pairs")
    samples = _int(data, "samples", where)
    if hist and sum(c for _, c in hist) != samples:
        raise BenchError(f"{where}: histogram counts add up to {sum(c for _, c in hist)}, "
                         f"not samples={samples}")
    return Measurement(source=source, samples=samples, ticks=values,
                       tsc_khz=_int(data, "tsc_khz", where, allow_none=True),
                       exits=_int(data, "exits", where, allow_none=True),
                       irqs=_int(data, "irqs", where),
                       irqs_without_cause=_int(data, "irqs_without_cause", where, allow_none=True),
                       hist=hist, raw=data)


# The hypervisor relays a partition's console in chunks of bounded length, so
# a long NATSUME-BENCH line can arrive as several "[rt0] ..." lines. The JSON
# object tells where it ends: continuation lines are joined until it parses.
MAX_CONTINUATION_LINES = 16
BENCH_START = re.compile(r"NATSUME-BENCH (?P<json>\{.*)$")


def _join_bench(console: list, i: int) -> tuple:
    """(text of the whole NATSUME-BENCH object starting at console[i], index
    of its last line), or raises BenchError."""
    text = BENCH_START.search(console[i])["json"].rstrip()
    last = i
    while True:
        try:
            json.loads(text)
            return text, last
        except json.JSONDecodeError as e:
            if last + 1 >= len(console) or last - i >= MAX_CONTINUATION_LINES \
                    or console[last + 1].startswith(("NATSUME-", "natsume-guest:")):
                raise BenchError(f"NATSUME-BENCH line is not JSON ({e}): {text[:120]!r}") from e
            last += 1
            text += console[last].rstrip()


def measurements(lines: list, partition: Optional[str]) -> list:
    """Every NATSUME-BENCH line of one console (partition=None: a native boot).
    Raises BenchError on a line that does not parse."""
    console = serial_log.console_of(lines, partition)
    found = []
    i = 0
    while i < len(console):
        if BENCH_START.search(console[i]):
            text, i = _join_bench(console, i)
            found.append(parse_measurement(json.loads(text)))
        i += 1
    return found


def ticks_to_ns(ticks: int, ips: int) -> float:
    """Emulated nanoseconds that `ticks` instructions stand for at `ips`."""
    return ticks * 1e9 / ips


@dataclass
class CaseSpec:
    """One configuration to run: mode x CPU model x LAPIC mode x load."""
    cpu_model: str
    mode: str                 # native | partition
    lapic: str                # native: "native"; partition: passthrough | trapped
    load: str                 # none | cpu | irq-storm

    def name(self, source: str) -> str:
        return f"{self.mode}.{self.cpu_model}.{self.lapic}.{self.load}.{source}"


def case_record(spec: CaseSpec, m: Measurement, ips: int, extra: Optional[dict] = None) -> dict:
    """One entry of irq.json's "cases": the fields issue 3 section 4 fixes,
    then the extras (emulated ns, raw counters, histogram)."""
    rec = {
        "name": spec.name(m.source),
        "platform": "bochs",
        "cpu_model": spec.cpu_model,
        "mode": spec.mode,
        "lapic": spec.lapic,
        "load": spec.load,
        "source": m.source,
        "samples": m.samples,
        "ticks": dict(m.ticks),
        "exits_per_irq": m.exits_per_irq,
        "units": "Bochs TSC ticks (one per emulated instruction); emulated_ns = ticks * 1e9 / ips",
        "ips": ips,
        "emulated_ns": {k: round(ticks_to_ns(v, ips), 1) for k, v in m.ticks.items()},
        "exits": m.exits,
        "irqs": m.irqs,
        "tsc_khz": m.tsc_khz,
        "hist": m.hist,
    }
    if isinstance(m.raw.get("timer"), str):
        rec["timer_mode"] = m.raw["timer"]     # oneshot | tsc-deadline
        rec["name"] = spec.name(f"{m.source}-{m.raw['timer']}")
    if m.irqs_without_cause is not None:
        rec["irqs_without_cause"] = m.irqs_without_cause
    rec.update(extra or {})
    return rec


def is_direct_path(case: dict) -> bool:
    """Interrupts that must reach the guest with no VM exit: a partition's own
    device line or its own LAPIC timer with the LAPIC passed through."""
    return case["mode"] == "partition" and case["lapic"] == "passthrough"


def gate_failures(cases: list) -> list:
    """One sentence per direct-path case that took VM exits per interrupt, or
    whose exit count is missing (which would hide exits)."""
    bad = []
    for c in cases:
        if not is_direct_path(c) or c.get("source") == "hypercall":   # one exit by design
            continue
        x = c.get("exits_per_irq")
        if x is None:
            bad.append(f"{c['name']}: no exit count (exits={c.get('exits')!r}, "
                       f"irqs={c.get('irqs')!r}): cannot show the path is exit-free")
        elif x > 0:
            bad.append(f"{c['name']}: {x:g} VM exits per interrupt on a direct path "
                       f"({c.get('exits')} exits over {c.get('irqs')} interrupts), expected 0")
    return bad


def results_document(cases: list, skipped: list, meta: dict) -> dict:
    doc = {"benchmark": "irq", "cases": cases}
    doc.update(meta)
    doc["skipped"] = skipped
    return doc


# Bochs' e1000 (the NIC each bench partition owns).
E1000_ID = "8086:100e"


def partition_block(name: str, core: int, ram_base: int, dma_base: int, cmdline: str, lapic: str,
                    device_bdf: str) -> str:
    """One [[partition]] of a bench machine (bench irq, bench exits): 32 MiB of
    RAM, an 8 MiB identity DMA window, its e1000 at `device_bdf` and, as Bochs
    has no IOMMU, the file's acknowledgement that the e1000's DMA is not
    isolated."""
    return f'''
[[partition]]
name = "{name}"
cores = [{core}]
ram = {{ base = {ram_base:#010x}, size = "32M" }}
dma = {{ base = {dma_base:#010x}, size = "8M" }}
allow_unisolated_dma = true
image = "guest-kernel"
cmdline = "{cmdline}"
lapic = "{lapic}"

[[partition.device]]
bdf = "{device_bdf}"
id = "{E1000_ID}"
'''


def write_results(args, build_root, repo_root, name: str, doc: dict, markdown: str) -> tuple:
    """NAME.json into --results (default BUILD/results) and NAME.md into --docs
    (default docs/results; BUILD/results for --quick), with a copy of the json
    beside a published page. Returns (json path, md path)."""
    import json
    from pathlib import Path
    results = Path(args.results) if args.results else Path(build_root) / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / f"{name}.json").write_text(json.dumps(doc, indent=1) + "\n")
    docs = Path(args.docs) if args.docs else (results if args.quick else Path(repo_root) / "docs" / "results")
    docs.mkdir(parents=True, exist_ok=True)
    (docs / f"{name}.md").write_text(markdown)
    if docs.resolve() != results.resolve():
        (docs / f"{name}.json").write_text(json.dumps(doc, indent=1) + "\n")
    return results / f"{name}.json", docs / f"{name}.md"
