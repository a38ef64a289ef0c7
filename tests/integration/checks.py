"""Assertions on a serial log. Each check returns a list of failure messages
(empty when it holds), so one run reports every broken expectation at once."""

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "qemu"))
from natsume_emu import bench, serial_log  # noqa: E402


def _where(partition: Optional[str]) -> str:
    return f"partition {partition}" if partition else "the native guest kernel"


@dataclass
class Line:
    """Some serial line matches pattern."""
    pattern: str
    what: str

    def __call__(self, lines: list) -> list:
        rx = re.compile(self.pattern)
        if any(rx.search(l) for l in lines):
            return []
        return [f"missing: {self.what} (no line matches /{self.pattern}/)"]


@dataclass
class NoLine:
    """No serial line matches pattern."""
    pattern: str
    what: str

    def __call__(self, lines: list) -> list:
        rx = re.compile(self.pattern)
        hits = [l for l in lines if rx.search(l)]
        if not hits:
            return []
        return [f"unexpected: {self.what} (/{self.pattern}/ matched: {hits[0]!r}"
                + (f" and {len(hits) - 1} more" if len(hits) > 1 else "") + ")"]


@dataclass
class Banner:
    """The guest kernel's banner shows these fields (partition=None: native)."""
    partition: Optional[str]
    fields: dict

    def __call__(self, lines: list) -> list:
        report = serial_log.guest_report(serial_log.console_of(lines, self.partition))
        if report.banner is None:
            return [f"{_where(self.partition)}: no 'natsume-guest: banner' line"]
        wrong = {k: report.banner.get(k) for k, v in self.fields.items()
                 if report.banner.get(k) != str(v)}
        if not wrong:
            return []
        return [f"{_where(self.partition)}: banner {report.banner} differs from the "
                f"expected {self.fields} in {sorted(wrong)}"]


@dataclass
class GuestPassed:
    """NATSUME-DONE with fail=0, at least min_pass passes, no failing
    NATSUME-RESULT, and for every name in `tests` at least one result whose
    name starts with it."""
    partition: Optional[str]
    tests: list = field(default_factory=list)
    min_pass: int = 1

    def __call__(self, lines: list) -> list:
        who = _where(self.partition)
        report = serial_log.guest_report(serial_log.console_of(lines, self.partition))
        errors = []
        if report.done is None:
            errors.append(f"{who}: no 'NATSUME-DONE pass=N fail=M' line")
        elif report.done[1] != 0 or report.done[0] < self.min_pass:
            errors.append(f"{who}: NATSUME-DONE pass={report.done[0]} fail={report.done[1]} "
                          f"(want fail=0, pass>={self.min_pass})")
        for bad in report.bad_results:
            errors.append(f"{who}: NATSUME-RESULT with unparsable JSON: {bad!r}")
        for r in report.results:
            if not r.passed:
                errors.append(f"{who}: test {r.name} failed: {r.raw}")
        names = {r.name for r in report.results}
        for t in self.tests:
            # a prefix names a family: "hypercall" covers "hypercall.console-write"
            if not any(n.startswith(t) for n in names):
                errors.append(f"{who}: no NATSUME-RESULT for test {t!r} "
                              f"(seen: {sorted(names) or 'none'})")
        return errors


def _result(partition: Optional[str], name: str, lines: list):
    report = serial_log.guest_report(serial_log.console_of(lines, partition))
    return next((r for r in report.results if r.name == name), None)


@dataclass
class ResultFields:
    """The NATSUME-RESULT named `test` has each of `fields` with exactly that
    value (JSON types: True, 200, "x2apic")."""
    partition: Optional[str]
    test: str
    fields: dict

    def __call__(self, lines: list) -> list:
        who = _where(self.partition)
        r = _result(self.partition, self.test, lines)
        if r is None:
            return [f"{who}: no NATSUME-RESULT for test {self.test!r}"]
        wrong = {k: r.data.get(k) for k, v in self.fields.items() if r.data.get(k) != v}
        if not wrong:
            return []
        return [f"{who}: test {self.test}: {wrong} where {self.fields} was expected: {r.raw}"]


@dataclass
class Note:
    """Never fails: prints the named fields of a NATSUME-RESULT (or says it is
    missing), for behaviour a scenario documents rather than forbids."""
    partition: Optional[str]
    test: str
    fields: tuple
    what: str

    def __call__(self, lines: list) -> list:
        r = _result(self.partition, self.test, lines)
        shown = "no such result" if r is None else \
            ", ".join(f"{k}={r.data.get(k)!r}" for k in self.fields)
        print(f"scenario: note: {self.what}: {_where(self.partition)} {self.test}: {shown}", flush=True)
        return []


@dataclass
class NoBanner:
    """No guest ever started."""

    def __call__(self, lines: list) -> list:
        hits = [l for l in lines if serial_log.BANNER.search(l)]
        return [f"a guest started although the boot should have been refused: {hits[0]!r}"] \
            if hits else []


@dataclass
class Order:
    """first's first match comes before second's first match."""
    first: str
    second: str
    what: str

    def __call__(self, lines: list) -> list:
        def index(p):
            rx = re.compile(p)
            return next((i for i, l in enumerate(lines) if rx.search(l)), None)
        a, b = index(self.first), index(self.second)
        if a is None or b is None or a < b:
            return []   # absence is the job of a Line check
        return [f"order: {self.what} (/{self.first}/ at line {a + 1}, /{self.second}/ at {b + 1})"]


@dataclass
class BenchZeroExits:
    """The partition's NATSUME-BENCH lines cover every source in `sources`,
    each with the expected sample count, at least one interrupt, and an exit
    count of exactly 0: the CI gate for the direct (zero-exit) paths."""
    partition: str
    samples: int
    sources: tuple = bench.SOURCES

    def __call__(self, lines: list) -> list:
        who = _where(self.partition)
        try:
            found = bench.measurements(lines, self.partition)
        except bench.BenchError as e:
            return [f"{who}: {e}"]
        errors = []
        by_source = {m.source: m for m in found}
        for source in self.sources:
            m = by_source.get(source)
            if m is None:
                errors.append(f"{who}: no NATSUME-BENCH line for source {source!r}")
                continue
            if m.samples != self.samples:
                errors.append(f"{who}: {source}: samples={m.samples}, expected {self.samples}")
            if m.irqs <= 0:
                errors.append(f"{who}: {source}: irqs={m.irqs}: no interrupt was taken")
            if m.exits is None:
                errors.append(f"{who}: {source}: exits is null: the exit counters were not read")
            elif m.exits > 0:
                errors.append(f"{who}: {source}: {m.exits} VM exits over {m.irqs} interrupts "
                              f"({m.exits_per_irq:g} per interrupt) on a direct path, expected 0")
        return errors


@dataclass
class NativeBench:
    """A native boot's NATSUME-BENCH lines: every source, the sample count,
    interrupts taken, and no exit count (there is no hypervisor)."""
    samples: int
    sources: tuple = bench.SOURCES

    def __call__(self, lines: list) -> list:
        try:
            found = bench.measurements(lines, None)
        except bench.BenchError as e:
            return [f"the native guest kernel: {e}"]
        errors = []
        by_source = {m.source: m for m in found}
        for source in self.sources:
            m = by_source.get(source)
            if m is None:
                errors.append(f"the native guest kernel: no NATSUME-BENCH line for {source!r}")
            elif m.samples != self.samples or m.irqs <= 0 or m.exits is not None:
                errors.append(f"the native guest kernel: {source}: samples={m.samples} "
                              f"(want {self.samples}), irqs={m.irqs} (want > 0), "
                              f"exits={m.exits} (want null natively)")
        return errors


def run_checks(checks: list, lines: list) -> list:
    errors = []
    for check in checks:
        errors += check(lines)
    return errors
