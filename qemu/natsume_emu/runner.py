"""Runs one emulator process and follows its serial log.

The emulator gets its own process group, so stopping it (early success,
timeout, Ctrl-C) also stops anything it spawned. The serial log is a file the
emulator writes; it is polled, split into lines, echoed through a callback
and matched against the caller's end pattern."""

import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

POLL_SECONDS = 0.2
# After the end pattern appears, the guest usually powers the emulator off by
# itself; give it this long to flush the last lines before it is killed.
END_GRACE_SECONDS = 3.0
# With no new serial output for this long, the idle callback reports progress.
IDLE_REPORT_SECONDS = 10.0


@dataclass
class RunResult:
    outcome: str            # "end-pattern", "emulator-exited", "timeout"
    serial: str             # whole serial log text
    elapsed: float          # wall seconds
    returncode: Optional[int]
    matched_line: Optional[str] = None
    files: dict = field(default_factory=dict)   # name -> Path of logs kept for diagnosis

    @property
    def lines(self) -> list:
        return self.serial.splitlines()


class SerialFollower:
    """Incrementally reads a growing file and yields complete lines."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.partial = b""
        self.data = bytearray()

    def poll(self) -> list:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
            return []
        self.offset += len(chunk)
        self.data += chunk
        buf = self.partial + chunk
        *complete, self.partial = buf.split(b"\n")
        return [decode_line(c) for c in complete]

    def flush(self) -> list:
        rest = self.poll()
        if self.partial:
            rest.append(decode_line(self.partial))
            self.partial = b""
        return rest

    def text(self) -> str:
        return clean_text(self.data.decode("utf-8", errors="replace"))


# GRUB's serial terminal draws with VT100 sequences; they carry no log content.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def clean_text(text: str) -> str:
    return _ANSI.sub("", text).replace("\r", "")


def decode_line(raw: bytes) -> str:
    return clean_text(raw.decode("utf-8", errors="replace"))


def kill_group(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=3)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def run_following_serial(cmd: list, serial_path: Path, stdout_path: Path,
                         end_regex: Optional[str], timeout: float,
                         on_line: Optional[Callable[[str], None]] = None,
                         cwd: Optional[Path] = None,
                         on_idle: Optional[Callable[[float], None]] = None) -> RunResult:
    """Starts cmd, follows serial_path until end_regex matches a line, the
    emulator exits, or timeout wall seconds pass."""
    if serial_path.exists():
        serial_path.unlink()
    end = re.compile(end_regex) if end_regex else None
    follower = SerialFollower(serial_path)
    start = time.monotonic()
    with open(stdout_path, "wb") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, cwd=cwd,
                                start_new_session=True)
    matched = None
    outcome = "timeout"
    last_activity = start
    try:
        while True:
            now = time.monotonic()
            new_lines = follower.poll()
            if new_lines:
                last_activity = now
            elif on_idle and now - last_activity >= IDLE_REPORT_SECONDS:
                on_idle(now - start)
                last_activity = now
            for line in new_lines:
                if on_line:
                    on_line(line)
                if matched is None and end and end.search(line):
                    matched = line
            if matched is not None:
                outcome = "end-pattern"
                try:
                    proc.wait(timeout=END_GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    pass
                break
            if proc.poll() is not None:
                outcome = "emulator-exited"
                break
            if time.monotonic() - start > timeout:
                break
            time.sleep(POLL_SECONDS)
    finally:
        kill_group(proc)
    for line in follower.flush():
        if on_line:
            on_line(line)
        if matched is None and end and end.search(line):
            matched = line
            outcome = "end-pattern"
    return RunResult(outcome=outcome, serial=follower.text(),
                     elapsed=time.monotonic() - start,
                     returncode=proc.returncode, matched_line=matched,
                     files={"serial": serial_path, "stdout": stdout_path})
