#!/usr/bin/python3
"""Host-side tests of the emulator harness: no emulator is started except a
shell script standing in for one."""

import json
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import unittest
import zlib
from unittest import mock
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "qemu"))

from checks import (Banner, BenchZeroExits, GuestPassed, Line, NativeBench, NoBanner,  # noqa: E402
                    NoLine, Note, Order, ResultFields, run_checks)
from natsume_emu import bench, bochs, netpeer, qemu_runner, serial_log  # noqa: E402
from natsume_emu.blob import HEADER, INITRAMFS_OFFSET, PARTITION, BlobError, parse_blob  # noqa: E402
from natsume_emu.iso import BootSpec, Module, grub_cfg  # noqa: E402
from natsume_emu.runner import clean_text, run_following_serial  # noqa: E402
from natsume_emu.session import BuildTree, SetupError, image_overlay  # noqa: E402


PARTITION_SIZE = 632   # sizeof(struct natsume_config_partition), blob version 4
CHANNEL_SIZE = 88      # sizeof(struct natsume_config_channel)


def make_blob(parts, corrupt_crc=False) -> bytes:
    body = b""
    for name, image, cores, *initramfs in parts:
        part = PARTITION.pack(name.encode(), image.encode(), b"test=x", 0x4000000, 0x800000,
                              len(cores), *(cores + [0] * (8 - len(cores))), 1, 0,
                              1 if initramfs else 0, 0x10000000 if initramfs else 0,
                              0x8000000 if initramfs else 0).ljust(INITRAMFS_OFFSET, b"\0")
        body += (part + (initramfs[0].encode() if initramfs else b"")).ljust(PARTITION_SIZE, b"\0")
    total = HEADER.size + len(body)
    head = HEADER.pack(0x4746435355544E41, 4, HEADER.size, PARTITION_SIZE, len(parts),
                       total, 0, b"machine", CHANNEL_SIZE, 0)
    crc = zlib.crc32(head + body) & 0xFFFFFFFF
    if corrupt_crc:
        crc ^= 1
    return HEADER.pack(0x4746435355544E41, 4, HEADER.size, PARTITION_SIZE, len(parts),
                       total, crc, b"machine", CHANNEL_SIZE, 0) + body


class BlobTest(unittest.TestCase):
    def test_parses_partitions_and_distinct_images(self):
        blob = parse_blob(make_blob([("rt0", "guest-kernel", [1]), ("gp0", "guest-kernel", [2]),
                                     ("lx", "linux.bzImage", [3], "linux-initramfs.cpio.gz")]))
        self.assertEqual([p.name for p in blob.partitions], ["rt0", "gp0", "lx"])
        self.assertEqual(blob.partitions[1].cores, [2])
        self.assertEqual(blob.partitions[0].ram_size, 0x800000)
        self.assertEqual(blob.images(), ["guest-kernel", "linux.bzImage", "linux-initramfs.cpio.gz"])
        self.assertEqual(blob.partitions[2].kind, 1)
        self.assertEqual(blob.partitions[2].initramfs, "linux-initramfs.cpio.gz")
        self.assertEqual((blob.partitions[2].dma_base, blob.partitions[2].dma_size), (0x10000000, 0x8000000))
        self.assertEqual(blob.partitions[2].host_end(), 0x18000000)
        self.assertEqual(blob.partitions[0].host_end(), 0x4800000)
        self.assertEqual(blob.name, "machine")

    def test_rejects_bad_crc_and_magic(self):
        with self.assertRaises(BlobError):
            parse_blob(make_blob([("rt0", "guest-kernel", [1])], corrupt_crc=True))
        with self.assertRaises(BlobError):
            parse_blob(b"\0" * 72)
        self.assertEqual(HEADER.size, 72)
        self.assertEqual(PARTITION.size, 432)


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


class ResultFieldsTest(unittest.TestCase):
    LOG = ['[rt0] NATSUME-RESULT {"test":"shared-line-rt","status":"pass","triggered":200,'
           '"received":200,"spurious":0,"gsi":[9,9],"x2apic":true}',
           '[rt0] NATSUME-DONE pass=1 fail=0']

    def test_exact_values_of_json_types(self):
        ok = ResultFields("rt0", "shared-line-rt",
                          {"triggered": 200, "spurious": 0, "gsi": [9, 9], "x2apic": True})
        self.assertEqual(ok(self.LOG), [])

    def test_wrong_missing_and_absent(self):
        self.assertIn("'received': 200", ResultFields("rt0", "shared-line-rt", {"received": 199})(self.LOG)[0])
        self.assertIn("'absent': None", ResultFields("rt0", "shared-line-rt", {"absent": 0})(self.LOG)[0])
        # True is not 1 here: a JSON boolean must not pass for a count
        self.assertNotEqual(ResultFields("rt0", "shared-line-rt", {"x2apic": "true"})(self.LOG), [])
        self.assertIn("no NATSUME-RESULT for test 'other'", ResultFields("rt0", "other", {})(self.LOG)[0])
        self.assertIn("partition gp0", ResultFields("gp0", "shared-line-rt", {})(self.LOG)[0])

    def test_note_never_fails(self):
        self.assertEqual(Note("rt0", "shared-line-rt", ("spurious",), "info")(self.LOG), [])
        self.assertEqual(Note("rt0", "missing", ("spurious",), "info")(self.LOG), [])


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


class PciDeviceTest(unittest.TestCase):
    def cfg(self, *devices):
        return bochs.BochsConfig(iso=Path("/i.iso"), work_dir=Path("/w"), pci_devices=devices)

    def test_slots_cards_and_backends(self):
        rc = bochs.bochsrc(self.cfg(bochs.PciDevice("e1000", 5, ethmod="null"),
                                    bochs.PciDevice("e1000", 1),
                                    bochs.PciDevice("pcipnic", 2, ethmod="null")))
        self.assertIn("pci: enabled=1, chipset=i440fx, slot1=e1000, slot2=pcipnic, slot5=e1000\n", rc)
        # cards numbered in slot order; vnet gets its directory, null none
        self.assertIn("e1000: card=0, enabled=1, mac=52:54:00:12:34:51, ethmod=vnet, "
                      "ethdev=/w/vnet-root\n", rc)
        self.assertIn("e1000: card=1, enabled=1, mac=52:54:00:12:34:55, ethmod=null\n", rc)
        self.assertIn("pcipnic: enabled=1, mac=52:54:00:12:34:52, ethmod=null\n", rc)
        self.assertEqual(bochs.PciDevice("e1000", 1).bdf, "00:02.0")
        self.assertEqual(bochs.PciDevice("pcipnic", 5).bdf, "00:06.0")

    def test_no_devices_keeps_the_plain_chipset_line(self):
        rc = bochs.bochsrc(self.cfg())
        self.assertIn("pci: enabled=1, chipset=i440fx\n", rc)
        self.assertNotIn("e1000", rc)

    def test_bad_device_sets_are_refused(self):
        for devs in ((bochs.PciDevice("e1000", 1), bochs.PciDevice("pcipnic", 1)),
                     (bochs.PciDevice("e1000", 6),),
                     (bochs.PciDevice("ne2k", 1),),
                     (bochs.PciDevice("e1000", 1, ethmod="slirp"),),
                     (bochs.PciDevice("pcipnic", 1), bochs.PciDevice("pcipnic", 2))):
            with self.assertRaises(bochs.BochsConfigError, msg=str(devs)):
                bochs.bochsrc(self.cfg(*devs))

    def test_tuntap_opens_the_named_tap(self):
        rc = bochs.bochsrc(self.cfg(bochs.PciDevice("e1000", 1, ethmod="tuntap", ethdev="tap0")))
        self.assertIn("e1000: card=0, enabled=1, mac=52:54:00:12:34:51, ethmod=tuntap, "
                      "ethdev=/dev/net/tun:tap0\n", rc)
        for bad in ("", "tap0,x", "a:b", "sixteen-chars-xx"):
            with self.assertRaises(bochs.BochsConfigError, msg=bad):
                bochs.bochsrc(self.cfg(bochs.PciDevice("e1000", 1, ethmod="tuntap", ethdev=bad)))
        self.assertEqual(bochs.netns_prefix(""), [])
        self.assertEqual(bochs.netns_prefix("natsume-1-1")[1:], ["netns", "exec", "natsume-1-1"])

    def test_command_line_form(self):
        self.assertEqual(bochs.parse_pci_device("e1000@2:null"), bochs.PciDevice("e1000", 2, "null"))
        self.assertEqual(bochs.parse_pci_device("pcipnic@5").ethmod, "vnet")
        for bad in ("e1000", "e1000@x", "e1000@9", "tulip@1", "e1000@1:tap"):
            with self.assertRaises(bochs.BochsConfigError, msg=bad):
                bochs.parse_pci_device(bad)

    def test_qemu_mirrors_e1000_at_the_same_bdf(self):
        args = qemu_runner.device_args((bochs.PciDevice("e1000", 2, ethmod="null"),
                                        bochs.PciDevice("e1000", 1)))
        self.assertEqual(args, ["-netdev", "user,id=net0,restrict=on,net=192.168.10.0/24,"
                                           "host=192.168.10.1",
                                "-device", "e1000,netdev=net0,mac=52:54:00:12:34:51,addr=0x2",
                                "-netdev", "hubport,id=net1,hubid=1",
                                "-device", "e1000,netdev=net1,mac=52:54:00:12:34:52,addr=0x3"])
        with self.assertRaises(qemu_runner.QemuConfigError):
            qemu_runner.device_args((bochs.PciDevice("pcipnic", 2),))


def bench_line(source="device", samples=4, exits=0, irqs=4, ticks=(10, 20, 30, 40),
               hist=((8, 1), (16, 2), (32, 1))) -> str:
    t = dict(zip(bench.STATS, ticks))
    return ("NATSUME-BENCH " + json.dumps({
        "bench": "irq", "source": source, "samples": samples, "ticks": t, "tsc_khz": 10000,
        "exits": exits, "irqs": irqs, "hist": [list(b) for b in hist]}))


class BenchParseTest(unittest.TestCase):
    def test_partition_lines_and_exits_per_irq(self):
        lines = ["[gp0] " + bench_line(exits=9), "[rt0] natsume-guest: banner x",
                 "[rt0] " + bench_line(exits=0), "[rt0] " + bench_line("timer", exits=2, irqs=4)]
        found = bench.measurements(lines, "rt0")
        self.assertEqual([m.source for m in found], ["device", "timer"])
        self.assertEqual(found[0].ticks, {"min": 10, "p50": 20, "p99": 30, "max": 40})
        self.assertEqual(found[0].exits_per_irq, 0.0)
        self.assertEqual(found[1].exits_per_irq, 0.5)
        self.assertEqual(bench.measurements(lines, None), [])

    def test_relayed_line_split_in_chunks_is_joined(self):
        whole = bench_line(exits=0)
        chunks = [whole[k:k + 40] for k in range(0, len(whole), 40)]
        lines = ["[rt0] " + c for c in chunks] + ["[rt0] NATSUME-DONE pass=1 fail=0"]
        found = bench.measurements(lines, "rt0")
        self.assertEqual(len(found), 1)
        self.assertEqual(found[0].irqs, 4)
        with self.assertRaises(bench.BenchError):     # truncated: never completes
            bench.measurements(["[rt0] " + c for c in chunks[:-1]]
                               + ["[rt0] NATSUME-DONE pass=1 fail=0"], "rt0")

    def test_native_exits_are_null(self):
        m = bench.measurements([bench_line(exits=None)], None)[0]
        self.assertIsNone(m.exits)
        self.assertIsNone(m.exits_per_irq)

    def test_malformed_lines_are_errors(self):
        bad = [bench_line(ticks=(10, 50, 30, 40)),          # p50 > p99
               bench_line(samples=5),                      # histogram counts 4
               bench_line(source="nmi"),
               bench_line(irqs=-1),
               "NATSUME-BENCH {not json}"]
        for line in bad:
            with self.assertRaises(bench.BenchError, msg=line):
                bench.measurements([line], None)

    def test_case_record_has_the_issue_fields_and_ns(self):
        m = bench.measurements([bench_line(exits=0)], None)[0]
        spec = bench.CaseSpec("corei7_skylake_x", "partition", "passthrough", "cpu")
        rec = bench.case_record(spec, m, ips=10_000_000)
        for key in ("name", "platform", "cpu_model", "mode", "lapic", "load", "source",
                    "samples", "ticks", "exits_per_irq"):
            self.assertIn(key, rec)
        self.assertEqual(rec["platform"], "bochs")
        self.assertEqual(rec["name"], "partition.corei7_skylake_x.passthrough.cpu.device")
        self.assertEqual(rec["emulated_ns"]["p50"], 2000.0)   # 20 ticks at 10 M ips

    def test_gate(self):
        def case(mode, lapic, exits, irqs=4):
            return {"name": f"{mode}.{lapic}", "mode": mode, "lapic": lapic, "exits": exits,
                    "irqs": irqs, "exits_per_irq": None if exits is None else exits / irqs}
        self.assertEqual(bench.gate_failures([case("native", "native", None),
                                              case("partition", "passthrough", 0),
                                              case("partition", "trapped", 4)]), [])
        bad = bench.gate_failures([case("partition", "passthrough", 2),
                                   case("partition", "passthrough", None)])
        self.assertEqual(len(bad), 2)
        self.assertIn("0.5 VM exits per interrupt", bad[0])
        self.assertIn("no exit count", bad[1])
        # The hypercall round trip exits by design and has no interrupts: not gated.
        hc = dict(case("partition", "passthrough", None, irqs=0), source="hypercall")
        self.assertEqual(bench.gate_failures([hc]), [])

    def test_zero_exit_check(self):
        good = ["[rt0] " + bench_line(), "[rt0] " + bench_line("timer")]
        self.assertEqual(BenchZeroExits("rt0", 4)(good), [])
        errors = BenchZeroExits("rt0", 4)(["[rt0] " + bench_line(exits=3),
                                           "[rt0] " + bench_line("timer", irqs=0)])
        self.assertEqual(len(errors), 2, errors)
        self.assertIn("3 VM exits over 4 interrupts", errors[0])
        self.assertIn("irqs=0", errors[1])
        self.assertIn("no NATSUME-BENCH line for source 'timer'",
                      BenchZeroExits("rt0", 4)(good[:1])[0])
        self.assertEqual(NativeBench(4)([bench_line(exits=None), bench_line("timer", exits=None)]), [])
        self.assertEqual(len(NativeBench(4)([bench_line(exits=0), bench_line("timer", exits=None)])), 1)


class ScenarioRegistrationTest(unittest.TestCase):
    def test_pending_scenarios_are_disabled_not_dropped(self):
        import run_scenario
        import scenarios
        with tempfile.TemporaryDirectory() as d:
            out = Path(d) / "tests.cmake"
            run_scenario.emit_cmake(out)
            text = out.read_text()
        for sc in scenarios.SCENARIOS:
            if sc.kind == "offline":
                continue
            for emu in sc.emulators:
                models = scenarios.bochs_models(sc) if emu == "bochs" else [None]
                for m in models:
                    name = f"{emu}.{sc.name}" + (f".{m}" if m else "")
                    props = re.search(rf"set_tests_properties\({re.escape(name)} PROPERTIES (.*)\)",
                                      text)
                    self.assertIsNotNone(props, name)
                    self.assertEqual("DISABLED TRUE" in props.group(1), bool(sc.pending), name)
        self.assertNotIn("bochs.attack-ipi.nehalem", text)


class BenchReportTest(unittest.TestCase):
    def test_render_is_deterministic_and_labels_ticks(self):
        try:
            import bench_report
        except ImportError as e:
            self.skipTest(f"matplotlib missing: {e}")
        m = bench.measurements([bench_line(exits=None), bench_line("timer", exits=None)], None)
        spec = bench.CaseSpec("corei5_lynnfield_750", "native", "native", "none")
        doc = bench.results_document([bench.case_record(spec, x, 10_000_000) for x in m], [],
                                     {"ips": 10_000_000, "date": "D", "command": "cmd"})
        with tempfile.TemporaryDirectory() as d:
            first = [p.read_bytes() for p in bench_report.render(doc, Path(d) / "a")]
            second = [p.read_bytes() for p in bench_report.render(doc, Path(d) / "b")]
        self.assertEqual(first, second)
        md = first[1].decode()
        self.assertIn("not real-hardware times", md)
        self.assertIn("| `native.corei5_lynnfield_750.native.none.device` |", md)
        self.assertIn(b"Bochs TSC ticks", first[0])
        self.assertEqual(bench_report.cdf_points([[16, 2], [8, 1], [32, 0]], 4),
                         ([8, 8, 16, 16, 32], [0, 0.25, 0.25, 0.75, 0.75]))
        self.assertEqual(bench_report.cdf_points([[0, 5]], 5), ([0, 0, 1], [0, 1.0, 1.0]))


class LinuxLoadTest(unittest.TestCase):
    """bench irq's Linux loads: whether the load covered rt0's measurement,
    the p99 table against the idle case, and merging runs."""

    WINDOW = '[rt0] NATSUME-BENCH-WINDOW {"tsc_start": 1000, "tsc_end": 2000}'

    def test_coverage_from_both_tscs(self):
        import natsume_bench as nb
        start = "[linux0] natsume-linux: load stress start tsc=900 (stress-ng ...)"
        self.assertTrue(nb.linux_coverage([start, self.WINDOW], "linux-stress")["covered"])
        late = "[linux0] natsume-linux: load stress start tsc=1500 (stress-ng ...)"
        self.assertFalse(nb.linux_coverage([late, self.WINDOW], "linux-stress")["covered"])
        ended = "[linux0] natsume-linux: load stress end tsc=1999 status 0"
        self.assertFalse(nb.linux_coverage([start, self.WINDOW, ended], "linux-stress")["covered"])
        other = "[linux0] natsume-linux: load net start tsc=900 (ping ...)"
        self.assertFalse(nb.linux_coverage([other, self.WINDOW], "linux-stress")["covered"])
        self.assertFalse(nb.linux_coverage([start], "linux-stress")["covered"])   # no window
        init = "[linux0] natsume-linux: init started (uptime 1 s, tsc {}, kernel x)"
        self.assertTrue(nb.linux_coverage([self.WINDOW, init.format(2500)], "linux-boot")["covered"])
        self.assertFalse(nb.linux_coverage([init.format(1500), self.WINDOW], "linux-boot")["covered"])
        spec = bench.CaseSpec("corei5_lynnfield_750", "partition", "passthrough", "linux-stress")
        toml = nb.partition_toml(spec, 100)
        self.assertIn("after_s=850", toml)
        self.assertIn('kind = "linux"', toml)
        self.assertIn('bdf = "00:03.0"', toml)

    def test_table_against_idle_and_merge(self):
        try:
            import bench_report
        except ImportError as e:
            self.skipTest(f"matplotlib missing: {e}")
        import natsume_bench as nb

        def case(load, p99, covered=True):
            spec = bench.CaseSpec("corei5_lynnfield_750", "partition", "passthrough", load)
            m = bench.measurements([bench_line(ticks=(10, 20, p99, 40))], None)[0]
            extra = {"load_partition": {"running_until_rt0_done": covered}} if load != "none" else {}
            return bench.case_record(spec, m, 10_000_000, extra)
        rows = "\n".join(bench_report.linux_table([case("none", 30), case("linux-stress", 31),
                                                   case("linux-net", 33, covered=False)]))
        self.assertIn("| linux-stress | device | 31 | 30 | +1 (within one tick) | yes |", rows)
        self.assertIn("| linux-net | device | 33 | 30 | +3 (**beyond** one tick) | **no** |", rows)
        with tempfile.TemporaryDirectory() as d:
            run = Path(d) / "run.json"
            run.write_text(json.dumps({"date": "D2", "git_commit": "c2", "command": "cmd2",
                                       "cases": [case("none", 29), case("linux-boot", 29)]}))
            doc = nb.merge_runs({"date": "D1", "cases": [case("none", 30), case("cpu", 30)]}, [run])
        names = [c["name"].split(".")[3] for c in doc["cases"]]
        self.assertEqual(sorted(names), ["cpu", "linux-boot", "none"])
        self.assertEqual(next(c for c in doc["cases"] if c["load"] == "none")["ticks"]["p99"], 29)
        self.assertEqual(doc["merged_runs"][0]["cases"], 2)


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


class FakeServer:
    def __init__(self):
        self.returncode = None

    def poll(self):
        return self.returncode


class FakeHost(netpeer.Host):
    """Records every command; `fail` names a word whose command fails."""

    def __init__(self, netns=(), alive=(), fail=None):
        self.cmds, self.stopped, self.netns, self.alive, self.fail = [], [], list(netns), set(alive), fail

    def run(self, cmd, check=True):
        self.cmds.append(cmd)
        rc = 1 if self.fail and self.fail in cmd else 0
        if check and rc:
            raise netpeer.NetPeerError(f"'{' '.join(cmd)}' failed")
        return subprocess.CompletedProcess(cmd, rc, "", "")

    def start(self, cmd, log_path):
        self.cmds.append(cmd)
        log_path.write_text("Server listening on 5201 (test #1)\n")
        return FakeServer()

    def stop(self, proc):
        self.stopped.append(proc)
        proc.returncode = -15

    def netns_names(self):
        return self.netns

    def pid_alive(self, pid):
        return pid in self.alive

    def preflight(self):
        pass


class NetPeerTest(unittest.TestCase):
    def peer(self, host, **kw):
        d = Path(tempfile.mkdtemp())
        return netpeer.NetPeer(d, host=host, trap_sigterm=False, **kw), d

    def test_commands(self):
        host = FakeHost()
        np, d = self.peer(host, lifetime=600)
        with np as p:
            self.assertRegex(p.netns, rf"^natsume-{os.getpid()}-\d+$")
            self.assertEqual((p.tap, p.ip, p.port), ("tap0", "192.168.20.1", 5201))
            self.assertEqual(p.log_path, d / "iperf3-server.log")
            self.assertEqual(p.exec_prefix, ["ip", "netns", "exec", p.netns])
            ns = p.netns
        self.assertEqual(host.cmds[0], ["ip", "netns", "add", ns])
        self.assertIn(["ip", "-n", ns, "tuntap", "add", "dev", "tap0", "mode", "tap"], host.cmds)
        self.assertIn(["ip", "-n", ns, "addr", "add", "192.168.20.1/24", "dev", "tap0"], host.cmds)
        self.assertIn(["ip", "-n", ns, "link", "set", "tap0", "up"], host.cmds)
        server = next(c for c in host.cmds if "iperf3" in c)
        self.assertEqual(server[:8], ["ip", "netns", "exec", ns, "timeout", "-k", "5", "600"])
        self.assertEqual(server[8:14], ["iperf3", "-s", "-1", "-B", "192.168.20.1", "-p"])
        self.assertEqual(len(host.stopped), 1)
        self.assertEqual(host.cmds[-1], ["ip", "netns", "del", ns])
        self.assertIn("Server listening", p.server_log())

    def test_cleanup_when_the_body_raises(self):
        for exc in (RuntimeError("boom"), KeyboardInterrupt(), SystemExit(143)):
            host = FakeHost()
            np, _ = self.peer(host)
            with self.assertRaises(type(exc)):
                with np as p:
                    raise exc
            self.assertEqual(host.cmds[-1], ["ip", "netns", "del", p.netns], exc)
            self.assertEqual(len(host.stopped), 1, exc)
            np.close()   # a second close does nothing
            self.assertEqual(sum(c[:3] == ["ip", "netns", "del"] for c in host.cmds), 1)

    def test_cleanup_when_set_up_fails_half_way(self):
        host = FakeHost(fail="addr")
        np, _ = self.peer(host)
        with self.assertRaises(netpeer.NetPeerError):
            with np:
                self.fail("the body must not run")
        ns = host.cmds[0][3]
        self.assertEqual(host.cmds[-1], ["ip", "netns", "del", ns])
        self.assertFalse(any("iperf3" in c for c in host.cmds))

    def test_stale_namespaces_of_dead_runs_are_deleted(self):
        mine = f"natsume-{os.getpid()}-77"
        host = FakeHost(netns=["natsume-999999-3", "natsume-4242-1", mine, "natsume-other", "foo"], alive={4242})
        np, _ = self.peer(host, iperf=False)
        with np as p:
            self.assertNotIn(p.netns, (mine,))
        dels = [c[3] for c in host.cmds if c[:3] == ["ip", "netns", "del"]]
        self.assertEqual(dels, ["natsume-999999-3", p.netns])

    def test_clear_refusals(self):
        with mock.patch("os.geteuid", return_value=1000):
            with self.assertRaisesRegex(netpeer.NetPeerError, "needs root"):
                netpeer.require_root()
        with self.assertRaisesRegex(netpeer.NetPeerError, "/nonexistent/tun is missing"):
            netpeer.require_tun("/nonexistent/tun")
        with self.assertRaises(netpeer.NetPeerError):
            netpeer.NetPeer(Path("/tmp"), tap="tap0:x")

    def test_missing_tools_are_installed_as_natsume_does(self):
        host = FakeHost()
        with mock.patch.object(netpeer, "missing_packages", side_effect=[["iperf3"], []]), \
                mock.patch.object(netpeer.shutil, "which", return_value="/usr/bin/apt-get"):
            netpeer.ensure_tools(host)
        env = ["env", "DEBIAN_FRONTEND=noninteractive"]
        self.assertEqual(host.cmds, [env + ["apt-get", "update", "-q"],
                                     env + ["apt-get", "install", "-y", "-q", "--no-install-recommends", "iperf3"]])
        with mock.patch.object(netpeer, "missing_packages", return_value=["iperf3"]), \
                mock.patch.object(netpeer.shutil, "which", return_value="/usr/bin/apt-get"):
            with self.assertRaisesRegex(netpeer.NetPeerError, "could not install iperf3"):
                netpeer.ensure_tools(FakeHost(fail="install"))
        with mock.patch.object(netpeer, "missing_packages", return_value=["iperf3"]), \
                mock.patch.object(netpeer.shutil, "which", return_value=None):
            with self.assertRaisesRegex(netpeer.NetPeerError, "no apt-get"):
                netpeer.ensure_tools(FakeHost())

    def test_sigterm_in_the_body_cleans_up(self):
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            self.skipTest("SIGTERM already has a handler here")
        host = FakeHost()
        np = netpeer.NetPeer(Path(tempfile.mkdtemp()), host=host)
        with self.assertRaises(SystemExit):
            with np as p:
                os.kill(os.getpid(), signal.SIGTERM)
                for _ in range(100):   # the handler runs between bytecodes
                    pass
        self.assertEqual(host.cmds[-1], ["ip", "netns", "del", p.netns])
        self.assertIs(signal.getsignal(signal.SIGTERM), signal.SIG_DFL)

    def test_real_namespace_is_deleted_when_the_body_raises(self):
        if os.geteuid() != 0 or not os.path.exists("/dev/net/tun") or netpeer.missing_packages():
            self.skipTest("needs root, /dev/net/tun, ip and iperf3")
        listed = lambda: subprocess.run(["ip", "netns", "list"], capture_output=True,  # noqa: E731
                                        text=True).stdout
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaises(RuntimeError):
                with netpeer.NetPeer(Path(d), lifetime=60, trap_sigterm=False) as p:
                    self.assertIn(p.netns, listed())
                    link = subprocess.run(p.exec_prefix + ["ip", "-o", "addr", "show", "dev", "tap0"],
                                          capture_output=True, text=True).stdout
                    self.assertIn("inet 192.168.20.1/24", link)
                    raise RuntimeError("body failed")
            self.assertNotIn(p.netns, listed())
            self.assertIn("Server listening", p.server_log())
        pids = subprocess.run(["pgrep", "-f", f"iperf3 -s -1 -B {p.ip}"], capture_output=True, text=True)
        for pid in pids.stdout.split():   # another run's server may listen in its own namespace
            self.assertNotIn(p.netns, Path(f"/proc/{pid}/cmdline").read_text(errors="replace"))


class ImageOverlayTest(unittest.TestCase):
    def test_overridden_image_replaces_the_builds(self):
        with tempfile.TemporaryDirectory() as d:
            root = Path(d)
            (root / "images").mkdir()
            (root / "images" / "linux-initramfs.cpio.gz").write_text("built")
            (root / "images" / "natsume.elf").write_text("hv")
            (root / "variant.gz").write_text("variant")
            (root / "work").mkdir()
            out = image_overlay(BuildTree(root), root / "work", {"linux-initramfs.cpio.gz": root / "variant.gz"})
            self.assertEqual((out / "linux-initramfs.cpio.gz").read_text(), "variant")
            self.assertEqual((out / "natsume.elf").read_text(), "hv")
            with self.assertRaises(SetupError):
                image_overlay(BuildTree(root), root / "work2", {"x": root / "missing"})


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
