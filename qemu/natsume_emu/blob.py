"""Reader for the compiled partition file (include/natsume/config_blob.h).

The harness needs the image names to decide which multiboot2 modules to put
on the ISO, and the partition table to label the demo output."""

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

CONFIG_MAGIC = 0x4746435355544E41   # NATSUME_CONFIG_MAGIC, "ANTUSCFG"
CONFIG_VERSION = 4
# struct natsume_config_header: magic, version, header_size, partition_size,
# partition_count, total_size, crc32, name[32], channel_size, channel_count
HEADER = struct.Struct("<QIIIIII32sII")
CRC_OFFSET = 28
# The leading fields of struct natsume_config_partition: name[32], image[64],
# cmdline[256], ram_base, ram_size, core_count, cores[8], lapic_mode, flags,
# kind, dma_base, dma_size; the initramfs name (version 4) at INITRAMFS_OFFSET. The stride between
# partitions is the header's partition_size.
PARTITION = struct.Struct("<32s64s256sQQI8IIIIQQ")
INITRAMFS_OFFSET = 568
INITRAMFS = struct.Struct("<64s")
KIND_LINUX = 1


class BlobError(ValueError):
    pass


@dataclass
class Partition:
    name: str
    image: str
    cmdline: str
    ram_base: int
    ram_size: int
    cores: list
    kind: int = 0
    initramfs: str = ""
    dma_base: int = 0       # identity DMA window (a Linux partition's main memory), 0/0 when absent
    dma_size: int = 0

    def host_end(self) -> int:
        """The end of the host memory it uses: its RAM and its DMA window."""
        return max(self.ram_base + self.ram_size, self.dma_base + self.dma_size)


@dataclass
class Blob:
    name: str
    partitions: list

    def images(self) -> list:
        """Distinct module names (guest images, Linux kernels and initramfs files), in partition order."""
        seen = []
        for p in self.partitions:
            for name in (p.image, p.initramfs):
                if name and name not in seen:
                    seen.append(name)
        return seen


def _cstr(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("ascii", errors="replace")


def parse_blob(data: bytes) -> Blob:
    if len(data) < HEADER.size:
        raise BlobError("shorter than the header")
    magic, version, hsize, psize, count, total, crc, name, csize, channels = HEADER.unpack_from(data)
    if magic != CONFIG_MAGIC:
        raise BlobError(f"bad magic {magic:#x}")
    if version != CONFIG_VERSION:
        raise BlobError(f"version {version}, expected {CONFIG_VERSION}")
    if hsize != HEADER.size or psize < INITRAMFS_OFFSET + INITRAMFS.size:
        raise BlobError(f"layout sizes {hsize}/{psize}, expected {HEADER.size}/>={INITRAMFS_OFFSET + INITRAMFS.size}")
    if total != hsize + count * psize + channels * csize or total > len(data):
        raise BlobError(f"total_size {total} does not match {count} partitions, {channels} channels / "
                        f"{len(data)} bytes")
    zeroed = data[:CRC_OFFSET] + b"\0\0\0\0" + data[CRC_OFFSET + 4:total]
    if zlib.crc32(zeroed) & 0xFFFFFFFF != crc:
        raise BlobError("crc32 mismatch")
    parts = []
    for i in range(count):
        f = PARTITION.unpack_from(data, hsize + i * psize)
        core_count = f[5]
        (initramfs,) = INITRAMFS.unpack_from(data, hsize + i * psize + INITRAMFS_OFFSET)
        parts.append(Partition(name=_cstr(f[0]), image=_cstr(f[1]), cmdline=_cstr(f[2]),
                               ram_base=f[3], ram_size=f[4],
                               cores=list(f[6:6 + min(core_count, 8)]), kind=f[16],
                               initramfs=_cstr(initramfs), dma_base=f[17], dma_size=f[18]))
    return Blob(name=_cstr(name), partitions=parts)


def read_blob(path: Path) -> Blob:
    return parse_blob(Path(path).read_bytes())
