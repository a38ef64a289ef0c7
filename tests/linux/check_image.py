#!/usr/bin/python3
"""ctest linux.image: checks the built Linux guest image (build/images/linux)
on its own terms, without trusting the builder: the bzImage header's version
string, the initramfs's newc entries, every module's .modinfo dependencies and
every program's ELF DT_NEEDED libraries, and /init's command-line parser (run
with the host's busybox awk on GRUB's and QEMU's forms of a command line)."""

import argparse
import gzip
import json
import re
import stat
import struct
import subprocess
import sys
from pathlib import Path

REQUIRED_MODULES = ["e1000", "ata_piix", "libata", "scsi_mod", "sd_mod", "msr"]
PROGRAMS = ["/usr/bin/iperf3", "/usr/bin/stress-ng"]
LIB_DIRS = ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/lib", "/usr/lib"]
BUSYBOX = "/bin/busybox"

failures = []


def check(cond, what):
    print(f"{'ok  ' if cond else 'FAIL'} {what}")
    if not cond:
        failures.append(what)
    return cond


def read_newc(data: bytes) -> dict:
    """name -> (mode, rdevmajor, rdevminor, content)"""
    entries, off = {}, 0
    while True:
        if data[off:off + 6] != b"070701":
            raise ValueError(f"bad newc magic at offset {off}")
        f = [int(data[off + 6 + 8 * i: off + 14 + 8 * i], 16) for i in range(13)]
        mode, size, rmaj, rmin, namesize = f[1], f[6], f[9], f[10], f[11]
        name_off = off + 110
        name = data[name_off:name_off + namesize - 1].decode()
        data_off = (name_off + namesize + 3) & ~3
        content = data[data_off:data_off + size]
        off = (data_off + size + 3) & ~3
        if name == "TRAILER!!!":
            return entries
        entries["/" + name.lstrip("/")] = (mode, rmaj, rmin, content)


def elf_sections(data: bytes) -> dict:
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    hdrs = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    strtab = hdrs[shstrndx]
    out = {}
    for h in hdrs:
        n0 = strtab[4] + h[0]
        out[data[n0:data.index(b"\0", n0)].decode()] = h
    return out, hdrs


def needed(data: bytes) -> list:
    secs, hdrs = elf_sections(data)
    if ".dynamic" not in secs:
        return []
    dyn = secs[".dynamic"]
    strs = hdrs[dyn[6]]          # sh_link: the string table
    names = []
    for i in range(0, dyn[5], 16):
        tag, val = struct.unpack_from("<qQ", data, dyn[4] + i)
        if tag == 0:
            break
        if tag == 1:             # DT_NEEDED
            s = strs[4] + val
            names.append(data[s:data.index(b"\0", s)].decode())
    return names


def interp(data: bytes):
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if p_type == 3:
            return data[p_offset:p_offset + p_filesz].rstrip(b"\0").decode()
    return None


def modinfo_depends(data: bytes) -> list:
    secs, _ = elf_sections(data)
    h = secs.get(".modinfo")
    if not h:
        return []
    deps = []
    for item in data[h[4]:h[4] + h[5]].split(b"\0"):
        if item.startswith(b"depends="):
            deps += [d.replace("-", "_") for d in item[8:].decode().split(",") if d]
    return deps


def resolve(entries: dict, path: str, depth=0):
    """Follows symlinks inside the archive."""
    while path in entries and stat.S_ISLNK(entries[path][0]) and depth < 20:
        target = entries[path][3].decode()
        path = target if target.startswith("/") else str(Path(path).parent / target)
        path = str(Path(path)).replace("/./", "/")
        parts = []
        for p in path.split("/"):
            if p == "..":
                parts and parts.pop()
            elif p:
                parts.append(p)
        path = "/" + "/".join(parts)
        depth += 1
    return path


def version_tuple(vstring: str):
    m = re.search(r"Debian (\d+)\.(\d+)\.(\d+)", vstring) or re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", vstring)
    return tuple(int(g or 0) for g in m.groups()) if m else None


def parse_with_init_awk(init_text: str, cmdline: str) -> list:
    m = re.search(r"^awk '(\{.*?^\})' /proc/cmdline", init_text, re.S | re.M)
    if not m:
        return None
    proc = subprocess.run([BUSYBOX, "awk", m.group(1)], input=cmdline + "\n",
                          capture_output=True, text=True)
    return proc.stdout.splitlines()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--image-dir", required=True)
    args = ap.parse_args()
    d = Path(args.image_dir)
    bz_path, rd_path, man_path = d / "bzImage", d / "initramfs.cpio.gz", d / "manifest.json"
    for p in (bz_path, rd_path, man_path):
        if not check(p.is_file(), f"{p} exists"):
            return 1
    man = json.loads(man_path.read_text())
    bz = bz_path.read_bytes()

    # The kernel.
    check(bz[0x202:0x206] == b"HdrS", "bzImage has a setup header (HdrS at 0x202)")
    ptr, = struct.unpack_from("<H", bz, 0x20E)
    vstring = bz[ptr + 0x200: bz.index(b"\0", ptr + 0x200)].decode(errors="replace")
    print(f"     kernel_version (0x20E -> {ptr + 0x200:#x}): {vstring}")
    v = version_tuple(vstring)
    check(v is not None, "the version string names a kernel version")
    if v:
        ok = v >= (6, 6, 0) or (v[:2] == (6, 1) and v[2] >= 82)
        check(ok, f"kernel {'.'.join(map(str, v))} keeps paging on in its decompressor "
                  "(6.1.82+ in 6.1.y, or 6.6+)")
        check(man["kernel"]["version"] == ".".join(map(str, v)), "manifest kernel version matches the header")
    check(man["kernel"]["version_string"] == vstring, "manifest version string matches the header")
    check(man["kernel"].get("decompressor_keeps_paging") is True, "manifest states decompressor_keeps_paging")
    check(man["kernel"]["size"] == len(bz), "manifest kernel size matches")
    check(man["initramfs"]["size"] == rd_path.stat().st_size, "manifest initramfs size matches")
    src = man["kernel_source"]
    if src["kind"] == "debian":
        check(src["package"].startswith("linux-image-") and src["package"].endswith("-amd64"),
              f"kernel from Debian's generic package ({src['package']} {src['version']})")
    check(bool(man.get("packages")), "manifest names the host packages")
    for pkg in ("busybox-static", "iperf3", "stress-ng", "libc6"):
        check(pkg in man.get("packages", {}), f"manifest names package {pkg} "
              f"({man.get('packages', {}).get(pkg, {}).get('version', '?')})")

    # The initramfs.
    raw = gzip.decompress(rd_path.read_bytes())
    check(raw[:6] == b"070701", "initramfs is a gzip'd newc cpio")
    e = read_newc(raw)
    print(f"     {len(e)} entries, {len(raw)} bytes unpacked")
    check(sorted(e) == sorted(man["listing"]), "manifest listing matches the archive")
    init = e.get("/init")
    if check(init is not None and stat.S_ISREG(init[0]) and init[0] & 0o111, "/init is an executable file"):
        check(init[3].startswith(b"#!/bin/sh"), "/init is a shell script")
    bb = e.get("/bin/busybox")
    if check(bb is not None and bb[3][:4] == b"\x7fELF", "/bin/busybox is an ELF"):
        check(interp(bb[3]) is None, "busybox is static (no PT_INTERP)")
    # The applets /init and the scripts use, found on /init's PATH.
    for applet in ("sh", "insmod", "modprobe", "poweroff", "mount", "awk", "ping", "ip", "dd",
                   "od", "setsid", "cttyhack", "sed", "grep", "sleep", "hostname"):
        hits = [f"{d}/{applet}" for d in ("/usr/sbin", "/usr/bin", "/sbin", "/bin")
                if resolve(e, f"{d}/{applet}") == "/bin/busybox"]
        check(bool(hits), f"{applet} -> busybox ({hits[0] if hits else 'missing'})")
    con = e.get("/dev/console")
    check(con is not None and stat.S_ISCHR(con[0]) and con[1:3] == (5, 1), "/dev/console is char 5:1")
    for s in ("info", "net"):
        check(f"/natsume/scripts/{s}.sh" in e, f"script {s} shipped")

    # Modules: every dependency (from each .ko's own .modinfo) shipped and loaded before.
    release = man["kernel"]["release"]
    mdir = f"/lib/modules/{release}"
    kos = {Path(n).name.split(".ko")[0].replace("-", "_"): n for n in e if n.startswith(mdir) and ".ko" in n}
    own_without_modules = src["kind"] == "own" and not src.get("modules")
    if own_without_modules:
        print("     own kernel without a modules tree: its drivers must be built in (module checks skipped)")
    for m in ([] if own_without_modules else REQUIRED_MODULES):
        check(m in kos, f"module {m} shipped")
    check(own_without_modules or f"{mdir}/modules.dep" in e, "modules.dep shipped (busybox modprobe)")
    order = [l.split()[0] for l in e.get("/natsume/modules.load", (0, 0, 0, b""))[3].decode().splitlines() if l]
    check(set(order) == set(kos), f"/natsume/modules.load lists every shipped module ({len(order)})")
    builtin = set()
    if f"{mdir}/modules.builtin" in e:
        builtin = {Path(l).name.split(".ko")[0].replace("-", "_")
                   for l in e[f"{mdir}/modules.builtin"][3].decode().splitlines() if l}
    dep_ok = True
    for name in order:
        for dep in modinfo_depends(e[kos[name]][3]):
            if dep in builtin:
                continue
            if dep not in kos or order.index(dep) > order.index(name):
                dep_ok = False
                print(f"     {name} needs {dep}: {'not shipped' if dep not in kos else 'loaded after it'}")
    check(dep_ok, "every module's dependencies are shipped and loaded first")

    # Programs: every DT_NEEDED library (recursively) and the loader present.
    libs_ok = True
    seen = set()
    todo = []
    for p in PROGRAMS:
        if check(p in e and e[p][0] & 0o111, f"{p} shipped"):
            todo.append(p)
            ip = interp(e[p][3])
            check(ip is not None and resolve(e, ip) in e, f"{p}'s loader {ip} shipped")
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        for lib in needed(e[resolve(e, p)][3]):
            hit = next((f"{d}/{lib}" for d in LIB_DIRS if resolve(e, f"{d}/{lib}") in e), None)
            if hit is None:
                libs_ok = False
                print(f"     {p} needs {lib}: not in the image")
            else:
                todo.append(hit)
    check(libs_ok, f"every library iperf3 and stress-ng need is shipped ({len(seen) - len(PROGRAMS)} libraries)")

    # /init's parser, as GRUB and as QEMU -append pass a command line.
    if init is not None and Path(BUSYBOX).is_file():
        cases = [
            ('console=ttyS0 natsume.sh="echo a; echo b" natsume.run=info,net x',
             ["console=ttyS0", "natsume.sh=echo a; echo b", "natsume.run=info,net", "x"]),
            ("'console=ttyS0' \"natsume.sh=echo \\'it\\' && ls  /\" natsume.shell=0",
             ["'console=ttyS0'", "natsume.sh=echo 'it' && ls  /", "natsume.shell=0"]),
        ]
        for cmdline, want in cases:
            got = parse_with_init_awk(init[3].decode(), cmdline)
            check(got == want, f"/init parses {cmdline!r}" + ("" if got == want else f" (got {got})"))

    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
