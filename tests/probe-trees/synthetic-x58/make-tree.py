#!/usr/bin/env python3
"""Writes the synthetic Core i7 920 / X58 / ICH10R tree next to this script
(README.md says what is made up and which public facts it follows).

  tests/probe-trees/synthetic-x58/make-tree.py

Only the files `natsume-config probe` reads: /proc/cpuinfo,
/sys/firmware/memmap, /sys/firmware/acpi/tables/{APIC,MCFG,DMAR},
/sys/bus/pci/devices/*/{vendor,device,class,revision,irq,config} and
/sys/kernel/iommu_groups/*/devices/* (empty files named by the device).
"""

import shutil
import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent

# ---- ACPI --------------------------------------------------------------------


def table(sig: bytes, revision: int, body: bytes) -> bytes:
    """A table with its 36-byte header and a checksum that makes it sum to 0."""
    length = 36 + len(body)
    head = struct.pack("<4sIBB6s8sI4sI", sig, length, revision, 0, b"INTEL ", b"DX58SO  ", 1, b"SYNT", 1)
    raw = bytearray(head + body)
    raw[9] = (-sum(raw)) & 0xFF
    return bytes(raw)


# Core i7 920: 4 cores x 2 threads; firmware lists the first thread of every
# core first (APIC IDs 0 2 4 6), then the second threads (1 3 5 7).
APIC_IDS = [0, 2, 4, 6, 1, 3, 5, 7]
ICH10_IOAPIC = (8, 0xFEC00000, 0)    # 24 pins: GSI 0-23
IOH_IOAPIC = (9, 0xFEC8A000, 24)     # the X58's own I/OxAPIC (00:13.0): GSI 24-47


def madt() -> bytes:
    body = struct.pack("<II", 0xFEE00000, 1)  # PC-AT compatible 8259s present
    for uid, apic in enumerate(APIC_IDS, start=1):
        body += struct.pack("<BBBBI", 0, 8, uid, apic, 1)
    for ident, addr, base in (ICH10_IOAPIC, IOH_IOAPIC):
        body += struct.pack("<BBBBII", 1, 12, ident, 0, addr, base)
    body += struct.pack("<BBBBIH", 2, 10, 0, 0, 2, 0)        # IRQ0 -> GSI 2
    body += struct.pack("<BBBBIH", 2, 10, 0, 9, 9, 0x000D)   # IRQ9: level, active high (SCI)
    body += struct.pack("<BBBHB", 4, 6, 0xFF, 0x0005, 1)     # LINT1 is NMI on every processor
    return table(b"APIC", 2, body)


def mcfg() -> bytes:
    return table(b"MCFG", 1, bytes(8) + struct.pack("<QHBBI", 0xE0000000, 0, 0, 0xFF, 0))


def scope(kind: int, enum_id: int, bus: int, path) -> bytes:
    raw = b"".join(struct.pack("<BB", d, f) for d, f in path)
    return struct.pack("<BBHBB", kind, 6 + len(raw), 0, enum_id, bus) + raw


USB = [(0x1A, 0), (0x1A, 1), (0x1A, 2), (0x1A, 7), (0x1D, 0), (0x1D, 1), (0x1D, 2), (0x1D, 7)]
RMRR = (0xBF7EC000, 0xBF7FFFFF)   # legacy USB emulation buffers, in reserved memory


def dmar() -> bytes:
    scopes = scope(3, ICH10_IOAPIC[0], 0, [(0x1F, 7)]) + scope(3, IOH_IOAPIC[0], 0, [(0x13, 0)])
    drhd = struct.pack("<HHBBHQ", 0, 16 + len(scopes), 1, 0, 0, 0xFBFFE000) + scopes  # INCLUDE_PCI_ALL
    usb = b"".join(scope(1, 0, 0, [p]) for p in USB)
    rmrr = struct.pack("<HHHHQQ", 1, 24 + len(usb), 0, 0, RMRR[0], RMRR[1]) + usb
    body = struct.pack("<BB10s", 39 - 1, 1, bytes(10)) + drhd + rmrr  # 39-bit HAW, INTR_REMAP
    return table(b"DMAR", 1, body)


# ---- PCI ---------------------------------------------------------------------

CAP_PM, CAP_MSI, CAP_PCIE, CAP_MSIX = 0x01, 0x05, 0x10, 0x11


class Function:
    def __init__(self, bdf, vid, did, cls, rev, *, pin=0, line=0xFF, irq=0, caps=(), bridge=None,
                 multi=False, bar0=0, group=None):
        self.bdf, self.vid, self.did, self.cls, self.rev = bdf, vid, did, cls, rev
        self.pin, self.line, self.irq, self.caps = pin, line, irq, caps
        self.bridge, self.multi, self.bar0, self.group = bridge, multi, bar0, group

    def config(self) -> bytes:
        pcie = any(c[0] == CAP_PCIE for c in self.caps)
        c = bytearray(4096 if pcie else 256)
        struct.pack_into("<HHHH", c, 0, self.vid, self.did, 0x0006, 0x0010 if self.caps else 0)
        struct.pack_into("<I", c, 8, self.cls << 8 | self.rev)
        c[0x0E] = (1 if self.bridge else 0) | (0x80 if self.multi else 0)
        if self.bridge:
            primary, secondary, subordinate = self.bridge
            c[0x18:0x1B] = bytes([primary, secondary, subordinate])
        else:
            struct.pack_into("<I", c, 0x10, self.bar0)
        c[0x3C], c[0x3D] = self.line, self.pin
        at = 0x40 if self.bridge else 0x50
        if self.caps:
            c[0x34] = at
        for i, (cap_id, size) in enumerate(self.caps):
            nxt = at + size if i + 1 < len(self.caps) else 0
            c[at], c[at + 1] = cap_id, nxt
            if cap_id == CAP_PCIE:
                # device/port type: 4 = root port, 0 = endpoint, 9 = integrated endpoint
                kind = 4 if self.bridge else (0 if self.bdf[0] else 9)
                struct.pack_into("<H", c, at + 2, 0x0002 | kind << 4)
            at = nxt
        return bytes(c)


PM, MSI, MSI64, PCIE, MSIX = (CAP_PM, 8), (CAP_MSI, 16), (CAP_MSI, 24), (CAP_PCIE, 60), (CAP_MSIX, 12)

# (bus, device, function). Interrupt Line registers hold the PIC-mode IRQ the
# BIOS programmed; Linux in APIC mode routes by the ACPI _PRT to GSI 16-23
# (ICH10 PIRQA-H) and reports that GSI in `irq`.
FUNCTIONS = [
    Function((0, 0, 0), 0x8086, 0x3405, 0x060000, 0x13, caps=[PCIE], group=0),  # X58 IOH to ESI port
    Function((0, 0x13, 0), 0x8086, 0x342D, 0x080020, 0x13, group=1),            # IOH I/OxAPIC
    Function((0, 0x14, 0), 0x8086, 0x342E, 0x080000, 0x13, multi=True, caps=[PCIE], group=2),
    Function((0, 0x14, 1), 0x8086, 0x3422, 0x080000, 0x13, caps=[PCIE], group=2),
    Function((0, 0x14, 2), 0x8086, 0x3423, 0x080000, 0x13, caps=[PCIE], group=2),
    Function((0, 0x19, 0), 0x8086, 0x10CD, 0x020000, 0x00, pin=1, line=11, irq=20, caps=[PM, MSI64],
             bar0=0xF3200000, group=3),                                           # 82567LF-2 GbE
    Function((0, 0x1A, 0), 0x8086, 0x3A37, 0x0C0300, 0x00, pin=1, line=5, irq=16, multi=True, group=4),
    Function((0, 0x1A, 1), 0x8086, 0x3A38, 0x0C0300, 0x00, pin=2, line=10, irq=21, group=4),
    Function((0, 0x1A, 2), 0x8086, 0x3A39, 0x0C0300, 0x00, pin=4, line=3, irq=19, group=4),
    Function((0, 0x1A, 7), 0x8086, 0x3A3C, 0x0C0320, 0x00, pin=3, line=11, irq=18, caps=[PM], group=4),
    Function((0, 0x1B, 0), 0x8086, 0x3A3E, 0x040300, 0x00, pin=1, line=10, irq=17, caps=[PM, MSI64, PCIE],
             bar0=0xF3220004, group=5),                                          # HD Audio
    Function((0, 0x1C, 0), 0x8086, 0x3A40, 0x060400, 0x00, pin=1, line=10, irq=17, bridge=(0, 2, 2),
             caps=[PCIE, MSI, PM], group=6),                                     # PCIe root port 1
    Function((0, 0x1D, 0), 0x8086, 0x3A34, 0x0C0300, 0x00, pin=1, line=11, irq=23, multi=True, group=7),
    Function((0, 0x1D, 1), 0x8086, 0x3A35, 0x0C0300, 0x00, pin=2, line=3, irq=19, group=7),
    Function((0, 0x1D, 2), 0x8086, 0x3A36, 0x0C0300, 0x00, pin=3, line=11, irq=18, group=7),
    Function((0, 0x1D, 7), 0x8086, 0x3A3A, 0x0C0320, 0x00, pin=1, line=11, irq=23, caps=[PM], group=7),
    Function((0, 0x1E, 0), 0x8086, 0x244E, 0x060401, 0x90, bridge=(0, 5, 5), group=8),  # DMI-to-PCI
    Function((0, 0x1F, 0), 0x8086, 0x3A16, 0x060100, 0x00, multi=True, group=9),         # ICH10R LPC
    Function((0, 0x1F, 2), 0x8086, 0x3A22, 0x010601, 0x00, pin=2, line=3, irq=19, caps=[MSI, PM],
             group=9),                                                           # SATA AHCI
    Function((0, 0x1F, 3), 0x8086, 0x3A30, 0x0C0500, 0x00, pin=3, line=11, irq=18, group=9),  # SMBus
    Function((2, 0, 0), 0x8086, 0x10D3, 0x020000, 0x00, pin=1, line=10, irq=17,
             caps=[PM, MSI64, PCIE, MSIX], bar0=0xF3100000, group=6),             # 82574L behind 00:1c.0
    Function((5, 0, 0), 0x104C, 0x8023, 0x0C0010, 0x00, pin=1, line=10, irq=17, caps=[PM],
             bar0=0xF3000000, group=8),                                          # TI 1394a on the PCI bus
    Function((5, 1, 0), 0x8086, 0x107C, 0x020000, 0x05, pin=1, line=11, irq=18, caps=[PM],
             bar0=0xF3020000, group=8),                                          # 82541PI (8254x)
    Function((5, 4, 0), 0x10EC, 0x8139, 0x020000, 0x10, pin=1, line=10, irq=17, caps=[PM],
             bar0=0xE001, group=8),                                              # RTL8139 on the PCI bus
]

# ---- memory, CPUs --------------------------------------------------------------

MIB, GIB = 1 << 20, 1 << 30
MEMMAP = [  # 6 GiB (3 x 2 GiB, triple channel), the PCI hole below 4 GiB
    (0x0, 0x9D7FF, "System RAM"), (0x9D800, 0x9FFFF, "Reserved"), (0xE0000, 0xFFFFF, "Reserved"),
    (0x100000, 0xBF77FFFF, "System RAM"), (0xBF780000, 0xBF78DFFF, "ACPI Tables"),
    (0xBF78E000, 0xBF7CFFFF, "ACPI Non-volatile Storage"), (0xBF7D0000, 0xBF7DFFFF, "Reserved"),
    (0xBF7EC000, 0xBFFFFFFF, "Reserved"), (0xE0000000, 0xEFFFFFFF, "Reserved"),
    (0xFEE00000, 0xFEE00FFF, "Reserved"), (0xFFB00000, 0xFFFFFFFF, "Reserved"),
    (0x100000000, 0x1BFFFFFFF, "System RAM"),
]

FLAGS = ("fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx fxsr "
         "sse sse2 ss ht tm pbe syscall nx rdtscp lm constant_tsc arch_perfmon pebs bts rep_good nopl "
         "xtopology nonstop_tsc cpuid aperfmperf pni dtes64 monitor ds_cpl vmx est tm2 ssse3 cx16 xtpr pdcm "
         "sse4_1 sse4_2 popcnt lahf_lm pti tpr_shadow vnmi flexpriority ept vpid dtherm ida")
VMX_FLAGS = "vnmi preemption_timer invvpid ept_x_only flexpriority tsc_offset vtpr mtf vapic ept vpid"


def cpuinfo() -> str:
    blocks = []
    for n, apic in enumerate(APIC_IDS):
        blocks.append("\n".join([
            f"processor\t: {n}", "vendor_id\t: GenuineIntel", "cpu family\t: 6", "model\t\t: 26",
            "model name\t: Intel(R) Core(TM) i7 CPU         920  @ 2.67GHz", "stepping\t: 5",
            "physical id\t: 0", "siblings\t: 8", f"core id\t\t: {apic >> 1}", "cpu cores\t: 4",
            f"apicid\t\t: {apic}", f"initial apicid\t: {apic}", f"flags\t\t: {FLAGS}",
            f"vmx flags\t: {VMX_FLAGS}", ""]))
    return "\n".join(blocks) + "\n"


def write(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())


def main() -> None:
    for sub in ("proc", "sys"):
        shutil.rmtree(HERE / sub, ignore_errors=True)
    write(HERE / "proc/cpuinfo", cpuinfo())
    for i, (start, end, kind) in enumerate(MEMMAP):
        d = HERE / f"sys/firmware/memmap/{i}"
        write(d / "start", f"{start:#x}\n")
        write(d / "end", f"{end:#x}\n")
        write(d / "type", kind + "\n")
    tables = HERE / "sys/firmware/acpi/tables"
    write(tables / "APIC", madt())
    write(tables / "MCFG", mcfg())
    write(tables / "DMAR", dmar())
    for f in FUNCTIONS:
        name = "0000:{:02x}:{:02x}.{:x}".format(*f.bdf)
        d = HERE / "sys/bus/pci/devices" / name
        write(d / "vendor", f"{f.vid:#06x}\n")
        write(d / "device", f"{f.did:#06x}\n")
        write(d / "class", f"{f.cls:#08x}\n")
        write(d / "revision", f"{f.rev:#04x}\n")
        write(d / "irq", f"{f.irq}\n")
        write(d / "config", f.config())
        if f.group is not None:
            write(HERE / f"sys/kernel/iommu_groups/{f.group}/devices/{name}", b"")


if __name__ == "__main__":
    main()
