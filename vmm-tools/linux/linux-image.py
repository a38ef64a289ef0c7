#!/usr/bin/python3
"""Builds the Linux guest image (docs/linux.md, "The guest image"):

  OUT/bzImage            Debian's generic kernel (linux-image-amd64), or your own
  OUT/initramfs.cpio.gz  busybox, the kernel's modules for the emulated and X58-class
                         hardware (with their dependencies), iperf3, stress-ng and
                         their shared libraries, /init and /natsume/scripts/
  OUT/manifest.json      kernel version, package versions, sizes, the modules in load order

Nothing is installed and nothing needs root: the kernel package is fetched with
`apt-get download` into a cache outside the build tree (${NATSUME_CACHE:-~/.cache/natsume}),
extracted there once with `dpkg-deb -x`, and the cpio archive is written here (newc).
Python 3 standard library only."""

import argparse
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
KERNEL_META_PACKAGE = "linux-image-amd64"
# Kernels from 6.1.82 (and 6.6 on) keep paging on in the decompressor when the
# paging level does not change; older ones clear CR0.PG, which a partition
# without unrestricted guest (Nehalem) cannot run.
MIN_61_PATCH = 82
# The drivers the emulated machines (Bochs, QEMU pc/q35) and X58-class boards
# need; each is loaded with its dependencies, in dependency order. msr gives /init
# the TSC (/dev/cpu/0/msr, MSR 0x10) for its start marker.
MODULES = ["msr", "e1000", "e1000e", "ata_piix", "ata_generic", "ahci", "sd_mod", "sr_mod"]
# Programs taken from this (Debian) host with the libraries ldd reports.
PROGRAMS = ["/usr/bin/iperf3", "/usr/bin/stress-ng"]
BUSYBOX = "/bin/busybox"          # Debian busybox-static
LIBDIR = "lib/x86_64-linux-gnu"


class ImageError(RuntimeError):
    pass


def say(msg):
    print(f"linux-image: {msg}", flush=True)


def run(cmd, **kw):
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        raise ImageError(f"{' '.join(map(str, cmd))} failed (exit {proc.returncode}):\n"
                         f"{proc.stdout}{proc.stderr}")
    return proc.stdout


# ---------------------------------------------------------------- kernel package

def cache_dir() -> Path:
    env = os.environ.get("NATSUME_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "natsume"


def resolve_kernel_package():
    """linux-image-amd64 -> (linux-image-6.1.0-NN-amd64, its candidate version), or None
    when apt cannot answer (no package lists)."""
    try:
        out = run(["apt-cache", "depends", KERNEL_META_PACKAGE])
    except (ImageError, FileNotFoundError):
        return None
    m = re.search(r"Depends:\s*(linux-image-\S+)", out)
    if not m:
        return None
    pkg = m.group(1)
    try:
        pol = run(["apt-cache", "policy", pkg])
    except ImageError:
        return None
    v = re.search(r"Candidate:\s*(\S+)", pol)
    if not v or v.group(1) == "(none)":
        return None
    return pkg, v.group(1)


def deb_name(pkg, version):
    # apt-get download names files NAME_VERSION_ARCH.deb with ':' written as %3a.
    return f"{pkg}_{version.replace(':', '%3a')}_amd64.deb"


def fetch_kernel_deb(cache: Path) -> Path:
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    resolved = resolve_kernel_package()
    if resolved:
        pkg, version = resolved
        deb = debs / deb_name(pkg, version)
        if deb.is_file():
            say(f"kernel package {pkg} {version}: cached ({deb})")
            return deb
        say(f"kernel package {pkg} {version}: downloading into {debs}")
        tmp = Path(tempfile.mkdtemp(prefix="download-", dir=debs))
        try:
            run(["apt-get", "download", f"{pkg}={version}"], cwd=tmp)
            got = list(tmp.glob("*.deb"))
            if len(got) != 1:
                raise ImageError(f"apt-get download {pkg}={version} left {len(got)} .deb files")
            os.replace(got[0], deb)
            return deb
        except ImageError as e:
            say(f"download failed ({str(e).strip().splitlines()[-1]}); looking in the cache")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    cached = sorted(debs.glob("linux-image-*-amd64_*_amd64.deb"), key=lambda p: p.stat().st_mtime)
    cached = [p for p in cached if "-dbg" not in p.name and "unsigned" not in p.name] or cached
    if not cached:
        raise ImageError(f"cannot resolve or download {KERNEL_META_PACKAGE} (apt-cache depends "
                         f"{KERNEL_META_PACKAGE}; apt-get update?) and {debs} holds no kernel package")
    say(f"using the newest cached kernel package {cached[-1].name}")
    return cached[-1]


def deb_field(deb: Path, field: str) -> str:
    return run(["dpkg-deb", "-f", str(deb), field]).strip()


def extract_deb(deb: Path, cache: Path) -> Path:
    """dpkg-deb -x into the cache, once per package file."""
    root = cache / "extracted" / deb.name[:-len(".deb")]
    stamp = root / ".natsume-extracted"
    if stamp.is_file():
        return root
    if root.exists():
        shutil.rmtree(root)
    say(f"extracting {deb.name} into {root}")
    tmp = Path(str(root) + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    run(["dpkg-deb", "-x", str(deb), str(tmp)])
    (tmp / ".natsume-extracted").write_text(deb.name + "\n")
    os.replace(tmp, root)
    return root


# ---------------------------------------------------------------- bzImage

def bzimage_version_string(data: bytes) -> str:
    """The kernel_version string the setup header points at (field 0x20E, relative to 0x200)."""
    if len(data) < 0x210 or data[0x202:0x206] != b"HdrS":
        raise ImageError("not a bzImage (no 'HdrS' setup header at 0x202)")
    ptr = struct.unpack_from("<H", data, 0x20E)[0]
    off = ptr + 0x200
    if ptr == 0 or off >= len(data):
        raise ImageError("bzImage has no kernel_version string")
    end = data.index(b"\0", off)
    return data[off:end].decode("ascii", errors="replace")


def upstream_version(version_string: str):
    """(major, minor, patch) of the kernel source: Debian's ABI release (6.1.0-57-amd64)
    hides it, so prefer the 'Debian 6.1.192-3' build tag when there is one."""
    m = re.search(r"Debian (\d+)\.(\d+)\.(\d+)", version_string)
    if not m:
        m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", version_string)
    if not m:
        raise ImageError(f"cannot read a kernel version from '{version_string}'")
    return tuple(int(g or 0) for g in m.groups())


def keeps_paging(v) -> bool:
    return v >= (6, 6, 0) or (v[:2] == (6, 1) and v[2] >= MIN_61_PATCH)


# ---------------------------------------------------------------- modules

def elf_section(data: bytes, name: str) -> bytes:
    if data[:4] != b"\x7fELF" or data[4] != 2:
        raise ImageError("not a 64-bit ELF file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)

    def sh(i):
        return struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
    strtab = sh(shstrndx)
    for i in range(shnum):
        s = sh(i)
        n0 = strtab[4] + s[0]
        if data[n0:data.index(b"\0", n0)].decode() == name:
            return data[s[4]:s[4] + s[5]]
    return b""


def modinfo(path: Path) -> dict:
    info = {}
    for item in elf_section(path.read_bytes(), ".modinfo").split(b"\0"):
        k, eq, v = item.decode(errors="replace").partition("=")
        if eq:
            info.setdefault(k, []).append(v)
    return info


def module_name(path: Path) -> str:
    n = path.name
    for suffix in (".ko", ".ko.xz", ".ko.zst", ".ko.gz"):
        if n.endswith(suffix):
            n = n[:-len(suffix)]
    return n.replace("-", "_")


def module_closure(mod_root: Path, wanted):
    """Module name -> (path relative to mod_root, deps), and the load order (deps first)."""
    index = {}
    for p in (mod_root / "kernel").rglob("*.ko*"):
        index[module_name(p)] = p
    builtin = set()
    bf = mod_root / "modules.builtin"
    if bf.is_file():
        builtin = {module_name(Path(l.strip())) for l in bf.read_text().splitlines() if l.strip()}
    found, order = {}, []

    def visit(name, chain):
        name = name.replace("-", "_")
        if name in found or name in builtin:
            return
        if name in chain:
            raise ImageError(f"module dependency cycle: {' -> '.join(chain + [name])}")
        if name not in index:
            raise ImageError(f"module {name} not in {mod_root} (nor built in)")
        if index[name].name.endswith((".xz", ".zst", ".gz")):
            raise ImageError(f"{index[name]}: compressed modules are not supported")
        info = modinfo(index[name])
        deps = [d for dep in info.get("depends", []) for d in dep.split(",") if d]
        for d in deps:
            visit(d, chain + [name])
        found[name] = (index[name].relative_to(mod_root), [d.replace("-", "_") for d in deps
                                                           if d.replace("-", "_") not in builtin])
        order.append(name)
    for w in wanted:
        visit(w, [])
    return found, order


# ---------------------------------------------------------------- host files

def is_static_elf(path: Path) -> bool:
    data = path.read_bytes()
    if data[:4] != b"\x7fELF":
        return False
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    return all(struct.unpack_from("<I", data, phoff + i * phentsize)[0] != 3 for i in range(phnum))


def ldd_libs(program: str):
    """[(path inside the image, host file)] for everything ldd reports."""
    out = run(["ldd", program])
    libs = []
    for line in out.splitlines():
        line = line.strip()
        m = re.match(r"(\S+) => (\S+) \(0x", line)
        if m:
            if m.group(2) == "not":
                raise ImageError(f"{program}: {line}")
            libs.append((f"{LIBDIR}/{m.group(1)}", m.group(2)))
            continue
        m = re.match(r"(/\S+) \(0x", line)
        if m:   # the dynamic loader, at its absolute path (/lib64/ld-linux-x86-64.so.2)
            libs.append((m.group(1).lstrip("/"), m.group(1)))
    return libs


def host_packages(paths):
    """host file -> (package, version), from dpkg's database (usr-merge aware)."""
    result = {}
    for p in paths:
        cands = [p, os.path.realpath(p)]
        for c in list(cands):
            if c.startswith("/usr/"):
                cands.append(c[4:])
            else:
                cands.append("/usr" + c)
        for c in cands:
            proc = subprocess.run(["dpkg-query", "-S", c], capture_output=True, text=True)
            if proc.returncode == 0:
                pkg = proc.stdout.splitlines()[0].split(":")[0].split(",")[0].strip()
                ver = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg],
                                     capture_output=True, text=True).stdout.strip()
                result[p] = (pkg, ver)
                break
        else:
            result[p] = ("?", "?")
    return result


# ---------------------------------------------------------------- cpio (newc)

class Cpio:
    """A newc archive written in memory: every entry owned by root, one fixed mtime."""

    def __init__(self, mtime: int):
        self.buf = io.BytesIO()
        self.mtime = mtime
        self.ino = 721
        self.names = set()
        self.dirs = set()

    def _entry(self, name, mode, data=b"", rdev=(0, 0), nlink=1):
        name = name.strip("/")
        if name in self.names:
            raise ImageError(f"duplicate initramfs entry /{name}")
        self.names.add(name)
        self.ino += 1
        bname = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, nlink, self.mtime, len(data), 0, 0,
                  rdev[0], rdev[1], len(bname), 0]
        hdr = b"070701" + b"".join(b"%08X" % f for f in fields)
        self.buf.write(hdr + bname)
        self.buf.write(b"\0" * (-(len(hdr) + len(bname)) % 4))
        self.buf.write(data)
        self.buf.write(b"\0" * (-len(data) % 4))

    def dir(self, name, mode=0o755):
        name = name.strip("/")
        if not name or name in self.dirs:
            return
        parent = os.path.dirname(name)
        if parent:
            self.dir(parent)
        self.dirs.add(name)
        self._entry(name, stat.S_IFDIR | mode, nlink=2)

    def file(self, name, data: bytes, mode=0o644):
        self.dir(os.path.dirname(name.strip("/")))
        self._entry(name, stat.S_IFREG | mode, data)

    def symlink(self, name, target):
        self.dir(os.path.dirname(name.strip("/")))
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, name, major, minor, mode=0o600):
        self.dir(os.path.dirname(name.strip("/")))
        self._entry(name, stat.S_IFCHR | mode, rdev=(major, minor))

    def finish(self) -> bytes:
        self._entry("TRAILER!!!", 0, nlink=1)
        self.names.discard("TRAILER!!!")
        data = self.buf.getvalue()
        return data + b"\0" * (-len(data) % 512)


# ---------------------------------------------------------------- the image

def busybox_applets(busybox: str):
    out = run([busybox, "--list-full"])
    return [l.strip() for l in out.splitlines() if l.strip()]


def build(args):
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cache = Path(args.cache) if args.cache else cache_dir()
    manifest = {"format": 1, "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}

    # The kernel and its modules tree.
    if args.kernel:
        bz_path = Path(args.kernel)
        if not bz_path.is_file():
            raise ImageError(f"--kernel {bz_path}: no such file")
        mod_root = Path(args.modules) if args.modules else None
        manifest["kernel_source"] = {"kind": "own", "bzImage": str(bz_path.resolve()),
                                     "modules": str(mod_root.resolve()) if mod_root else None}
    else:
        deb = fetch_kernel_deb(cache)
        root = extract_deb(deb, cache)
        vmlinuz = sorted((root / "boot").glob("vmlinuz-*"))
        if len(vmlinuz) != 1:
            raise ImageError(f"{deb.name}: expected one /boot/vmlinuz-*, found {len(vmlinuz)}")
        bz_path = vmlinuz[0]
        release = bz_path.name[len("vmlinuz-"):]
        mod_root = root / "lib" / "modules" / release
        manifest["kernel_source"] = {"kind": "debian", "package": deb_field(deb, "Package"),
                                     "version": deb_field(deb, "Version"), "deb": deb.name,
                                     "cache": str(cache)}
    bz = bz_path.read_bytes()
    vstring = bzimage_version_string(bz)
    release = vstring.split()[0]
    upstream = upstream_version(vstring)
    paging = keeps_paging(upstream)
    say(f"kernel {release} (source {'.'.join(map(str, upstream))}): {vstring}")
    if not paging and not args.allow_old_kernel:
        raise ImageError(f"kernel {'.'.join(map(str, upstream))} clears CR0.PG in its decompressor "
                         f"(needs 6.1.{MIN_61_PATCH}+ or 6.6+); --allow-old-kernel to build anyway")
    proto = struct.unpack_from("<H", bz, 0x206)[0]
    manifest["kernel"] = {"release": release, "version": ".".join(map(str, upstream)),
                          "version_string": vstring,
                          "boot_protocol": f"{proto >> 8}.{proto & 0xff:02d}",
                          "decompressor_keeps_paging": paging,
                          "paging_rule": f"6.1.{MIN_61_PATCH} or later in 6.1.y, or 6.6 and later",
                          "size": len(bz), "sha256": hashlib.sha256(bz).hexdigest()}

    cpio = Cpio(mtime=int(os.environ.get("SOURCE_DATE_EPOCH", "0")))
    for d in ("dev", "proc", "sys", "tmp", "run", "root", "etc", "mnt", "var/log"):
        cpio.dir(d)
    # The kernel opens /dev/console for init before init can mount devtmpfs.
    cpio.chardev("dev/console", 5, 1)
    cpio.chardev("dev/null", 1, 3, 0o666)
    cpio.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
    cpio.file("etc/group", b"root:x:0:\n")
    cpio.file("etc/hostname", b"natsume-linux\n")
    cpio.file("etc/hosts", b"127.0.0.1 localhost natsume-linux\n")
    cpio.file("etc/services", b"iperf3 5201/tcp\n")

    # busybox and its applets.
    busybox = Path(args.busybox)
    if not busybox.is_file():
        raise ImageError(f"{busybox} not found (Debian: busybox-static)")
    if not is_static_elf(busybox):
        raise ImageError(f"{busybox} is dynamically linked: install busybox-static")
    cpio.file("bin/busybox", busybox.read_bytes(), 0o755)
    applets = busybox_applets(str(busybox))
    for a in applets:
        if a != "bin/busybox" and a.strip("/") not in cpio.names:
            depth = a.strip("/").count("/")
            cpio.symlink(a, "../" * depth + "bin/busybox")
    host_files = [str(busybox)]

    # Modules (deps first) and their modules.dep for busybox modprobe.
    modules = []
    if mod_root is not None:
        if not (mod_root / "kernel").is_dir():
            raise ImageError(f"{mod_root}: no kernel/ modules tree")
        found, order = module_closure(mod_root, args.module or MODULES)
        mdir = f"lib/modules/{release}"
        deplines = []
        for name in order:
            rel, deps = found[name]
            data = (mod_root / rel).read_bytes()
            cpio.file(f"{mdir}/{rel}", data)
            deplines.append(f"{rel}: " + " ".join(str(found[d][0]) for d in reversed(
                _ordered_deps(name, found))))
            modules.append({"name": name, "path": str(rel), "depends": deps, "size": len(data)})
        cpio.file(f"{mdir}/modules.dep", ("\n".join(l.rstrip() for l in deplines) + "\n").encode())
        for f in ("modules.builtin", "modules.order", "modules.builtin.modinfo"):
            if (mod_root / f).is_file():
                cpio.file(f"{mdir}/{f}", (mod_root / f).read_bytes())
        # /init loads these, one per line: NAME PATH (dependencies first).
        cpio.file("natsume/modules.load",
                  "".join(f"{n} /{mdir}/{found[n][0]}\n" for n in order).encode())
        say(f"modules ({len(order)}, load order): {' '.join(order)}")
    else:
        cpio.file("natsume/modules.load", b"")
        say("no modules tree: the kernel must have its drivers built in")

    # Programs and their libraries.
    libs = {}
    programs = []
    for prog in args.program or PROGRAMS:
        if not Path(prog).is_file():
            raise ImageError(f"{prog} not found (install its Debian package)")
        cpio.file(prog.lstrip("/"), Path(prog).read_bytes(), 0o755)
        host_files.append(prog)
        needs = ldd_libs(prog)
        programs.append({"path": prog, "libraries": sorted(n for n, _ in needs)})
        for name, host in needs:
            libs.setdefault(name, host)
    for name, host in sorted(libs.items()):
        cpio.file(name, Path(host).read_bytes(), 0o755)
        host_files.append(host)
    loader = f"{LIBDIR}/ld-linux-x86-64.so.2"
    if "lib64/ld-linux-x86-64.so.2" in libs and loader not in cpio.names:
        # Debian keeps the loader under the multiarch directory too.
        cpio.symlink(loader, "/lib64/ld-linux-x86-64.so.2")

    # /init and the scripts natsume.run= names.
    init_src = HERE / "init"
    cpio.file("init", init_src.read_bytes(), 0o755)
    scripts = sorted((HERE / "scripts").glob("*.sh"))
    for s in scripts:
        cpio.file(f"natsume/scripts/{s.name}", s.read_bytes(), 0o755)

    pkgs = host_packages(host_files)
    packages = {}
    for f, (p, v) in pkgs.items():
        packages.setdefault(p, {"version": v, "files": []})["files"].append(f)
    raw = cpio.finish()
    gz = gzip.compress(raw, compresslevel=9, mtime=0)
    manifest["initramfs"] = {"format": "newc cpio, gzip", "size": len(gz), "unpacked_size": len(raw),
                             "entries": len(cpio.names), "sha256": hashlib.sha256(gz).hexdigest()}
    manifest["modules"] = modules
    manifest["programs"] = programs
    manifest["libraries"] = sorted(libs)
    manifest["busybox"] = {"path": str(busybox), "applets": len(applets)}
    manifest["packages"] = dict(sorted(packages.items()))
    manifest["scripts"] = [s.stem for s in scripts]
    manifest["listing"] = sorted("/" + n for n in cpio.names)

    _write(out / "bzImage", bz)
    _write(out / "initramfs.cpio.gz", gz)
    _write(out / "manifest.json", (json.dumps(manifest, indent=1) + "\n").encode())
    say(f"{out}/bzImage {len(bz)} bytes, initramfs.cpio.gz {len(gz)} bytes "
        f"({len(raw)} unpacked, {len(cpio.names)} entries)")


def _ordered_deps(name, found):
    """All of name's dependencies, each after the ones it needs (modules.dep lists
    them in the reverse: nearest first)."""
    seen, order = set(), []

    def walk(n):
        for d in found[n][1]:
            if d not in seen:
                seen.add(d)
                walk(d)
                order.append(d)
    walk(name)
    return order


def _write(path: Path, data: bytes):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output directory (build/images/linux)")
    ap.add_argument("--cache", help="download cache (default: $NATSUME_CACHE or ~/.cache/natsume)")
    ap.add_argument("--kernel", help="bring your own bzImage instead of Debian's")
    ap.add_argument("--modules", help="with --kernel: its lib/modules/RELEASE tree (default: none)")
    ap.add_argument("--module", action="append", help="a module to include (repeatable; default: "
                    + " ".join(MODULES) + ")")
    ap.add_argument("--program", action="append", help="a host program to include (repeatable; "
                    "default: " + " ".join(PROGRAMS) + ")")
    ap.add_argument("--busybox", default=BUSYBOX, help="static busybox (default: %(default)s)")
    ap.add_argument("--allow-old-kernel", action="store_true",
                    help=f"accept a kernel older than 6.1.{MIN_61_PATCH}")
    args = ap.parse_args()
    try:
        build(args)
    except ImageError as e:
        print(f"linux-image: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
