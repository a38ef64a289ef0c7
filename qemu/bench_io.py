"""`natsume bench io`: the I/O paths side by side. This first part measures
the disk: a sequential read of the harness's pattern disk in 32 KiB requests,
every sector checked, in three configurations on each Bochs CPU model:

- Native: the guest kernel alone drives the PIIX3 IDE controller (ide-read kib=N);
- Passthrough: rt0 owns the controller (the hypervisor opens its legacy ports)
  and reads the same way (ide-read kib=N in a partition);
- Paravirtual: gp0 owns the controller and serves it as a blkif backend on a
  channel; rt0 reads through the ring, four requests in flight (blk-read kib=N).

Results go to BUILD/results/io.json and, for a full run, docs/results/io.md.
Under Bochs the TSC counts instructions and the figures are per emulated
second: emulator figures, never hardware times. No loads yet, no network.
"""

import datetime
from pathlib import Path

from natsume_emu import bench, bochs, serial_log
from natsume_emu.iso import IsoError
from natsume_emu.session import (Emulator, SetupError, boot, hypervisor_boot, native_boot,
                                 print_failure_context)

DISK_MIB = 64
ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {"passthrough": ROOT / "tests/integration/configs/passthrough-ide.toml",
           "paravirtual": ROOT / "tests/integration/configs/blk-read.toml"}
END = r"natsume: all partitions stopped|natsume: PANIC|NATSUME-DONE pass=\d+ fail=\d+$"


def config_text(mode: str, kib: int) -> str:
    """The scenario's partition file with the read size set."""
    text = CONFIGS[mode].read_text()
    if mode == "passthrough":
        return text.replace('cmdline = "role=rt test=ide-read"', f'cmdline = "role=rt test=ide-read kib={kib}"')
    return text.replace('test=blk-read kib=4096', f"test=blk-read kib={kib}")


def result(lines: list, partition, test: str):
    for r in serial_log.guest_report(serial_log.console_of(lines, partition)).results:
        if r.name == test:
            return r
    return None


def run_case(build, model: str, mode: str, kib: int, ips: int, timeout: float, echo: bool):
    """(case dict, error)."""
    emu = Emulator(kind="bochs", cpu_model=model, cpus=1 if mode == "native" else 3, ips=ips, disk_mib=DISK_MIB)
    work = build.run_dir(f"bench-io.{mode}.{model}")
    try:
        if mode == "native":
            spec = native_boot(build, f"test=ide-read kib={kib}")
        else:
            toml = work / f"bench-io-{mode}.toml"
            toml.write_text(config_text(mode, kib))
            spec = hypervisor_boot(build, toml, work)
    except (SetupError, IsoError) as e:
        return None, f"could not set up the run: {e}"
    session = boot(spec, work, emu, END, timeout, echo=echo)
    partition = None if mode == "native" else "rt0"
    test = "blk-read" if mode == "paravirtual" else "ide-seq"
    r = result(session.lines, partition, test)
    if r is None or not r.passed:
        print_failure_context(session)
        return None, f"{test}: {'no result' if r is None else 'failed: ' + r.raw} ({session.result.outcome})"
    d = r.data
    exits = d.get("foreign_exits", 0) if mode != "paravirtual" else None
    case = {"cpu_model": model, "mode": mode, "kib": kib, "requests": d["requests"],
            "request_bytes": d["request_bytes"], "ticks": d["ticks"], "kib_per_emulated_s": d["kib_per_emulated_s"],
            "foreign_exits": d["foreign_exits"], "counted": d.get("counted", True),
            "exits_per_request": d.get("exits_per_request"), "exits_other": exits}
    return case, ""


def render(doc: dict) -> str:
    m = doc["meta"]
    out = ["# I/O paths (Bochs): the disk", "",
           "A sequential read of the harness's 64 MiB pattern disk (`qemu/natsume_emu/disk.py`) in 32 KiB requests, "
           "every sector checked, by `./natsume bench io`: Native (the guest kernel alone drives the PIIX3 IDE "
           "controller), Passthrough (rt0 owns the controller; the hypervisor opens its legacy ports), "
           "Paravirtual (gp0 owns it and serves it as a blkif backend on a channel; rt0 reads through the ring, "
           "four requests in flight). Under Bochs the TSC counts one tick per emulated instruction: the figures "
           f"are per **emulated** second at {m['ips']:,} ips, not hardware throughput, and Bochs completes a DMA "
           "transfer at once, so the disk itself costs almost nothing here: what differs is the software path.", "",
           f"Run {m['date']} at commit `{m['git_commit']}`, Bochs {m.get('bochs', '?')}, host {m.get('host_cpu', '?')}, "
           f"{doc['kib']} KiB per case. No load in any case yet.", ""]
    for model in doc["models"]:
        out += [f"## {model}", "",
                "| configuration | requests | KiB per emulated s | ticks | exits not the partition's own "
                "hypercalls | exits per request |",
                "|---|---|---|---|---|---|"]
        for c in [c for c in doc["cases"] if c["cpu_model"] == model]:
            own = "n/a (native)" if not c["counted"] else str(c["foreign_exits"])
            per = c["exits_per_request"] if c["exits_per_request"] is not None else (
                "0" if c["counted"] else "n/a")
            out.append(f"| {c['mode']} | {c['requests']} | {c['kib_per_emulated_s']} | {c['ticks']} | {own} | {per} |")
        out.append("")
    out += ["How to read the columns: Native and Passthrough read and check one request at a time on one core; "
            "the paravirtual reader keeps four requests in flight and its backend reads on another core while it "
            "checks, so the columns compare whole paths, not the cost of one request. What the paravirtual path "
            "adds per request is a doorbell (a VM exit) on the frontend, one on the backend when the frontend "
            "asked to be woken, and the backend's copy from its DMA memory into the channel's data page. "
            "Passthrough takes no VM exit at all: the controller's ports and its DMA reach the hardware.", ""]
    if doc["failed"]:
        out += ["## Failed runs", ""] + [f"- {f['model']} {f['mode']}: {f['reason']}" for f in doc["failed"]] + [""]
    return "\n".join(out)


def cmd_io(args, build, root: Path, meta_common: dict) -> int:
    kib = args.kib or (1024 if args.quick else 8192)
    models = [bochs.CPU_MODELS[c] for c in (args.cpu or list(bochs.CPU_MODELS))]
    cases, failed = [], []
    for model in models:
        for mode in ("native", "passthrough", "paravirtual"):
            print(f"natsume-bench: io {mode} on {model}, {kib} KiB", flush=True)
            case, error = run_case(build, model, mode, kib, args.ips, args.timeout or 900.0, args.echo)
            if case:
                cases.append(case)
                print(f"natsume-bench:   {case['kib_per_emulated_s']} KiB/emulated s, foreign exits "
                      f"{case['foreign_exits']}", flush=True)
            if error:
                failed.append({"model": model, "mode": mode, "reason": error})
                print(f"natsume-bench: FAILED {model} {mode}: {error}", flush=True)
    meta = dict(meta_common)
    meta.update({"ips": args.ips, "command": "./natsume bench io" + (" --quick" if args.quick else ""),
                 "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")})
    doc = {"meta": meta, "models": models, "kib": kib, "cases": cases, "failed": failed}
    json_path, md_path = bench.write_results(args, build.root, root, "io", doc, render(doc))
    print(f"natsume-bench: wrote {json_path} and {md_path}", flush=True)
    # The gate: passthrough takes no exit that is not its own hypercall.
    bad = [c for c in cases if c["mode"] == "passthrough" and c["foreign_exits"] != 0]
    for c in bad:
        print(f"natsume-bench: FAILED gate: passthrough on {c['cpu_model']} took {c['foreign_exits']} exits",
              flush=True)
    return 1 if failed or bad else 0
