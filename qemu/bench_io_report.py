"""Renders an io.json document (qemu/bench_io.py) into io.md (every case in
tables, the reference paper's figures beside ours, the hand-written
io-why.md) and two plots in the style of the paper's figures:
io-throughput.svg (throughput bars by configuration and load) and
io-latency.svg (request/response latency: min..max with p50 and p99).

Deterministic for the same input: the SVGs carry no date and fixed ids."""

import io as _io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

WHY_NAME = "io-why.md"
THROUGHPUT_SVG = "io-throughput.svg"
LATENCY_SVG = "io-latency.svg"
MODE_COLOR = {"native": "black", "passthrough": "tab:blue", "paravirtual": "tab:orange"}
LOAD_TEXT = {"none": "no load", "cpu": "CPU load (another partition)", "backend": "backend busy",
             "io": "UDP flood to another partition"}

# The reference paper: Xen 3.4.1 on a Core i7 920 / DX58SO, dd of 1 GB and
# netperf, CPU load from stress, I/O load from a UDP flood to another guest.
PAPER = [
    ("time per interrupt", "1208.75 µs", "1215.43 µs (+6.68 µs)", "+21.99 µs"),
    ("disk-read jitter (max − min over runs)", "75 ms", "50–96 ms", "80–310 ms"),
    ("send throughput lost under load", "—", "about 50 Mbit/s", "about 30 Mbit/s"),
]


def cases(doc: dict, model: str, path: str, variants: bool = False) -> list:
    """The standard cases of a model and path, or (variants) its experiments."""
    return [c for c in doc["cases"] if c["cpu_model"] == model and c["path"] == path
            and bool(c.get("variant")) == variants]


def variant_table(doc: dict, model: str) -> list:
    """The paravirtual experiments beside the case they undo a saving of."""
    rows = []
    for path in ("net", "disk"):
        base = [c for c in cases(doc, model, path) if c["mode"] == "paravirtual" and c["load"] == "none"]
        for c in base + cases(doc, model, path, variants=True):
            name = c.get("variant") or "as measured (zero copy, poll 100 µs)"
            if path == "net":
                st = c["stream"]
                rows.append(["net", name, f"{st['payload_mbit_per_emulated_s']} Mbit/s",
                             f"{st['exits_per_packet_milli'] / 1000:.3f}", c["rr"]["rtt_ticks"]["p50"],
                             c.get("backend", {}).get("work_ticks_per_frame")])
            else:
                rows.append(["disk read", name, f"{c['kib_per_emulated_s']} KiB/s", c.get("exits_per_request"), None,
                             c.get("backend_busy_ticks_per_request")])
    return table(["path", "paravirtual", "throughput (stream; disk)", "rt0 exits per packet/request",
                  "round trip p50 (ticks)", "backend busy ticks per frame/request"], rows)


def label(c: dict) -> str:
    return c["mode"] if c["load"] == "none" else f"{c['mode']} + {c['load']}"


def exits_text(side: dict, mode: str) -> str:
    if mode == "native" or not side.get("counted", True):
        return "n/a (native)"
    return str(side["foreign_exits"])


def per_packet(side: dict, mode: str) -> str:
    if mode == "native" or not side.get("counted", True):
        return "n/a"
    return f"{side['exits_per_packet_milli'] / 1000:.3f}"


def table(headers: list, rows: list) -> list:
    """A Markdown table; None cells read as a dash."""
    return (["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
            + ["| " + " | ".join("—" if v is None else str(v) for v in r) + " |" for r in rows])


def disk_table(cs: list) -> list:
    rows = []
    for c in cs:
        per = c["exits_per_request"] if c.get("exits_per_request") is not None else (
            "0" if c["counted"] else "n/a")
        irqs, mib = c.get("interrupts"), c["requests"] * c["request_bytes"] / (1 << 20)
        rows.append([c["mode"], c["load"], c["kib_per_emulated_s"], c["ticks"], c["request_bytes"] // 1024,
                     c["ticks"] * (128 << 10) // max(c["requests"] * c["request_bytes"], 1),
                     f"{irqs / c['requests']:.2f}" if irqs is not None and c["requests"] else None,
                     f"{irqs / mib:.0f}" if irqs is not None and mib else None,
                     "n/a (native)" if not c["counted"] else c["foreign_exits"], per,
                     c.get("backend_busy_ticks_per_request"), c.get("backend_disk_interrupts")])
    return table(["configuration", "load", "KiB per emulated s", "ticks", "request KiB", "ticks per 128 KiB",
                  "interrupts per request (rt0)", "interrupts per MiB (rt0)", "exits not own hypercalls",
                  "exits per request", "backend busy ticks per request", "backend disk interrupts"], rows)


def rr_table(cs: list) -> list:
    rows = []
    for c in cs:
        r = c["rr"]
        t, m = r["rtt_ticks"], r["round_mean_ticks"]
        rows.append([c["mode"], c["load"], r["samples"], t["min"], t["p50"], t["p99"], t["max"], t["max"] - t["min"],
                     m["max"] - m["min"], r["busy_ticks_per_packet"], c.get("backend", {}).get("work_ticks_per_frame"),
                     f"{r['interrupts'] / r['samples']:.2f}" if r["samples"] else None,
                     r.get("interrupts_without_cause"), per_packet(r, c["mode"]), exits_text(r, c["mode"])])
    return table(["configuration", "load", "samples", "min", "p50", "p99", "max", "jitter (max − min)",
                  "spread of round means", "busy ticks per packet (rt0)", "backend ticks per frame moved",
                  "interrupts per round trip", "of them without a cause", "exits per packet",
                  "exits not own hypercalls"], rows)


def stream_table(cs: list) -> list:
    rows = []
    for c in cs:
        st = c["stream"]
        rows.append([c["mode"], c["load"], st["frames"], st["payload_mbit_per_emulated_s"], st["frames_per_emulated_s"],
                     f"{st['round_fps']['min']}..{st['round_fps']['max']}", st["busy_ticks_per_packet"],
                     c.get("backend", {}).get("work_ticks_per_frame"), st["interrupts_per_mib"],
                     per_packet(st, c["mode"]), exits_text(st, c["mode"])])
    return table(["configuration", "load", "frames", "payload Mbit per emulated s", "frames per emulated s",
                  "round min..max (frames/s)", "ticks per frame (rt0)", "backend ticks per frame moved",
                  "interrupts per MiB", "exits per packet", "exits not own hypercalls"], rows)


def boot_core_table(doc: dict, model: str) -> list:
    """What the boot core did in each partition run, up to rt0's stop."""
    rows = []
    for c in doc["cases"]:
        b = c.get("boot_core")
        if c["cpu_model"] != model or not b:
            continue
        name = f"{c['mode']} {c['load']}" + (f" ({c['variant']})" if c.get("variant") else "")
        rows.append([c["path"], name, b["wakeups"], b["console_flushes"], b["busy_ticks"], b["ticks"]])
    return table(["path", "case", "wake-ups", "of them console flushes", "ticks outside HLT",
                  "ticks since the partitions started"], rows)


def ours_beside_paper(doc: dict) -> list:
    """Our counterparts of the paper's rows, from the first model's cases:
    the round trip that takes one device interrupt (the paper's time per
    interrupt), how far the loads move the disk read (its jitter), and the
    send throughput the worst load takes away."""
    model = doc["models"][0]
    disk = {(c["mode"], c["load"]): c for c in cases(doc, model, "disk")}
    net = {(c["mode"], c["load"]): c for c in cases(doc, model, "net")}
    modes = ("native", "passthrough", "paravirtual")
    out = ["| figure | paper: native | paper: passthrough | paper: virtual driver | Natsume figure (Bochs "
           f"{model}) | native | passthrough | paravirtual |", "|---|---|---|---|---|---|---|---|"]

    def row(paper, ours_name, values):
        out.append(f"| {paper[0]} | {paper[1]} | {paper[2]} | {paper[3]} | {ours_name} | " + " | ".join(values) + " |")

    rr = [str(net[(m, "none")]["rr"]["rtt_ticks"]["p50"]) if (m, "none") in net else "—" for m in modes]
    row(PAPER[0], "ICMP round trip, one device interrupt each, p50 ticks (no load)", rr)
    per_128k = []
    for m in modes:
        c = disk.get((m, "none"))
        per_128k.append(str(c["ticks"] * (128 << 10) // max(c["requests"] * c["request_bytes"], 1)) if c else "—")
    row(PAPER[0], "ticks per 128 KiB read (no load; one request and one completion interrupt, Paravirtual: four "
        "32 KiB requests)", per_128k)
    spread = []
    for m in modes:
        ticks = [c["ticks"] for (mode, _), c in disk.items() if mode == m]
        spread.append(f"{max(ticks) - min(ticks)} ticks over {len(ticks)} load cases" if ticks else "—")
    row(PAPER[1], "spread of the disk read's ticks across the loads (max − min)", spread)
    lost = []
    for m in modes:
        base = net.get((m, "none"))
        loaded = [c for (mode, ld), c in net.items() if mode == m and ld != "none"]
        if not base:
            lost.append("—")
        elif not loaded:
            lost.append("no load case (one kernel)")
        else:
            worst = min(c["stream"]["payload_mbit_per_emulated_s"] for c in loaded)
            lost.append(f"{base['stream']['payload_mbit_per_emulated_s'] - worst} Mbit/emulated s")
    row(PAPER[2], "stream send throughput lost to the worst load", lost)
    return out


def rerun_text(names: list) -> str:
    """"the 22 net cases" for a whole path, else the cases' names."""
    paths = sorted({n.split()[1] for n in names})
    if len(names) > 6:
        return f"the {len(names)} {' and '.join(paths)} cases (every model, configuration, load and experiment)"
    return ", ".join(names)


def svg_text(fig) -> str:
    buf = _io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    return buf.getvalue()


def throughput_svg(doc: dict) -> str:
    plt.rcParams["svg.hashsalt"] = "natsume-io"
    panels = [("disk", "disk read, KiB per emulated s", lambda c: c["kib_per_emulated_s"]),
              ("net", "UDP stream send, payload Mbit per emulated s", lambda c: c["stream"]["payload_mbit_per_emulated_s"])]
    fig, axes = plt.subplots(len(doc["models"]), 2, figsize=(12, 3.6 * len(doc["models"])), squeeze=False)
    for row, model in enumerate(doc["models"]):
        for col, (path, title, value) in enumerate(panels):
            ax = axes[row][col]
            cs = cases(doc, model, path)
            ax.bar(range(len(cs)), [value(c) for c in cs], color=[MODE_COLOR[c["mode"]] for c in cs])
            ax.set_xticks(range(len(cs)), [label(c) for c in cs], rotation=35, ha="right", fontsize=7)
            ax.set_title(f"{model}: {title}", fontsize=9)
            ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return svg_text(fig)


def latency_svg(doc: dict) -> str:
    plt.rcParams["svg.hashsalt"] = "natsume-io"
    fig, axes = plt.subplots(1, len(doc["models"]), figsize=(6 * len(doc["models"]), 3.8), squeeze=False)
    for col, model in enumerate(doc["models"]):
        ax = axes[0][col]
        cs = cases(doc, model, "net")
        for i, c in enumerate(cs):
            t = c["rr"]["rtt_ticks"]
            color = MODE_COLOR[c["mode"]]
            ax.vlines(i, t["min"], t["max"], color=color, linewidth=2)
            ax.plot(i, t["p50"], "o", color=color)
            ax.plot(i, t["p99"], "^", color=color)
        ax.set_xticks(range(len(cs)), [label(c) for c in cs], rotation=35, ha="right", fontsize=7)
        ax.set_ylabel("Bochs ticks (emulated instructions)")
        ax.set_title(f"{model}: ICMP echo round trip (line: min..max, o p50, ^ p99)", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return svg_text(fig)


def render(doc: dict, root: Path):
    m = doc["meta"]
    p = m["params"]
    out = ["# I/O paths (Bochs): disk and network, Native vs Passthrough vs Paravirtual", "",
           "Generated by `./natsume bench io` (qemu/bench_io.py); the \"why\" section is hand-written "
           f"(docs/results/{WHY_NAME}). Under Bochs the TSC counts one tick per emulated instruction: every "
           f"figure is in ticks or per **emulated** second at {m['ips']:,} ips, never a hardware time.", "",
           f"Run {m['date']} at commit `{m['git_commit']}`, Bochs {m.get('bochs', '?')}, host "
           f"{m.get('host_cpu', '?')}; `{m['command']}`"
           + "".join(f"; re-run {r['date']} at `{r['git_commit']}` (`--merge`): {rerun_text(r['cases'])}"
                     for r in m.get("reruns", [])) + ".", "",
           "- **Configurations.** Native: the guest kernel alone drives the device. Passthrough: rt0 owns it "
           "(the IDE function with its legacy ports opened by the hypervisor; the e1000's BAR and INTx line). "
           "Paravirtual: gp0 owns it and serves rt0 over a channel (blkif backend; netif backend bridged to the "
           "e1000 by a learning bridge).",
           f"- **Disk:** a sequential read of a 64 MiB pattern disk, {p['kib']} KiB per case, in the way of `dd bs=128k`: "
           "Native and Passthrough read 128 KiB per request (one READ DMA), the paravirtual reader 32 KiB per blkif "
           "request (at most 11 pages fit one) with four in flight, 128 KiB outstanding; "
           "each sector's LBA stamp checked (`full=0`: the whole pattern, about 3,400 ticks a sector, would "
           "outweigh the read; the integration tests check every byte). The paravirtual backend issues one READ DMA "
           "per request, straight into the frontend's pages. Every read completes by the IDE channel's interrupt (ISA "
           "line 15, passed to the owner of the controller with no exit): rt0's interrupts per request are that "
           "interrupt (Native, Passthrough) or the backend's doorbell (Paravirtual).",
           f"- **Network:** {p['reps']} rounds of {p['rr']} ICMP echo request/responses (98-byte frames, one in "
           f"flight) with Bochs' vnet host, then {p['reps']} rounds of {p['frames']} UDP datagrams of 1472 bytes "
           "(1514-byte frames) sent as fast as the link takes them. vnet answers after the frames' wire time at "
           "1 Gbit/s plus 100 emulated µs (about 1000 ticks at 10 M ips, the same in every configuration), not "
           "from the 1000 µs receive poll of Bochs' socket/tuntap backends, so these round trips are not capped.",
           f"- **Loads:** cpu = a partition of its own spinning on another core; backend = the paravirtual "
           f"backend computing {m['backend_busy_us']} emulated µs between passes over its rings and never halting; "
           "io = a UDP flood from the harness into another partition's e1000 (Bochs socket backend: at most one "
           "frame per 1000 emulated µs), taken by interrupt there. Native has no other partition to load.",
           "- **Columns.** busy ticks = ticks the core spent outside HLT; exits not own hypercalls = VM exits of "
           "rt0 that it did not ask for (0 means the path never left the guest); exits per packet = all of rt0's "
           "exits on the path (doorbells included) per frame sent or received; backend ticks per frame moved = the "
           "ticks of the backend's passes that moved frames, over its whole run (round trips and stream), divided by "
           "the frames it moved (its polling between frames left out); jitter = max − min of the samples; "
           "spread of round means = max − min of the per-round means (the paper's jitter over repeated runs).", ""]
    for model in doc["models"]:
        out += [f"## {model}", "", "### Disk: sequential read", ""] + disk_table(cases(doc, model, "disk")) + [""]
        out += ["### Network: ICMP echo request/response (ticks per round trip)", ""]
        out += rr_table(cases(doc, model, "net")) + [""]
        out += ["### Network: UDP stream, send", ""] + stream_table(cases(doc, model, "net")) + [""]
        if any(c["cpu_model"] == model and c.get("boot_core") for c in doc["cases"]):
            out += ["### The boot core", "",
                    "What the hypervisor's boot core did from the partitions' start to rt0's stop (the hypervisor "
                    "prints it when a partition stops): how often it woke and its ticks outside HLT. It routes no "
                    "interrupt of these paths (no line is shared); what wakes it is a console line to write.", ""]
            out += boot_core_table(doc, model) + [""]
        flooded = [c for c in doc["cases"] if c["cpu_model"] == model and c["load"] == "io" and c.get("flood")]
        if flooded:
            out += ["The I/O load as delivered: frames the flooded partition received while rt0 ran (from its "
                    "banner to its last result), out of the datagrams the harness sent to Bochs' socket.", "",
                    "| path | configuration | frames received by the flooded partition | datagrams sent |",
                    "|---|---|---|---|"]
            out += [f"| {c['path']} | {c['mode']} | {c['flood']['frames_during']} | {c['flood']['datagrams_sent']} |"
                    for c in flooded] + [""]
        if any(c["cpu_model"] == model and c.get("variant") for c in doc["cases"]):
            out += ["### Experiments on the paravirtual path (no load)", "",
                    "copy: the channel without `backend_dma`, so the backend moves every frame (disk: request) "
                    "through its own DMA memory with a copy; no-poll: the netif backend halts as soon as its rings "
                    "are empty (`poll=0`); long-poll: it polls 1000 µs after its last frame instead of 100. Backend ticks here are those of its passes that moved data (net) or its "
                    "ticks outside HLT per request (disk).", ""] + variant_table(doc, model) + [""]
    out += [f"![throughput by configuration and load]({THROUGHPUT_SVG})", "",
            f"![request/response latency]({LATENCY_SVG})", "",
            "## The reference paper's figures beside ours", "",
            "The paper measured hardware (Xen 3.4.1, Core i7 920 / DX58SO) in µs, ms and Mbit/s; ours are "
            "emulator instruction counts and emulated-time rates. They are put side by side to compare shapes "
            "(what passthrough adds over native, what the loads move), not magnitudes.", ""]
    out += ours_beside_paper(doc) + [""]
    why = root / "docs" / "results" / WHY_NAME
    if why.exists():
        out += [why.read_text().rstrip(), ""]
    if doc["failed"]:
        out += ["## Failed runs", ""] + [f"- {f['model']} {f['path']} {f['mode']} {f['load']} "
                                         f"{f.get('variant', '')}: {f['reason']}"
                                         for f in doc["failed"]] + [""]
    plots = {}
    if doc["cases"]:
        plots = {THROUGHPUT_SVG: throughput_svg(doc), LATENCY_SVG: latency_svg(doc)}
    return "\n".join(out), plots
