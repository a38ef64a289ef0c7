"""Renders an irq.json document (qemu/natsume_emu/bench.py) into
irq-latency.svg (latency CDFs from the guest's histograms) and irq.md (every
case in a table, with its provenance and how to reproduce it).

Deterministic output for the same input: the SVG carries no date and fixed
element ids; the Markdown has only what irq.json holds."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SVG_NAME = "irq-latency.svg"
MD_NAME = "irq.md"
SOURCES = ("device", "timer")
SOURCE_TITLE = {"device": "e1000 device interrupt (ICS write -> handler entry)",
                "timer": "LAPIC timer (expected expiry -> handler entry)"}
# Fixed style per series, so a figure's legend reads the same run after run.
STYLE = {
    ("native", "none"): dict(color="black", linestyle="-", linewidth=2.2),
    ("passthrough", "none"): dict(color="tab:blue", linestyle="--", linewidth=1.6),
    ("passthrough", "cpu"): dict(color="tab:orange", linestyle="-.", linewidth=1.4),
    ("passthrough", "irq-storm"): dict(color="tab:red", linestyle=":", linewidth=1.8),
    ("trapped", "none"): dict(color="tab:green", linestyle="--", linewidth=1.2),
    ("trapped", "cpu"): dict(color="tab:olive", linestyle="-.", linewidth=1.2),
    ("trapped", "irq-storm"): dict(color="tab:purple", linestyle=":", linewidth=1.2),
}


def _label(case: dict) -> str:
    if case["mode"] == "native":
        return "Native"
    return f"partition, lapic {case['lapic']}, load {case['load']}"


def cdf_points(hist: list, samples: int) -> tuple:
    """Staircase CDF from [[lo_ticks, count], ...]: at each non-empty bucket's
    lower bound the curve rises by that bucket's share of the samples, and it
    ends one bucket width past the last one. Returns (xs, ys) for plot()."""
    buckets = sorted(b for b in hist if b[1] > 0)
    if not buckets or not samples:
        return [], []
    xs, ys, total = [], [], 0
    for lo, count in buckets:
        xs += [lo, lo]
        ys += [total / samples, (total + count) / samples]
        total += count
    los = sorted(lo for lo, _ in hist)
    last = buckets[-1][0]
    after = [lo for lo in los if lo > last]
    xs.append(after[0] if after else last + max(1, last // 4))
    ys.append(ys[-1])
    return xs, ys


def render_svg(doc: dict, path: Path) -> None:
    cases = doc["cases"]
    models = sorted({c["cpu_model"] for c in cases})
    plt.rcParams["svg.hashsalt"] = "natsume-irq"
    fig, axes = plt.subplots(len(models), len(SOURCES), figsize=(12, 4.2 * len(models)),
                             squeeze=False)
    ips = doc.get("ips")
    for r, model in enumerate(models):
        for col, source in enumerate(SOURCES):
            ax = axes[r][col]
            drawn, lo, hi = 0, float("inf"), 0
            for c in cases:
                if c["cpu_model"] != model or c["source"] != source or not c.get("hist"):
                    continue
                xs, ys = cdf_points(c["hist"], c["samples"])
                key = ("native", "none") if c["mode"] == "native" else (c["lapic"], c["load"])
                style = STYLE.get(key, {})
                ax.plot(xs, ys, label=_label(c), **style)
                # the exact percentiles the guest computed, on top of the bucketed curve
                t = c["ticks"]
                ax.plot([t["p50"], t["p99"], t["max"]], [0.5, 0.99, 1.0], "o",
                        color=style.get("color", "gray"), markersize=3)
                hi = max(hi, xs[-1] if xs else 0)
                lo = min(lo, xs[0] if xs else lo)
                drawn += 1
            if drawn and lo > 0 and hi / lo > 20:
                ax.set_xscale("log")
            elif drawn:
                ax.set_xlim(max(0, lo - 0.1 * (hi - lo) - 1), hi + 0.1 * (hi - lo) + 1)
            ax.set_ylim(0, 1.02)
            ax.grid(True, which="both", alpha=0.3)
            ax.set_title(f"{model}: {SOURCE_TITLE[source]}", fontsize=9)
            ax.set_xlabel("latency, Bochs TSC ticks (= emulated instructions)"
                          + (f"; x {1e9 / ips:g} = emulated ns at {ips / 1e6:g} M ips" if ips else ""),
                          fontsize=8)
            ax.set_ylabel("fraction of samples <= latency\n(dots: exact p50, p99, max)", fontsize=8)
            if drawn:
                ax.legend(fontsize=7, loc="lower right")
            else:
                ax.text(0.5, 0.5, "no samples", ha="center", va="center", transform=ax.transAxes)
    fig.suptitle("Natsume interrupt latency under Bochs, Native vs partition (CDF from the guest's "
                 "histogram; Bochs ticks, not hardware time)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)


def _fmt(x) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:g}"
    return str(x)


def _native_p50(cases: list, case: dict):
    for c in cases:
        if c["mode"] == "native" and c["cpu_model"] == case["cpu_model"] \
                and c["source"] == case["source"]:
            return c["ticks"]["p50"]
    return None


def render_md(doc: dict, path: Path, svg_name: str) -> None:
    cases = doc["cases"]
    ips = doc.get("ips")
    out = [
        "# Interrupt latency: Native vs partition (Bochs)",
        "",
        "Generated by `" + doc.get("command", "./natsume bench irq") + "`; the data behind it is "
        "`irq.json` next to this page. Do not edit by hand.",
        "",
        "**Units.** Under Bochs the TSC advances one tick per emulated instruction, so every latency "
        "below is an instruction count (Bochs TSC ticks) and, derived from it, emulated nanoseconds at "
        f"the configured {_fmt(ips)} instructions per second. These are **not real-hardware times**; "
        "they compare code paths (Native vs partition) on the same emulated machine.",
        "",
        "| | |",
        "|---|---|",
        f"| date (UTC) | {doc.get('date', 'n/a')} |",
        "| platform | Bochs " + doc.get("bochs", "?") + ", i440FX, " + doc.get("clock", "") + " |",
        f"| emulated speed | {_fmt(ips)} ips |",
        f"| host CPU | {doc.get('host_cpu', 'n/a')} |",
        f"| git commit | `{doc.get('git_commit') or 'n/a'}`"
        + (" (with uncommitted changes in the work tree)"
           if str(doc.get("git_commit", "")).endswith("-dirty") else "") + " |",
        f"| samples per case | {_fmt(doc.get('samples_requested'))}"
        + (" (quick run)" if doc.get("quick") else "") + " |",
        "",
        "## Configuration",
        "",
        "- **Native**: the guest kernel alone, booted by GRUB via multiboot2, `test=bench-irq`; the "
        "e1000 (8086:100e) in PCI slot 1 (00:02.0, INTx on ISA line 9).",
        "- **Partition**: the Natsume hypervisor on core 0; partition `rt0` on core 1 owns the e1000 "
        "at 00:02.0 and runs the same `test=bench-irq`; its LAPIC mode is in the `lapic` column.",
        "- **Load**: `none` = rt0 alone; `cpu` = partition `gp0` on core 2 runs `test=load-cpu`; "
        "`irq-storm` = gp0 runs `test=load-irq` on its own e1000 at 00:03.0 (line 11).",
        "- **device**: ticks from the rdtsc just before the e1000 ICS write to the first instruction "
        "of the interrupt handler. **timer**: ticks from the programmed LAPIC timer expiry to the "
        "handler.",
        "- **load ran throughout**: the load partition had not finished when rt0 printed its "
        "results, so every sample was taken under load.",
        "- **exits/irq**: VM exits counted by the hypervisor during the case (the guest's own "
        "statistics hypercalls excluded) divided by the interrupts taken; n/a natively.",
        "",
        f"![latency CDFs]({svg_name})",
        "",
        "## Every case",
        "",
        "| case | CPU model | mode | lapic | load | source | samples | min | p50 | p99 | max "
        "| p50 emulated ns | p99 emulated ns | p50 vs Native | exits/irq | load ran throughout |",
        "|---|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for c in cases:
        t = c["ticks"]
        ns = c.get("emulated_ns", {})
        base = _native_p50(cases, c)
        delta = "" if c["mode"] == "native" or base is None else f"{t['p50'] - base:+d}"
        source = c["source"] + (f" ({c['timer_mode']})" if c.get("timer_mode") else "")
        load = c.get("load_partition")
        throughout = "" if not load else ("yes" if load.get("running_until_rt0_done") else "**no**")
        out.append(f"| `{c['name']}` | {c['cpu_model']} | {c['mode']} | {c['lapic']} | {c['load']} "
                   f"| {source} | {c['samples']} | {t['min']} | {t['p50']} | {t['p99']} "
                   f"| {t['max']} | {_fmt(ns.get('p50'))} | {_fmt(ns.get('p99'))} | {delta} "
                   f"| {_fmt(c.get('exits_per_irq'))} | {throughout} |")
    for title, key in (("Not run", "skipped"), ("Failed runs", "failed")):
        rows = doc.get(key) or []
        if rows:
            out += ["", f"## {title}", ""]
            out += [f"- `{r['case']}`: {r['reason'].splitlines()[0]}" for r in rows]
    out += [
        "",
        "## Reproduce",
        "",
        "    ./natsume bench irq            # 10 000 samples per case; writes build/results/irq.json "
        "and this page",
        "    ./natsume bench irq --quick    # CI size; results stay in build/results/",
        "",
        "Each run's serial log, bochsrc and partition file stay in "
        "`build/runs/bench-irq.<case>/`. Bochs runs with `clock: sync=none` and a fixed `time0` are "
        "deterministic: the same commit gives the same tick counts.",
        "",
    ]
    path.write_text("\n".join(out))


def render(doc: dict, out_dir: Path) -> list:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    svg, md = out_dir / SVG_NAME, out_dir / MD_NAME
    render_svg(doc, svg)
    render_md(doc, md, SVG_NAME)
    return [svg, md]
