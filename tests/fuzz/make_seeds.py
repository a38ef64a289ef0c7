#!/usr/bin/python3
"""Regenerates the synthetic seeds in tests/fuzz/corpus/ (the captured ones are
copied from tests/unit/). Run from anywhere; writes only under corpus/.

    /usr/bin/python3 tests/fuzz/make_seeds.py [--natsume-config BUILD/vmm-tools/natsume-config]

Each seed is small: a real input's shape, for the fuzzer to mutate.
"""
import argparse
import glob
import os
import shutil
import struct
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
CORPUS = os.path.join(HERE, "corpus")
PARSER_DATA = os.path.join(ROOT, "tests", "unit", "parsers", "data")


def out(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def checksum_fix(b, at, length=None):
    b = bytearray(b)
    length = len(b) if length is None else length
    b[at] = 0
    b[at] = (-sum(b[:length])) & 0xFF
    return bytes(b)


def table(sig, body, revision=1):
    t = bytearray(sig.encode() + struct.pack("<IBB", 36 + len(body), revision, 0) + b"NATSUMTESTTABL" +
                  struct.pack("<I", 1) + b"NTSM" + struct.pack("<I", 1))
    t += body
    return checksum_fix(t, 9)


def read(name):
    with open(os.path.join(PARSER_DATA, name), "rb") as f:
        return f.read()


def pad(b, align=16):
    return b + b"\0" * (-len(b) % align)


def acpi_image(rsdp_rev, tables, fadt_children=()):
    """RSDP at 0, root at 0x40, tables after it; physical address = offset."""
    entry = 8 if rsdp_rev >= 2 else 4
    root_len = 36 + entry * len(tables)
    at = pad(b"\0" * (0x40 + root_len))
    offsets, blob = [], bytearray()
    base = len(at)
    placed = {}
    for sig, t in list(tables) + list(fadt_children):
        placed[sig] = base + len(blob)
        blob += pad(t)
    listed = [placed[sig] for sig, _ in tables]
    # FADT children: patch DSDT (40) and FACS (36) pointers.
    img = bytearray(at + blob)
    if "FACP" in placed:
        f = placed["FACP"]
        flen = struct.unpack_from("<I", img, f + 4)[0]
        if "DSDT" in placed:
            struct.pack_into("<I", img, f + 40, placed["DSDT"])
            if flen >= 148:
                struct.pack_into("<Q", img, f + 140, 0)
        if "FACS" in placed:
            struct.pack_into("<I", img, f + 36, placed["FACS"])
            if flen >= 140:
                struct.pack_into("<Q", img, f + 132, 0)
        img[f:f + flen] = checksum_fix(img[f:f + flen], 9)
    body = b"".join(struct.pack("<Q" if entry == 8 else "<I", o) for o in listed)
    root = table("XSDT" if entry == 8 else "RSDT", body)
    img[0x40:0x40 + len(root)] = root
    if rsdp_rev >= 2:
        r = bytearray(b"RSD PTR " + b"\0" + b"BOCHS " + bytes([2]) + struct.pack("<IIQ", 0, 36, 0x40) + b"\0" * 4)
        r = checksum_fix(r, 8, 20)
        r = checksum_fix(r, 32, 36)
    else:
        r = checksum_fix(b"RSD PTR " + b"\0" + b"BOCHS " + bytes([0]) + struct.pack("<I", 0x40), 8, 20)
    img[0:len(r)] = r
    return bytes(img)


def dmar_table():
    def scope(kind, enum_id, bus, path):
        body = bytes([kind, 6 + 2 * len(path), 0, 0, enum_id, bus]) + b"".join(bytes(p) for p in path)
        return body
    drhd1 = scope(1, 0, 0, [(2, 0)]) + scope(2, 0, 0, [(3, 0), (0, 0)])
    drhd1 = struct.pack("<HHBBHQ", 0, 16 + len(drhd1), 0, 0, 0, 0xFED90000) + drhd1
    drhd2 = scope(3, 2, 0xF0, [(0x1F, 0)])
    drhd2 = struct.pack("<HHBBHQ", 0, 16 + len(drhd2), 1, 0, 0, 0xFED91000) + drhd2
    rmrr = scope(1, 0, 0, [(0x1D, 0)])
    rmrr = struct.pack("<HHHHQQ", 1, 24 + len(rmrr), 0, 0, 0x7F000000, 0x7F00FFFF) + rmrr
    atsr = struct.pack("<HHBBH", 2, 8, 0, 0, 0)
    body = bytes([38, 1]) + b"\0" * 10 + drhd1 + drhd2 + rmrr + atsr
    return table("DMAR", body)


def acpi_seeds():
    for f in sorted(glob.glob(os.path.join(PARSER_DATA, "*.bin"))):
        name = os.path.basename(f)
        if any(k in name for k in ("-apic", "-mcfg", "-rsdp", "-dmar")):
            shutil.copy(f, os.path.join(CORPUS, "acpi", name))
    q35 = "qemu-q35-2cpu-"
    tables = [("FACP", read(q35 + "facp.bin")), ("APIC", read(q35 + "apic.bin")),
              ("HPET", read(q35 + "hpet.bin")), ("MCFG", read(q35 + "mcfg.bin")), ("WAET", read(q35 + "waet.bin"))]
    children = [("FACS", read(q35 + "facs.bin")), ("DSDT", table("DSDT", b"\x10\x05\x5c\x00"))]
    out("acpi", "walk-q35-rsdt.bin", acpi_image(0, tables, children))
    iommu = "qemu-q35-4cpu-iommu-"
    tables = [("FACP", read(iommu + "facp.bin")), ("APIC", read(iommu + "apic.bin")),
              ("MCFG", read(iommu + "mcfg.bin")), ("DMAR", read(iommu + "dmar.bin"))]
    out("acpi", "walk-q35-iommu-xsdt.bin", acpi_image(2, tables, children))
    b = "bochs-3cpu-"
    tables = [("FACP", read(b + "facp.bin")), ("APIC", read(b + "apic.bin")), ("SSDT", read(b + "ssdt.bin"))]
    out("acpi", "walk-bochs-rsdt.bin", acpi_image(0, tables, [("FACS", read(b + "facs.bin"))]))
    out("acpi", "walk-dmar-xsdt.bin", acpi_image(2, [("DMAR", dmar_table())]))


def dmar_seeds():
    shutil.copy(os.path.join(PARSER_DATA, "qemu-q35-4cpu-iommu-dmar.bin"), os.path.join(CORPUS, "dmar"))
    out("dmar", "synthetic-drhd-rmrr-atsr.bin", dmar_table())


def mb2_tag(kind, payload):
    t = struct.pack("<II", kind, 8 + len(payload)) + payload
    return t + b"\0" * (-len(t) % 8)


def mb2_seeds():
    mmap = struct.pack("<II", 24, 0) + b"".join(struct.pack("<QQII", b, l, t, 0) for b, l, t in
                                               [(0, 0x9FC00, 1), (0x9FC00, 0x400, 2), (0x100000, 0xFF00000, 1),
                                                (0xFFFC0000, 0x40000, 2)])
    rsdp = checksum_fix(b"RSD PTR " + b"\0" + b"BOCHS " + bytes([0]) + struct.pack("<I", 0xFE0000), 8, 20)
    tags = [mb2_tag(1, b"emulator-exit log=2\0"), mb2_tag(2, b"GRUB 2.06\0"),
            mb2_tag(3, struct.pack("<II", 0x200000, 0x201000) + b"natsume-config\0"),
            mb2_tag(3, struct.pack("<II", 0x202000, 0x240000) + b"guest-kernel extra args\0"),
            mb2_tag(4, struct.pack("<II", 639, 261120)), mb2_tag(6, mmap), mb2_tag(14, rsdp),
            mb2_tag(21, struct.pack("<I", 0x100000)), mb2_tag(0, b"")]
    body = b"".join(tags)
    out("multiboot2", "grub-bios.bin", struct.pack("<II", 8 + len(body), 0) + body)
    tags = [mb2_tag(1, b"\0"), mb2_tag(12, struct.pack("<Q", 0x7F9E0000)), mb2_tag(0, b"")]
    body = b"".join(tags)
    out("multiboot2", "efi-minimal.bin", struct.pack("<II", 8 + len(body), 0) + body)


def efi_loader_seeds():
    """natsume.efi: a loader file as ./natsume image writes it (first byte < 128),
    and an OVMF-like memory map with the loader's spans (first byte >= 128)."""
    cfg = (b"# natsume vtd-boot.toml: read by natsume.efi\r\nhypervisor /natsume/natsume.elf\n"
           b"cmdline acpi-dump\nmodule /natsume/natsume-config.bin natsume-config\n"
           b"module \\natsume\\guest-kernel.elf guest-kernel a=1\n")
    out("efi_loader", "loader-file.bin", b"\x00" + cfg)
    descs = [(7, 0, 0xa0), (7, 0x100000, 0x100), (2, 0x200000, 0x5d1), (4, 0x7d1000, 0x35), (10, 0x806000, 2),
             (3, 0x900000, 0x1000), (6, 0x1f4ec000, 0x100), (9, 0x1f77e000, 0x80), (11, 0xffc00000, 0x400)]
    body = b"".join(struct.pack("<IIQQQQ", t, 0, base, 0, pages, 0xf) for t, base, pages in descs)
    spans = struct.pack("<QQ", 0x200000, 0x5d1000) + struct.pack("<QQ", 0x7d0000, 0x1000)
    out("efi_loader", "ovmf-map.bin", b"\x80" + bytes([0, 2]) + spans + body)


def elf_seed():
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "sample.elf")
        subprocess.run(["gcc", "-ffreestanding", "-fno-pic", "-fno-pie", "-O2", "-fno-asynchronous-unwind-tables",
                        "-fno-stack-protector", "-static", "-nostdlib", "-no-pie", "-Wl,-Ttext=0x200000",
                        "-Wl,--build-id=none", "-Wl,-z,max-page-size=0x1000", "-s",
                        os.path.join(ROOT, "tests", "unit", "parsers", "sample_elf.c"), "-o", exe], check=True)
        shutil.copy(exe, os.path.join(CORPUS, "elf", "sample-static.elf"))


INSNS = [b"\x89\x37", b"\x8b\x07", b"\x48\x89\x37", b"\x66\x89\x37", b"\x40\x88\x37", b"\x88\x27",
         b"\x0f\xb6\x07", b"\x66\x0f\xb6\x07", b"\x0f\xb7\x44\x8b\x08", b"\x48\x63\x07", b"\x48\x0f\xbf\x57\x02",
         b"\xc7\x07\x78\x56\x34\x12", b"\x48\xc7\x07\x00\x00\x00\x80", b"\xc6\x07\xa5", b"\x66\xc7\x47\x02\x34\x12",
         b"\x43\x89\x04\xec", b"\x8b\x05\x00\x00\x00\x00", b"\x8b\x0c\xc5\x10\x00\x00\x00",
         b"\xa1\x00\x00\xc0\xfe\x00\x00\x00\x00", b"\x67\x89\x07", b"\x64\x89\x07", b"\x65\x48\x8b\x04\x25\x10\x00\x00\x00",
         b"\xf0\x89\x07", b"\xf3\x89\x07", b"\x89\xc0"]


def insn_seeds():
    values = struct.pack("<QQ", 0x1122334455667788, 0x8899AABBCCDDEEFF)
    for i, b in enumerate(INSNS):
        out("insn", "insn-%02d.bin" % i, b + values)


def paging_tail(linear, cr3):
    # FuzzedDataProvider takes integers from the end, little-endian: CR3 is the
    # last 8 bytes, the linear address the 8 before, then MAXPHYADDR (32 + 20).
    return bytes([20]) + struct.pack("<QQ", linear, cr3)


def guest_paging_seeds():
    P, RW, PS = 1, 2, 0x80
    # 4 KiB pages: PML4 0x0, PDPT 0x1000, PD 0x2000, PT 0x3000; code at linear 0x3F00 -> gpa 0x3F00.
    ram = bytearray(0x4000)
    struct.pack_into("<Q", ram, 0x0, 0x1000 | P | RW)
    struct.pack_into("<Q", ram, 0x1000, 0x2000 | P | RW)
    struct.pack_into("<Q", ram, 0x2000, 0x3000 | P | RW)
    struct.pack_into("<Q", ram, 0x3000 + 8 * 3, 0x3000 | P)
    ram[0x3F00:0x3F00 + 16] = b"\x89\x37\x90\x90" * 4
    out("guest_paging", "4k-pages.bin", bytes(ram) + paging_tail(0x3F00, 0))
    # 2 MiB page: PD entry 0 maps linear [0, 2M) to gpa [0, 2M); code at 0x2F00.
    ram = bytearray(0x3000)
    struct.pack_into("<Q", ram, 0x0, 0x1000 | P | RW)
    struct.pack_into("<Q", ram, 0x1000, 0x2000 | P | RW)
    struct.pack_into("<Q", ram, 0x2000, 0x0 | P | RW | PS)
    ram[0x2F00:0x2F00 + 16] = b"\x48\x8b\x07\x90" * 4
    out("guest_paging", "2m-page.bin", bytes(ram) + paging_tail(0x2F00, 0))


def toml_seeds():
    for f in sorted(glob.glob(os.path.join(ROOT, "configs", "*.toml")) +
                    glob.glob(os.path.join(ROOT, "configs", "tests", "*.toml")) +
                    glob.glob(os.path.join(ROOT, "tests", "unit", "config", "data", "*.toml"))):
        rel = os.path.relpath(f, ROOT).replace(os.sep, "_")
        shutil.copy(f, os.path.join(CORPUS, "partition_file", rel))


def blob_seeds(tool):
    if not tool:
        return
    images = os.path.join(ROOT, "tests", "unit", "config", "data", "images")
    for f in ["configs/default.toml", "configs/passthrough.toml", "tests/unit/config/data/shared-gsi.toml",
              "tests/unit/config/data/channels.toml"]:
        name = os.path.basename(f).replace(".toml", ".blob")
        subprocess.run([tool, "compile", os.path.join(ROOT, f), "-o", os.path.join(CORPUS, "blob", name),
                        "--image-dir", images], check=True, stdout=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--natsume-config", help="natsume-config binary, to compile the blob seeds")
    a = ap.parse_args()
    for t in ["acpi", "dmar", "multiboot2", "elf", "insn", "guest_paging", "partition_file", "blob", "efi_loader"]:
        os.makedirs(os.path.join(CORPUS, t), exist_ok=True)
    acpi_seeds()
    dmar_seeds()
    mb2_seeds()
    efi_loader_seeds()
    elf_seed()
    insn_seeds()
    guest_paging_seeds()
    toml_seeds()
    blob_seeds(a.natsume_config)


if __name__ == "__main__":
    main()
