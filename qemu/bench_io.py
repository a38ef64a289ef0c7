"""`natsume bench io`: the I/O paths side by side, on each Bochs CPU model, in
three configurations and under the paper's loads.

Configurations:
- Native: the guest kernel alone drives the device (PIIX3 IDE, e1000);
- Passthrough: rt0 owns the device (IDE: the hypervisor opens its legacy
  ports; e1000: its BAR and INTx line) and drives it the same way;
- Paravirtual: gp0 owns the device and serves it on a channel (blkif backend;
  netif backend bridged to the e1000); rt0 uses the frontend.

Paths: the disk (a sequential read of the pattern disk in 32 KiB requests,
each sector's stamp checked, every read completed by the IDE channel's
interrupt) and the network (ICMP echo request/response with Bochs' vnet host
and a UDP stream of full frames: guest-kernel/src/bench/bench_net.cpp).

Loads: none; cpu (a partition of its own spinning: test=load-cpu); backend
(the paravirtual backend itself busy: it computes BACKEND_BUSY_US between
passes and never halts); io (a UDP flood from the harness into another
partition's e1000 through Bochs' socket backend, taken by interrupt there:
test=load-rx). Native runs one kernel on one core: it has no other partition
to load, so it is measured unloaded only.

Results go to BUILD/results/io.json and, for a full run, docs/results/io.md
with plots. Under Bochs the TSC counts instructions: every figure is in ticks
or per emulated second, never a hardware time.
"""

import datetime
import json
import re
from pathlib import Path

from natsume_emu import bench, bochs, flood, serial_log
from natsume_emu.bochs import PciDevice
from natsume_emu.iso import IsoError
from natsume_emu.session import (Emulator, SetupError, boot, hypervisor_boot, native_boot,
                                 print_failure_context)

ROOT = Path(__file__).resolve().parents[1]
DISK_MIB = 64
PATHS = ("disk", "net")
NATIVE_CPUS = 2
MODES = ("native", "passthrough", "paravirtual")
LOADS = ("none", "cpu", "backend", "io")
BACKEND_BUSY_US = 200
# Experiments on the paravirtual path, unloaded (the "why" of io.md): the same
# case with one of its two savings undone. copy: the channel without
# backend_dma, so the backend copies each frame (disk: each request) through
# its own DMA memory; no-poll: the netif backend halts as soon as its rings
# are empty (poll=0), so every frame of a stream may need a doorbell;
# long-poll: it polls 1000 us (poll=1000) instead of 100, longer than vnet
# takes to answer, so a round trip's reply finds it awake.
VARIANTS = {"copy": ("disk", "net"), "no-poll": ("net",), "long-poll": ("net",)}
# A partition run ends with the boot core's account at rt0's stop (a load
# partition may never stop); a native run with the kernel's summary.
END = (r"natsume: all partitions stopped|natsume: PANIC|natsume: stats: boot core at rt0's stop|"
       r"^NATSUME-DONE pass=\d+ fail=\d+$")
BOOT_CORE = re.compile(r"natsume: stats: boot core at rt0's stop: (\d+) wake-ups, (\d+) ticks outside HLT of (\d+) "
                       r"since the partitions started, (\d+) flushes")

# Who sits where. rt0 is measured; gp0 is the backend (paravirtual) or the
# load (passthrough); gp1 is the load next to a backend.
IDE = ("00:01.1", "8086:7010")
NIC = ("00:02.0", "8086:100e")          # Bochs slot1, INTA# on line 9: the measured path's NIC (vnet)
FLOOD_NIC = ("00:03.0", "8086:100e")    # slot2, line 11: the flooded partition's own
SLOTS = {"rt0": (1, 0x04000000, 0x08000000), "gp0": (2, 0x06000000, 0x08800000),
         "gp1": (3, 0x0b000000, 0x0d000000)}
CHANNEL_BASE = 0x0a000000


def partition(name: str, cmdline: str, device=None) -> str:
    core, ram, dma = SLOTS[name]
    text = (f'\n[[partition]]\nname = "{name}"\ncores = [{core}]\n'
            f'ram = {{ base = {ram:#010x}, size = "32M" }}\n')
    if device:
        text += (f'dma = {{ base = {dma:#010x}, size = "8M" }}\n'
                 'allow_unisolated_dma = true   # Bochs has no IOMMU\n')
    text += f'image = "guest-kernel"\ncmdline = "{cmdline}"\nlapic = "passthrough"\n'
    if device:
        text += f'\n[[partition.device]]\nbdf = "{device[0]}"\nid = "{device[1]}"\n'
    return text


def channel(name: str, backend_dma: bool = True) -> str:
    """The channel between rt0 and gp0; with backend_dma gp0's device may DMA
    into it (the backend hands the device the frontend's pages instead of
    copying them)."""
    return (f'\n[[channel]]\nname = "{name}"\nbase = {CHANNEL_BASE:#010x}\nsize = "2M"\n'
            'frontend = { partition = "rt0", gpa = 0x40000000 }\n'
            'backend = { partition = "gp0", gpa = 0x40000000 }\n'
            f'backend_dma = {"true" if backend_dma else "false"}\n')


def rt_args(path: str, mode: str, p: dict) -> str:
    if path == "disk":
        # dd-like: 128 KiB per request natively and passed through (one READ DMA
        # each); blkif carries at most 11 pages a request, so the paravirtual
        # reader keeps four 32 KiB requests in flight, 128 KiB outstanding.
        if mode == "paravirtual":
            return f"test=blk-read kib={p['kib']} full=0"
        return f"test=ide-read irq=1 kib={p['kib']} req_kib=128 full=0"
    return f"test=net-bench rr={p['rr']} reps={p['reps']} frames={p['frames']}"


def machine(path: str, mode: str, load: str, p: dict, variant: str = "") -> dict:
    """The partition file, Bochs' PCI slots and CPU count of one case."""
    device = IDE if path == "disk" else NIC
    text = f'version = 1\nname = "io-{path}-{mode[:4]}-{load}{"-" + variant if variant else ""}"\n'
    rt = f"role=rt {rt_args(path, mode, p)}"
    pci = [PciDevice("e1000", 1, ethmod="vnet")] if path == "net" else []
    if mode == "passthrough":
        text += partition("rt0", rt, device)
        loader = "gp0"
    else:
        text += partition("rt0", rt)
        serve = "test=blk-serve irq=1" if path == "disk" else "test=vif-bridge seconds=600"
        if load == "backend":
            serve += f" busy={BACKEND_BUSY_US}"
        if variant == "no-poll":
            serve += " poll=0"
        elif variant == "long-poll":
            serve += " poll=1000"
        text += partition("gp0", f"role=gp {serve}", device)
        loader = "gp1"
    port = None
    if load == "cpu":
        text += partition(loader, "role=gp test=load-cpu")
    elif load == "io":
        port = flood.free_udp_port()
        pci.append(PciDevice("e1000", 2, ethmod="socket", port=port))
        text += partition(loader, "role=gp test=load-rx", FLOOD_NIC)
    if mode == "paravirtual":
        text += channel("blk0" if path == "disk" else "vif0", backend_dma=variant != "copy")
    cpus = 1 + text.count("[[partition]]")
    flood_mac = next((d.mac_address for d in pci if d.ethmod == "socket"), None)
    return {"toml": text, "pci": tuple(pci), "cpus": cpus, "port": port, "flood_mac": flood_mac,
            "loader": loader if load in ("cpu", "io") else None}


def results_of(lines: list, partition) -> dict:
    return {r.name: r for r in serial_log.guest_report(serial_log.console_of(lines, partition)).results}


def flood_in_window(lines: list) -> dict:
    """The flooded partition's received frames over rt0's run: its count when
    rt0 printed its banner (before it measures) and when it reported its last
    result."""
    count, first, last = 0, None, None
    for line in lines:
        m = re.search(r"load-rx frames=(\d+)", line)
        if m:
            count = int(m.group(1))
        elif line.startswith("[rt0] natsume-guest: banner") and first is None:
            first = count
        elif line.startswith("[rt0] NATSUME-RESULT"):
            last = count
    return {"frames_before": first or 0, "frames_after": last or 0,
            "frames_during": (last or 0) - (first or 0)}


def boot_core(lines: list):
    """The boot core's account at rt0's stop, or None (native, or not printed)."""
    for line in lines:
        m = BOOT_CORE.search(line)
        if m:
            w, busy, ticks, flushes = (int(g) for g in m.groups())
            return {"wakeups": w, "busy_ticks": busy, "ticks": ticks, "console_flushes": flushes}
    return None


def disk_record(mode: str, rt: dict, back: dict):
    test = "blk-read" if mode == "paravirtual" else "ide-seq"
    r = rt.get(test)
    if r is None or not r.passed:
        return None, f"{test}: {'no result' if r is None else 'failed: ' + r.raw}"
    d = r.data
    rec = {"requests": d["requests"], "request_bytes": d["request_bytes"], "ticks": d["ticks"],
           "kib_per_emulated_s": d["kib_per_emulated_s"], "foreign_exits": d["foreign_exits"],
           "counted": d.get("counted", True), "exits_per_request": d.get("exits_per_request"),
           "interrupts": d.get("interrupts")}
    if mode == "paravirtual" and "blk-serve" in back:
        b = back["blk-serve"].data
        rec["backend_disk_interrupts"] = b.get("disk_interrupts")
        rec["backend_busy_ticks_per_request"] = b.get("busy_ticks_per_request")
        rec["backend_zero_copy"] = b.get("zero_copy")
    return rec, ""


def net_record(mode: str, rt: dict, back: dict):
    rec = {}
    for test in ("net-arp", "net-rr", "net-stream"):
        r = rt.get(test)
        if r is None or not r.passed:
            return None, f"{test}: {'no result' if r is None else 'failed: ' + r.raw}"
    rr, st = rt["net-rr"].data, rt["net-stream"].data
    rec["rr"] = {k: rr.get(k) for k in ("samples", "frame_bytes", "ticks", "busy_ticks_per_packet", "interrupts",
                                     "interrupts_without_cause",
                                     "interrupts_per_mib", "counted", "foreign_exits", "doorbells",
                                     "exits_per_packet_milli", "rtt_ticks", "rounds", "round_mean_ticks",
                                     "max_at")}
    rec["stream"] = {k: st.get(k) for k in ("frames", "frame_bytes", "ticks", "busy_ticks_per_packet", "interrupts",
                                         "interrupts_per_mib", "counted", "foreign_exits", "doorbells",
                                         "exits_per_packet_milli", "frames_per_emulated_s",
                                         "payload_mbit_per_emulated_s", "rounds", "round_fps")}
    if mode == "paravirtual":
        b = back.get("vif-bridge")
        if b is None or not b.passed:
            return None, f"vif-bridge (backend): {'no result' if b is None else 'failed: ' + b.raw}"
        rec["backend"] = {k: b.data.get(k) for k in ("to_nic", "to_vif", "busy_ticks", "busy_ticks_per_frame",
                                                     "work_ticks_per_frame", "zero_copy", "poll_us",
                                                     "nic_interrupts", "doorbells_received", "doorbells")}
    return rec, ""


def run_case(build, model: str, path: str, mode: str, load: str, p: dict, args, variant: str = ""):
    """(case dict, error)."""
    m = machine(path, mode, load, p, variant)
    # Native boots Bochs with two CPUs, the second idle in the firmware, as in
    # the unloaded passthrough case: where Bochs' interleaving of its CPUs puts
    # a timer's or a device's event in a CPU's tick count depends on how many
    # it runs (up to ~10 ticks per event), not on the path measured.
    emu = Emulator(kind="bochs", cpu_model=model, cpus=NATIVE_CPUS if mode == "native" else m["cpus"], ips=args.ips,
                   pci_devices=m["pci"][:1] if mode == "native" else m["pci"],
                   disk_mib=DISK_MIB if path == "disk" else 0)
    work = build.run_dir(f"bench-io.{path}.{mode}.{load}{'.' + variant if variant else ''}.{model}")
    try:
        if mode == "native":
            spec = native_boot(build, rt_args(path, mode, p))
        else:
            toml = work / "bench-io.toml"
            toml.write_text(m["toml"])
            spec = hypervisor_boot(build, toml, work)
    except (SetupError, IsoError) as e:
        return None, f"could not set up the run: {e}"
    timeout = args.timeout or 1800.0
    if m["port"]:
        with flood.Flooder(m["port"], m["flood_mac"]) as fl:
            session = boot(spec, work, emu, END, timeout, echo=args.echo)
        flood_sent = fl.sent
    else:
        session = boot(spec, work, emu, END, timeout, echo=args.echo)
        flood_sent = None
    rt = results_of(session.lines, None if mode == "native" else "rt0")
    back = results_of(session.lines, "gp0") if mode == "paravirtual" else {}
    rec, error = (disk_record if path == "disk" else net_record)(mode, rt, back)
    if rec is None:
        print_failure_context(session)
        return None, f"{error} ({session.result.outcome})"
    case = {"cpu_model": model, "path": path, "mode": mode, "load": load, "cpus": emu.cpus, "variant": variant}
    case.update(rec)
    if mode != "native":
        case["boot_core"] = boot_core(session.lines)
        if case["boot_core"] is None:
            return None, "no boot-core account at rt0's stop in the log"
    if load == "io":
        case["flood"] = {"datagrams_sent": flood_sent, **flood_in_window(session.lines)}
        if case["flood"]["frames_during"] == 0:
            return None, "the flooded partition received no frame during the measurement: the I/O load did not run"
    return case, ""


def cases_to_run(models, paths, loads, variants=(), standard=True):
    for model in models:
        for path in paths:
            for mode in MODES:
                for load in loads if standard else ():
                    if mode == "native" and load != "none":
                        continue       # one kernel on one core: nothing else to load it
                    if load == "backend" and mode != "paravirtual":
                        continue       # only the paravirtual path has a backend
                    yield model, path, mode, load, ""
            for v in variants:
                if path in VARIANTS[v]:
                    yield model, path, "paravirtual", "none", v


# The target where the emulator's receive poll does not bind.
PARAVIRTUAL_SHARE = 0.90


def superseded_dropped(reruns: list, names: list) -> list:
    """Earlier re-runs whose every case runs again now describe nothing left."""
    return [r for r in reruns if not set(r["cases"]) <= set(names)]


def case_key(c: dict) -> tuple:
    return (c["cpu_model"], c["path"], c["mode"], c["load"], c.get("variant", ""))


def sort_key(c: dict, models: list) -> tuple:
    """The order a full run produces."""
    return (models.index(c["cpu_model"]) if c["cpu_model"] in models else 99, PATHS.index(c["path"]),
            bool(c.get("variant")), MODES.index(c["mode"]), LOADS.index(c["load"]), c.get("variant", ""))


def gate(cases: list) -> list:
    """One sentence per broken target: passthrough takes no exit that is not
    its own hypercall (the paravirtual frontend's tests check the same of it);
    the unloaded paravirtual stream and disk read reach PARAVIRTUAL_SHARE of
    passthrough."""
    bad = []
    for c in cases:
        sides = [c] if c["path"] == "disk" else [c["rr"], c["stream"]]
        for s in sides:
            if c["mode"] == "passthrough" and s.get("foreign_exits", 0) != 0:
                bad.append(f"{c['cpu_model']} {c['path']} passthrough ({c['load']}): {s['foreign_exits']} exits")
    rate = {"disk": lambda c: c["kib_per_emulated_s"], "net": lambda c: c["stream"]["payload_mbit_per_emulated_s"]}
    plain = {(c["cpu_model"], c["path"], c["mode"]): c for c in cases if c["load"] == "none" and not c.get("variant")}
    for (model, path, mode), c in plain.items():
        pt = plain.get((model, path, "passthrough"))
        if mode == "paravirtual" and pt and rate[path](c) < PARAVIRTUAL_SHARE * rate[path](pt):
            bad.append(f"{model} {path} paravirtual: {rate[path](c)} against passthrough's {rate[path](pt)}, "
                       f"below {PARAVIRTUAL_SHARE:.0%}")
    return bad


def cmd_io(args, build, root: Path, meta_common: dict) -> int:
    quick = args.quick
    p = {"kib": args.kib or (1024 if quick else 8192), "rr": 40 if quick else 200, "reps": 2 if quick else 5,
         "frames": 400}
    models = [bochs.CPU_MODELS[c] for c in (args.cpu or list(bochs.CPU_MODELS))]
    paths = args.path or list(PATHS)
    loads = args.load or (["none"] if quick else list(LOADS))
    if args.render_only:
        results = Path(args.results) if args.results else build.root / "results"
        doc = json.loads((results / "io.json").read_text())
        return publish(args, build, root, doc)
    variants = [] if quick or args.no_variants else list(VARIANTS)
    todo = list(cases_to_run(models, paths, loads, variants, not args.variants_only))
    cases, failed, old = [], [], None
    if args.merge:   # re-run these cases into an earlier run's io.json, keep the rest
        results = Path(args.results) if args.results else build.root / "results"
        old = json.loads((results / "io.json").read_text())
        again = {(m, pa, mo, lo, v) for m, pa, mo, lo, v in todo}
        cases = [c for c in old["cases"] if case_key(c) not in again]
        failed = [f for f in old["failed"] if (f["model"], f["path"], f["mode"], f["load"], f.get("variant", ""))
                  not in again]
    for model, path, mode, load, variant in todo:
        print(f"natsume-bench: io {path} {mode} load={load} {variant} on {model}", flush=True)
        case, error = run_case(build, model, path, mode, load, p, args, variant)
        if case:
            cases.append(case)
            print(f"natsume-bench:   {summary_line(case)}", flush=True)
        if error:
            failed.append({"model": model, "path": path, "mode": mode, "load": load, "variant": variant,
                           "reason": error})
            print(f"natsume-bench: FAILED {model} {path} {mode} {load}: {error}", flush=True)
    meta = dict(meta_common)
    meta.update({"ips": args.ips, "command": "./natsume bench io" + (" --quick" if quick else ""),
                 "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "params": p, "backend_busy_us": BACKEND_BUSY_US, "loads": loads, "paths": paths})
    if old:
        names = [" ".join(filter(None, k)) for k in todo]
        reruns = superseded_dropped(old["meta"].get("reruns", []), names)
        reruns.append({"date": meta["date"], "git_commit": meta["git_commit"], "cases": names})
        meta = dict(old["meta"], reruns=reruns)
        models = old["models"]
        cases.sort(key=lambda c: sort_key(c, models))
    doc = {"meta": meta, "models": models, "cases": cases, "failed": failed}
    publish(args, build, root, doc)
    bad = gate(cases)
    for b in bad:
        print(f"natsume-bench: FAILED gate: {b}", flush=True)
    return 1 if failed or bad else 0


def summary_line(c: dict) -> str:
    if c["path"] == "disk":
        return f"{c['kib_per_emulated_s']} KiB/emulated s, foreign exits {c['foreign_exits']}"
    rr, st = c["rr"], c["stream"]
    return (f"rr p50 {rr['rtt_ticks']['p50']} ticks (p99 {rr['rtt_ticks']['p99']}), stream "
            f"{st['payload_mbit_per_emulated_s']} Mbit/emulated s, foreign exits {rr['foreign_exits']}+"
            f"{st['foreign_exits']}")


def publish(args, build, root: Path, doc: dict) -> int:
    """io.json, io.md and the plots beside io.md."""
    import bench_io_report  # noqa: E402  (matplotlib is imported only there)
    markdown, plots = bench_io_report.render(doc, root)
    json_path, md_path = bench.write_results(args, build.root, root, "io", doc, markdown)
    for name, svg in plots.items():
        (md_path.parent / name).write_text(svg)
        print(f"natsume-bench: wrote {md_path.parent / name}", flush=True)
    print(f"natsume-bench: wrote {json_path} and {md_path}", flush=True)
    return 0
