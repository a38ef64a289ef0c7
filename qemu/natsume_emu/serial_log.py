"""Structure in a Natsume serial log.

Line kinds (docs/testing.md lists them):
  natsume: <subsystem>: ...     the hypervisor
  [<partition>] <text>          a partition's console, relayed by the hypervisor
  natsume-guest: ...            guest kernel output (natively: without a prefix)
  NATSUME-RESULT {json}         one test result from the guest kernel
  NATSUME-DONE pass=N fail=M    the guest kernel's final tally
"""

import json
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Optional

PARTITION_LINE = re.compile(r"^\[(?P<name>[a-z0-9_-]+)\] ?(?P<text>.*)$")
HYPERVISOR_LINE = re.compile(r"^natsume: (?:(?P<subsystem>[A-Za-z0-9_-]+): )?(?P<text>.*)$")
PANIC = re.compile(r"natsume: PANIC")
ALL_STOPPED = re.compile(r"natsume: all partitions stopped")
RESULT = re.compile(r"NATSUME-RESULT (?P<json>\{.*\})\s*$")
DONE = re.compile(r"NATSUME-DONE pass=(?P<passed>\d+) fail=(?P<failed>\d+)")
BANNER = re.compile(r"natsume-guest: banner (?P<fields>.*)$")


def split_partition(line: str) -> tuple:
    """(partition name or None, text)."""
    m = PARTITION_LINE.match(line)
    return (m["name"], m["text"]) if m else (None, line)


def partition_consoles(lines: list) -> "OrderedDict[str, list]":
    consoles = OrderedDict()
    for line in lines:
        name, text = split_partition(line)
        if name is not None:
            consoles.setdefault(name, []).append(text)
    return consoles


def hypervisor_lines(lines: list) -> list:
    return [l for l in lines if HYPERVISOR_LINE.match(l)]


def console_of(lines: list, partition: Optional[str]) -> list:
    """The console text of one partition; partition=None means a native boot,
    where the guest kernel's lines carry no prefix."""
    if partition is None:
        return [split_partition(l)[1] for l in lines if split_partition(l)[0] is None]
    return partition_consoles(lines).get(partition, [])


@dataclass
class Result:
    data: dict
    raw: str

    @property
    def name(self) -> str:
        for key in ("test", "name", "case"):
            if isinstance(self.data.get(key), str):
                return self.data[key]
        return "?"

    @property
    def passed(self) -> bool:
        """Accepts {"pass": true}, {"ok": true} or {"result"|"status": "pass"}."""
        for key in ("pass", "passed", "ok"):
            if isinstance(self.data.get(key), bool):
                return self.data[key]
        for key in ("result", "status", "verdict"):
            v = self.data.get(key)
            if isinstance(v, str):
                return v.lower() in ("pass", "passed", "ok")
        return False


@dataclass
class GuestReport:
    banner: Optional[dict] = None
    results: list = field(default_factory=list)      # list[Result]
    bad_results: list = field(default_factory=list)  # lines whose JSON does not parse
    done: Optional[tuple] = None                     # (passed, failed)


def parse_banner(text: str) -> Optional[dict]:
    m = BANNER.search(text)
    if not m:
        return None
    return dict(kv.split("=", 1) for kv in m["fields"].split() if "=" in kv)


def guest_report(console: list) -> GuestReport:
    report = GuestReport()
    for text in console:
        if report.banner is None:
            report.banner = parse_banner(text)
        m = RESULT.search(text)
        if m:
            try:
                report.results.append(Result(json.loads(m["json"]), text))
            except json.JSONDecodeError:
                report.bad_results.append(text)
        m = DONE.search(text)
        if m:
            report.done = (int(m["passed"]), int(m["failed"]))
    return report
