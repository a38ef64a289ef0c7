#!/usr/bin/python3
"""Fails when a C++ source is not laid out as .clang-format says.

Every tracked .cpp/.hpp/.h file (git ls-files) is checked with
clang-format-14 --dry-run; each file it would change is printed with the
first differing line, and the fix (clang-format-14 -i FILE). Exit status 1 if
any file differs, 0 otherwise.
"""
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOL = "clang-format-14"


def sources():
    out = subprocess.run(["git", "ls-files", "*.cpp", "*.hpp", "*.h"], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        # Not a git checkout (an unpacked archive): every source under the tree.
        return sorted(p.relative_to(ROOT).as_posix() for ext in ("cpp", "hpp", "h") for p in ROOT.rglob(f"*.{ext}")
                      if "build" not in p.parts)
    return out.stdout.split()


def main() -> int:
    if shutil.which(TOOL) is None:
        print(f"format: {TOOL} is not installed (./natsume installs it)")
        return 1
    bad = {}
    files = sources()
    for i in range(0, len(files), 64):
        batch = files[i:i + 64]
        r = subprocess.run([TOOL, "--dry-run", "--Werror", *batch], cwd=ROOT, capture_output=True, text=True)
        if r.returncode != 0:
            for line in r.stderr.splitlines():
                if ": error: code should be clang-formatted" in line:
                    where = line.split(": error:")[0]
                    bad.setdefault(where.split(":")[0], where)
    for name, where in bad.items():
        print(f"format: {where}: not laid out as .clang-format says (fix: {TOOL} -i {name})")
    print(f"format: {len(files)} files checked, {len(bad)} to fix")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
