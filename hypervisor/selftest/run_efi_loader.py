#!/usr/bin/python3
"""Boots the hypervisor through Natsume's own UEFI loader, natsume.efi, on
QEMU TCG with OVMF, from an EFI system partition laid out as `./natsume
image` lays it out (qemu/natsume_emu/efi_loader.py: natsume.efi as the
default boot file \\EFI\\BOOT\\BOOTX64.EFI, its loader file natsume.cfg
beside it, the boot files under \\natsume).

--case good: the loader reads its loader file, loads the hypervisor at its
ELF addresses and the modules, finds the RSDP through the ACPI 2.0 GUID,
exits boot services and enters the hypervisor by its multiboot2 contract;
the hypervisor then goes through everything run_vtd_boot.py checks (ACPI
through the XSDT, ECAM, VT-d domains and interrupt remapping, the partition
file validated against the UEFI memory map, where the loader's allocations
show as reserved) and stops at the VMX check.

--case broken: loader files that are wrong in the ways a person gets them
wrong (none, an unknown directive, a module without a name, a module file
that is missing, a hypervisor that is not a multiboot2 ELF): each must give
the loader's sentence on COM1 and start nothing."""

import argparse
import re
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "qemu"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from natsume_emu import efi_loader, qemu_runner, runner, session  # noqa: E402
import run_vtd_boot  # noqa: E402

HERE = Path(__file__).resolve().parent
CFG = ("EFI", "BOOT", efi_loader.LOADER_CFG)

# Before the hypervisor's own lines, in this order.
EXPECTED_LOADER = [
    ("the loader file read", r"^natsume\.efi: loader file \\EFI\\BOOT\\natsume\.cfg: hypervisor \\natsume\\natsume\.elf, "
                             r"2 modules$"),
    ("the hypervisor at its ELF address", r"^natsume\.efi: hypervisor \\natsume\\natsume\.elf at 0x200000-"),
    ("the compiled partition file loaded", r"^natsume\.efi: module \\natsume\\natsume-config\.bin at 0x[0-9a-f]+-"),
    ("the RSDP through the ACPI 2.0 GUID", r"^natsume\.efi: ACPI RSDP revision 2 at 0x[0-9a-f]+ \(ACPI 2\.0 GUID\)$"),
    ("boot services exited", r"^natsume\.efi: exiting boot services"),
    ("entered by natsume.efi", r"^natsume: boot: loader 'natsume\.efi'"),
    ("the image reserved in the map", r"^natsume: memory: 0x0000000000200000-0x[0-9a-f]+ reserved$"),
    ("ACPI through the firmware's XSDT", r"^natsume: acpi: RSDP revision 2, OEM '.*', XSDT at 0x"),
]
GIVE_UP = r"natsume\.efi: nothing was started; returning to the firmware"


def broken_cases(spec_cfg: str) -> list:
    """(name, change to the ESP, the sentence expected). Each change takes the
    ESP root and the good loader file's text."""
    def write_cfg(text):
        return lambda root: root.joinpath(*CFG).write_text(text)

    def remove_cfg(root):
        root.joinpath(*CFG).unlink()

    def remove_module(root):
        (root / efi_loader.FILES_DIR / "guest-kernel.elf").unlink()

    lines = spec_cfg.splitlines()
    module_line = next(i for i, l in enumerate(lines) if l.startswith("module "))
    unnamed = lines.copy()
    unnamed[module_line] = unnamed[module_line].split()[0] + " " + unnamed[module_line].split()[1]
    not_elf = [l if not l.startswith("hypervisor ") else "hypervisor /natsume/natsume-config.bin" for l in lines]
    return [
        ("no loader file", remove_cfg,
         r"natsume\.efi: cannot open \\EFI\\BOOT\\natsume\.cfg on the boot volume: Not Found"),
        ("an unknown directive", write_cfg(spec_cfg + "initrd /natsume/x.img\n"),
         rf"natsume\.efi: \\EFI\\BOOT\\natsume\.cfg line {len(lines) + 1}: unknown directive 'initrd'"),
        ("a module without a name", write_cfg("\n".join(unnamed) + "\n"),
         rf"natsume\.efi: \\EFI\\BOOT\\natsume\.cfg line {module_line + 1}: the module has no name"),
        ("a missing module file", remove_module,
         r"natsume\.efi: cannot open \\natsume\\guest-kernel\.elf on the boot volume: Not Found"),
        ("a hypervisor that is not an ELF", write_cfg("\n".join(not_elf) + "\n"),
         r"natsume\.efi: \\natsume\\natsume-config\.bin is not a hypervisor image this loader can enter: "),
    ]


def command(esp: Path, serial: Path, work: Path) -> list:
    """run_vtd_boot's machine (q35, intel-iommu, its devices) booting OVMF
    from the ESP directory (QEMU's FAT view of a host folder)."""
    return run_vtd_boot.qemu_command(esp, serial, qemu_runner.uefi_args(work), kind="esp")


def boot(esp: Path, work: Path, end_regex: str, timeout: float, echo: bool):
    serial = work / "serial.log"
    cmd = command(esp, serial, work)
    (work / "qemu-cmdline.txt").write_text(" ".join(cmd) + "\n")
    on_line = (lambda line: print(line, flush=True)) if echo else None
    return runner.run_following_serial(cmd, serial, work / "qemu.out", end_regex, timeout, on_line, cwd=work)


def in_order(lines: list, expected: list) -> list:
    problems, at = [], 0
    for name, pattern in expected:
        rx = re.compile(pattern)
        found = next((i for i in range(at, len(lines)) if rx.search(lines[i])), None)
        if found is None:
            problems.append(f"{name}: no line matching /{pattern}/ after the previous one")
            continue
        at = found + 1
    return problems


def report(problems: list, result, work: Path) -> int:
    for p in problems:
        print(f"FAIL: {p}")
    if problems:
        for line in result.lines[-30:]:
            print(f"  | {line}")
        print(f"serial log: {work / 'serial.log'}")
        return 1
    return 0


def run_good(build, spec, work: Path, args) -> int:
    esp = efi_loader.esp_tree(spec, build.efi_loader, work / "esp")
    result = boot(esp, work, r"natsume: PANIC: the machine is stopped", args.timeout, args.echo)
    problems = in_order(result.lines, EXPECTED_LOADER) + run_vtd_boot.check(result.lines, "bios")
    if result.outcome == "timeout":
        problems.insert(0, f"timed out after {args.timeout} s")
    if report(problems, result, work):
        return 1
    print(f"PASS: natsume.efi on OVMF: loader file read, hypervisor and modules loaded, RSDP from the EFI "
          f"configuration table, boot services exited; the hypervisor booted by its multiboot2 contract through "
          f"VT-d set-up to the VMX stop ({result.elapsed:.1f} s)")
    return 0


def run_broken(build, spec, work: Path, args) -> int:
    failed = 0
    good_cfg = efi_loader.loader_cfg(spec)
    for name, change, sentence in broken_cases(good_cfg):
        case_dir = work / re.sub(r"[^a-z0-9]+", "-", name)
        case_dir.mkdir(parents=True, exist_ok=True)
        esp = efi_loader.esp_tree(spec, build.efi_loader, case_dir / "esp")
        change(esp)
        result = boot(esp, case_dir, GIVE_UP, args.timeout, args.echo)
        problems = in_order(result.lines, [(name, sentence), ("nothing started", GIVE_UP)])
        started = [l for l in result.lines if l.startswith("natsume: boot:")]
        if started:
            problems.append(f"the hypervisor was entered: {started[0]}")
        if result.outcome == "timeout":
            problems.insert(0, f"timed out after {args.timeout} s")
        if report(problems, result, case_dir):
            failed += 1
            continue
        line = next(l for l in result.lines if re.search(sentence, l))
        print(f"PASS: {name}: '{line}' ({result.elapsed:.1f} s)")
    total = len(broken_cases(good_cfg))
    print(f"{total - failed} passed, {failed} failed")
    return 1 if failed else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", type=Path, required=True, help="build tree with images/ and vmm-tools/")
    ap.add_argument("--config", type=Path, default=HERE / "vtd-boot.toml")
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--case", choices=("good", "broken"), required=True)
    ap.add_argument("--timeout", type=float, default=180)
    ap.add_argument("--echo", action="store_true")
    args = ap.parse_args()
    build = session.BuildTree(args.build.resolve())
    work = args.work.resolve()
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    spec = session.hypervisor_boot(build, args.config.resolve(), work, hv_cmdline="")
    return (run_good if args.case == "good" else run_broken)(build, spec, work, args)


if __name__ == "__main__":
    sys.exit(main())
