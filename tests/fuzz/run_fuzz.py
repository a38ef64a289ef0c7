#!/usr/bin/python3
"""Runs the libFuzzer targets of tests/fuzz/ (built into FUZZ_DIR) and reports,
per target, executions, exec/s, coverage (cov, ft), corpus size and crashes.

    run_fuzz.py --fuzz-dir BUILD/fuzz [--minutes N | --seconds N] [--runs N] [--fresh] [TARGET...]

The seed corpus (tests/fuzz/corpus/TARGET/) is copied into a work corpus
(WORK/TARGET/corpus, WORK = FUZZ_DIR/work unless --work) that grows there; the
repository corpus is never written. Regression inputs (tests/fuzz/regressions/
TARGET/) are replayed one by one first. Any crash, timeout, leak or sanitizer
report fails the target: the exit status is 1 and the input libFuzzer kept is
printed. 2: a target is unknown or was not built.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def read_targets():
    targets = {}
    with open(os.path.join(HERE, "targets.txt")) as f:
        for line in f:
            parts = line.split()
            if parts and not parts[0].startswith("#"):
                targets[parts[0]] = {"max_len": int(parts[1]), "timeout": int(parts[2])}
    return targets


def files_in(d):
    if not os.path.isdir(d):
        return []
    return sorted(os.path.join(d, f) for f in os.listdir(d) if os.path.isfile(os.path.join(d, f)))


def corpus_stats(d):
    files = files_in(d)
    return len(files), sum(os.path.getsize(f) for f in files)


def crash_inputs(text):
    return re.findall(r"(?:Test unit written to|artifact written to) (\S+)", text)


def replay(binary, target, log):
    """Each regression input once: it must run clean."""
    inputs = files_in(os.path.join(HERE, "regressions", target))
    if not inputs:
        return True, 0
    p = subprocess.run([binary, "-runs=1"] + inputs, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       errors="replace")
    log.write(p.stdout)
    if p.returncode != 0:
        print(p.stdout[-4000:])
        ran = re.findall(r"Running: (\S+)", p.stdout)
        print("fuzz_%s: FAILED replaying regression input %s (exit %d)" % (target, ran[-1] if ran else "?",
                                                                           p.returncode))
        return False, len(inputs)
    return True, len(inputs)


def run_target(args, target, spec):
    binary = os.path.join(args.fuzz_dir, "fuzz_" + target)
    if not os.path.exists(binary):
        print("fuzz_%s: not built (%s missing). The fuzz tree needs clang-14 with libFuzzer: "
              "apt-get install clang-14 libfuzzer-14-dev libclang-rt-14-dev (./natsume deps), then rebuild."
              % (target, binary))
        return None
    work = os.path.join(args.work, target)
    if args.fresh and os.path.isdir(work):
        shutil.rmtree(work)
    corpus = os.path.join(work, "corpus")
    artifacts = os.path.join(work, "artifacts")
    os.makedirs(corpus, exist_ok=True)
    os.makedirs(artifacts, exist_ok=True)
    for f in files_in(os.path.join(HERE, "corpus", target)):
        dst = os.path.join(corpus, os.path.basename(f))
        if not os.path.exists(dst):
            shutil.copy(f, dst)

    logpath = os.path.join(work, "fuzz.log")
    with open(logpath, "w") as log:
        ok, replayed = replay(binary, target, log)
        if not ok:
            return {"target": target, "ok": False, "log": logpath}
        cmd = [binary, "-max_len=%d" % spec["max_len"], "-timeout=%d" % spec["timeout"], "-rss_limit_mb=2560",
               "-print_final_stats=1", "-artifact_prefix=" + artifacts + os.sep]
        d = os.path.join(HERE, "dict", target + ".dict")
        if os.path.exists(d):
            cmd.append("-dict=" + d)
        if args.runs:
            cmd.append("-runs=%d" % args.runs)
        if args.seconds:
            cmd.append("-max_total_time=%d" % args.seconds)
        cmd.append(corpus)
        log.write("$ %s\n" % " ".join(cmd))
        log.flush()
        start = time.time()
        # Streamed into the log, so a long run can be watched with tail -f.
        p = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
        wall = time.time() - start
    with open(logpath, errors="replace") as log:
        out = log.read()

    def stat(name):
        m = re.search(r"stat::%s:\s+(\d+)" % name, out)
        return int(m.group(1)) if m else None

    cov = re.findall(r"cov: (\d+) ft: (\d+)", out)
    execs = stat("number_of_executed_units")
    rate = stat("average_exec_per_sec")
    if not rate and execs and wall > 0:  # libFuzzer divides by whole seconds: 0 for short runs
        rate = int(execs / wall)
    files, size = corpus_stats(corpus)
    crashes = crash_inputs(out)
    ok = p.returncode == 0 and not crashes and "==ERROR" not in out
    r = {"target": target, "ok": ok, "execs": execs, "exec_s": rate, "cov": int(cov[-1][0]) if cov else None,
         "ft": int(cov[-1][1]) if cov else None, "corpus_files": files, "corpus_bytes": size,
         "crashes": len(crashes) if crashes or ok else 1, "wall": wall, "log": logpath, "replayed": replayed,
         "rss_mb": stat("peak_rss_mb"), "inputs": crashes, "status": p.returncode}
    line = ("fuzz_%s: %s executions, %s exec/s, %.0f s, cov: %s ft: %s, corpus %d files / %d bytes, "
            "%d regression inputs replayed, crashes: %d"
            % (target, r["execs"], r["exec_s"], wall, r["cov"], r["ft"], files, size, replayed, r["crashes"]))
    print(line)
    if not ok:
        tail = "\n".join(out.splitlines()[-60:])
        print(tail)
        for c in crashes:
            print("fuzz_%s: FAILED, crashing input: %s" % (target, c))
        if not crashes:
            print("fuzz_%s: FAILED with exit status %d (log: %s)" % (target, p.returncode, logpath))
    sys.stdout.flush()
    return r


def main():
    targets = read_targets()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fuzz-dir", required=True, help="build directory of tests/fuzz (holds fuzz_TARGET)")
    ap.add_argument("--work", help="work corpora and logs (default FUZZ_DIR/work)")
    ap.add_argument("--minutes", type=float, help="fuzz each target this long")
    ap.add_argument("--seconds", type=int, help="fuzz each target this long")
    ap.add_argument("--runs", type=int, help="stop each target after this many executions")
    ap.add_argument("--fresh", action="store_true", help="start from the seed corpus, not the grown work corpus")
    ap.add_argument("targets", nargs="*", help="default: all of " + " ".join(targets))
    args = ap.parse_args()
    args.work = args.work or os.path.join(args.fuzz_dir, "work")
    if args.minutes:
        args.seconds = int(args.minutes * 60)
    if not args.runs and not args.seconds:
        args.seconds = 60
    chosen = args.targets or list(targets)
    for t in chosen:
        if t not in targets:
            print("run_fuzz: unknown target '%s' (targets: %s)" % (t, " ".join(targets)))
            return 2
    results = [run_target(args, t, targets[t]) for t in chosen]
    if any(r is None for r in results):
        return 2
    failed = [r["target"] for r in results if not r["ok"]]
    if failed:
        print("run_fuzz: FAILED: %s" % " ".join(failed))
        return 1
    print("run_fuzz: %d target(s), no crash" % len(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
