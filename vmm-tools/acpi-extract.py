#!/usr/bin/python3
"""Turn the hypervisor's `acpi-dump` console output into one binary file per table.

Boot Natsume with `acpi-dump` on its command line, save the serial log, then:
    vmm-tools/acpi-extract.py serial.log OUTDIR
writes OUTDIR/<SIG>.bin (and <SIG>-1.bin, ... for repeated signatures).
Used to capture real platforms' tables for the parser unit tests, and on new
hardware as a bring-up aid.
"""
import re
import sys
from pathlib import Path

HEADER = re.compile(r"natsume: acpi-dump: (\S{4}) at (0x[0-9a-f]+), (\d+) bytes")
LINE = re.compile(r"natsume: acpi-dump: (\S{4}) ([0-9a-f]{4}):([0-9a-f]*)")


def extract(log_text):
    tables = []  # (sig, expected_len, bytearray)
    for raw in log_text.splitlines():
        m = HEADER.search(raw)
        if m:
            tables.append((m.group(1), int(m.group(3)), bytearray()))
            continue
        m = LINE.search(raw)
        if m and tables and tables[-1][0] == m.group(1):
            sig, length, data = tables[-1]
            if int(m.group(2), 16) != len(data):
                raise SystemExit(f"acpi-extract: {sig}: gap at offset {m.group(2)} (have {len(data)} bytes)")
            data.extend(bytes.fromhex(m.group(3)))
    return tables


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: acpi-extract.py SERIAL_LOG OUTDIR")
    out = Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    seen = {}
    for sig, length, data in extract(Path(sys.argv[1]).read_text(errors="replace")):
        if len(data) != length:
            raise SystemExit(f"acpi-extract: {sig}: {len(data)} bytes captured, header says {length}")
        n = seen.get(sig, 0)
        seen[sig] = n + 1
        name = f"{sig}.bin" if n == 0 else f"{sig}-{n}.bin"
        (out / name).write_bytes(bytes(data))
        print(f"{out / name}: {length} bytes")


if __name__ == "__main__":
    main()
