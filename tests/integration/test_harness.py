#!/usr/bin/python3
"""Host-side tests of the emulator harness: no emulator is started except a
shell script standing in for one."""

import struct
import sys
import tempfile
import unittest
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "qemu"))

from checks import Banner, GuestPassed, Line, NoBanner, NoLine, Order, run_checks  # noqa: E402
from natsume_emu import bochs, qemu_runner, serial_log  # noqa: E402
from natsume_emu.blob import HEADER, PARTITION, BlobError, parse_blob  # noqa: E402
from natsume_emu.iso import BootSpec, Module, grub_cfg  # noqa: E402
from natsume_emu.runner import clean_text, run_following_serial  # noqa: E402


PARTITION_SIZE = 568   # sizeof(struct natsume_config_partition), blob version 2


def make_blob(parts, corrupt_crc=False) -> bytes:
    body = b""
    for name, image, cores in parts:
        body += PARTITION.pack(name.encode(), image.encode(), b"test=x", 0x4000000, 0x800000,
                               len(cores), *(cores + [0] * (8 - len(cores)))).ljust(PARTITION_SIZE, b"\0")
    total = HEADER.size + len(body)
    head = HEADER.pack(0x4746435355544E41, 2, HEADER.size, PARTITION_SIZE, len(parts),
                       total, 0, b"machine")
    crc = zlib.crc32(head + body) & 0xFFFFFFFF
    if corrupt_crc:
        crc ^= 1
    return HEADER.pack(0x4746435355544E41, 2, HEADER.size, PARTITION_SIZE, len(parts),
                       total, crc, b"machine") + body


class BlobTest(unittest.TestCase):
    def test_parses_partitions_and_distinct_images(self):
        blob = parse_blob(make_blob([("rt0", "guest-kernel", [1]), ("gp0", "guest-kernel", [2]),
                                     ("lx", "linux", [3])]))
        self.assertEqual([p.name for p in blob.partitions], ["rt0", "gp0", "lx"])
        self.assertEqual(blob.partitions[1].cores, [2])
        self.assertEqual(blob.partitions[0].ram_size, 0x800000)
        self.assertEqual(blob.images(), ["guest-kernel", "linux"])
        self.assertEqual(blob.name, "machine")

    def test_rejects_bad_crc_and_magic(self):
        with self.assertRaises(BlobError):
            parse_blob(make_blob([("rt0", "guest-kernel", [1])], corrupt_crc=True))
        with self.assertRaises(BlobError):
            parse_blob(b"\0" * 64)
        self.assertEqual(HEADER.size, 64)
        self.assertEqual(PARTITION.size, 404)


LOG = """\
natsume: boot: Natsume 0.1
natsume: config: partition rt0 cores 1 ram 0x4000000+0x800000
natsume: config: partition gp0 cores 2 ram 0x4800000+0x800000
[rt0] natsume-guest: banner name=rt0 apic_id=1 mode=partition tsc_khz=1000
[gp0] natsume-guest: banner name=gp0 apic_id=2 mode=partition tsc_khz=1000
[rt0] NATSUME-RESULT {"test": "lapic-timer", "pass": true}
[gp0] NATSUME-RESULT {"test": "hypercalls", "result": "fail"}
[rt0] NATSUME-DONE pass=1 fail=0
[gp0] NATSUME-DONE pass=0 fail=1
natsume: partition gp0 stopped: exit code 1
natsume: all partitions stopped
""".splitlines()


class SerialLogTest(unittest.TestCase):
    def test_consoles_and_reports(self):
        consoles = serial_log.partition_consoles(LOG)
        self.assertEqual(list(consoles), ["rt0", "gp0"])
        rt0 = serial_log.guest_report(consoles["rt0"])
        self.assertEqual(rt0.banner["apic_id"], "1")
        self.assertEqual(rt0.done, (1, 0))
        self.assertTrue(rt0.results[0].passed)
        self.assertEqual(rt0.results[0].name, "lapic-timer")
        gp0 = serial_log.guest_report(consoles["gp0"])
        self.assertFalse(gp0.results[0].passed)
        self.assertEqual(len(serial_log.hypervisor_lines(LOG)), 5)

    def test_native_console_has_no_prefix(self):
        lines = ["natsume-guest: banner name=native apic_id=0 mode=native", "NATSUME-DONE pass=3 fail=0"]
        report = serial_log.guest_report(serial_log.console_of(lines, None))
        self.assertEqual(report.banner["mode"], "native")
        self.assertEqual(report.done, (3, 0))

    def test_ansi_sequences_are_removed(self):
        self.assertEqual(clean_text("\x1b[H\x1b[J\x1b[1;1H  Booting\r"), "  Booting")


class ChecksTest(unittest.TestCase):
    def test_passing_expectations(self):
        checks = [Line(r"all partitions stopped", "end"), NoLine(r"PANIC", "panic"),
                  Banner("rt0", {"name": "rt0", "apic_id": 1, "mode": "partition"}),
                  GuestPassed("rt0", tests=["lapic-timer"]),
                  Order(r"config: partition rt0", r"\[rt0\] natsume-guest", "table first")]
        self.assertEqual(run_checks(checks, LOG), [])

    def test_failures_are_reported_with_reasons(self):
        errors = run_checks([GuestPassed("gp0"), Banner("gp0", {"apic_id": 3}), NoBanner(),
                             Line(r"PANIC", "panic"), GuestPassed("rt0", tests=["hypercalls"]),
                             GuestPassed("xx")], LOG)
        text = "\n".join(errors)
        self.assertIn("NATSUME-DONE pass=0 fail=1", text)
        self.assertIn("test hypercalls failed", text)
        self.assertIn("apic_id", text)
        self.assertIn("a guest started", text)
        self.assertIn("missing: panic", text)
        self.assertIn("no NATSUME-RESULT for test 'hypercalls'", text)
        self.assertIn("partition xx: no 'NATSUME-DONE", text)


class ConfigTextTest(unittest.TestCase):
    def test_grub_cfg(self):
        cfg = grub_cfg(BootSpec(Path("/x/natsume.elf"), "emulator-exit",
                                [Module(Path("/y/c.bin"), "natsume-config.bin", "natsume-config")]))
        for want in ("serial --unit=0 --speed=115200", "terminal_output serial", "set timeout=0",
                     "multiboot2 /boot/natsume.elf emulator-exit",
                     "module2 /boot/natsume-config.bin natsume-config"):
            self.assertIn(want, cfg)

    def test_bochsrc_never_prompts(self):
        rc = bochs.bochsrc(bochs.BochsConfig(iso=Path("/i.iso"), work_dir=Path("/w"),
                                             cpu_model="corei7_skylake_x", cpus=2))
        self.assertIn("cpu: model=corei7_skylake_x, count=2, ips=10000000", rc)
        self.assertIn("display_library: term", rc)
        self.assertIn("clock: sync=none, time0=", rc)
        for level in ("info", "error", "panic"):
            self.assertIn(f"{level}: action=report", rc)
        self.assertNotIn("action=ask", rc)
        self.assertNotIn("action=fatal", rc)
        self.assertEqual(bochs.resolve_cpu("nehalem"), "corei5_lynnfield_750")
        with self.assertRaises(ValueError):
            bochs.resolve_cpu("pentium")


class KvmProbeTest(unittest.TestCase):
    def test_missing_device_is_a_skip_reason(self):
        reason = qemu_runner.nested_kvm_unavailable(dev="/nonexistent/kvm")
        self.assertIn("not usable", reason)

    def test_cpu_without_vmx_is_a_skip_reason(self):
        if qemu_runner.nested_kvm_unavailable(cpuinfo="/dev/null") is None:
            self.fail("an empty cpuinfo must never count as having vmx")
        with tempfile.NamedTemporaryFile("w", suffix="cpuinfo") as f:
            f.write("flags\t\t: fpu vme svm\n")
            f.flush()
            reason = qemu_runner.nested_kvm_unavailable(cpuinfo=f.name)
            self.assertIsNotNone(reason)

    def test_debug_exit_code(self):
        self.assertEqual(qemu_runner.debug_exit_code(1), 0)
        self.assertEqual(qemu_runner.debug_exit_code(7), 3)
        self.assertIsNone(qemu_runner.debug_exit_code(0))


class RunnerTest(unittest.TestCase):
    """A shell script plays the emulator: it writes a serial file and a child
    process that must die with it."""

    def run_fake(self, script: str, end: str, timeout: float):
        d = Path(tempfile.mkdtemp())
        serial = d / "serial.log"
        seen = []
        res = run_following_serial(["/bin/sh", "-c", script.replace("SERIAL", str(serial))],
                                   serial, d / "out.txt", end, timeout, seen.append)
        return res, seen

    def test_end_pattern_stops_early_and_kills_the_group(self):
        res, seen = self.run_fake("echo boot > SERIAL; echo 'natsume: all partitions stopped' "
                                  ">> SERIAL; sleep 30 & sleep 30", r"all partitions stopped", 20)
        self.assertEqual(res.outcome, "end-pattern")
        self.assertLess(res.elapsed, 10)
        self.assertEqual(seen, ["boot", "natsume: all partitions stopped"])

    def test_timeout(self):
        res, _ = self.run_fake("echo boot > SERIAL; sleep 30", r"never", 1.0)
        self.assertEqual(res.outcome, "timeout")
        self.assertLess(res.elapsed, 8)

    def test_emulator_exit_and_unterminated_last_line(self):
        res, seen = self.run_fake("printf 'a\\nlast' > SERIAL", r"never", 20)
        self.assertEqual(res.outcome, "emulator-exited")
        self.assertEqual(seen, ["a", "last"])


if __name__ == "__main__":
    unittest.main(verbosity=1)
