"""Disk images for the IDE tests: every 512-byte sector starts with its own
LBA (8 bytes, little-endian) followed by bytes (offset ^ LBA) & 0xff, so a
reader can check any sector it reads without another copy of the image.
The geometry is Bochs' flat-image CHS: 16 heads, 63 sectors a track."""

from pathlib import Path

SECTOR = 512
HEADS, SPT = 16, 63


def cylinders_for(mib: int) -> int:
    return max(1, (mib << 20) // (SECTOR * HEADS * SPT))


def sectors_for(mib: int) -> int:
    return cylinders_for(mib) * HEADS * SPT


def sector(lba: int) -> bytes:
    low = lba & 0xFF
    return lba.to_bytes(8, "little") + bytes((i ^ low) & 0xFF for i in range(8, SECTOR))


def make_pattern_disk(path: Path, mib: int) -> int:
    """Writes the image (unless it is there with the right size); its sector count."""
    n = sectors_for(mib)
    path = Path(path)
    if path.exists() and path.stat().st_size == n * SECTOR:
        return n
    # The 256 possible tails, one per low byte of the LBA.
    tails = [sector(low)[8:] for low in range(256)]
    with path.open("wb") as f:
        for lba in range(n):
            f.write(lba.to_bytes(8, "little") + tails[lba & 0xFF])
    return n
