#!/usr/bin/python3
"""Checks that the hypervisor's layers include only downward.

Layers, bottom up (docs/architecture.md, "Source map"):
  0  drivers/, include/        hardware facts, the ABI
  1  common/, hypervisor/lib/  code shared with the tools, pure parsers
  2  hypervisor/base/          services: console, log, locks, page pool
  3  hypervisor/vdev/          virtual devices and checks that enforce isolation
  4  hypervisor/partition/     the partition model
  5  hypervisor/arch/x86/      VMX, EPT, VT-d, exits, devices, SMP
  6  hypervisor/boot/          the boot flow
  7  hypervisor/selftest/      the VT-d self-test image (may use everything)
  7  hypervisor/efi/           natsume.efi, the UEFI loader (lib/ and drivers/ only in practice)
A file may include files of its own layer or lower ones. Every violation is
printed with file:line; exit status 1 if there is any, 0 otherwise.
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = [("drivers/", 0), ("include/", 0), ("common/", 1), ("hypervisor/lib/", 1), ("hypervisor/base/", 2),
          ("hypervisor/vdev/", 3), ("hypervisor/partition/", 4), ("hypervisor/arch/x86/", 5),
          ("hypervisor/boot/", 6), ("hypervisor/selftest/", 7), ("hypervisor/efi/", 7)]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
# Include strings are relative to the hypervisor tree, the project root or include/.
SEARCH = ["hypervisor/", "", "include/"]


def layer_of(rel: str):
    for prefix, rank in LAYERS:
        if rel.startswith(prefix):
            return rank
    return None


def resolve(including: Path, name: str):
    local = including.parent / name
    if local.exists():
        return local.relative_to(ROOT).as_posix()
    for base in SEARCH:
        if (ROOT / base / name).exists():
            return (Path(base) / name).as_posix()
    return None


def main() -> int:
    problems, checked = [], 0
    for path in sorted(list((ROOT / "hypervisor").rglob("*")) + list((ROOT / "drivers").rglob("*"))):
        if path.suffix not in (".cpp", ".hpp", ".h", ".S", ".inc"):
            continue
        rel = path.relative_to(ROOT).as_posix()
        own = layer_of(rel)
        if own is None:
            problems.append(f"{rel}: in no layer (add its folder to tests/layers/check_layers.py)")
            continue
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            target = resolve(path, m.group(1))
            if target is None:
                continue   # a system or generated header
            checked += 1
            theirs = layer_of(target)
            if theirs is not None and theirs > own:
                problems.append(f"{rel}:{n}: includes {target} (layer {theirs}) from layer {own}")
    for p in problems:
        print(p)
    print(f"layers: {checked} includes checked, {len(problems)} upward")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
