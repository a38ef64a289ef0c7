"""A GPT disk image for a USB stick, bootable by BIOS and by UEFI.

Layout (512-byte sectors, partitions aligned to 1 MiB):

    LBA 0          protective MBR; its first 440 bytes are GRUB's boot.img
    LBA 1-33       GPT header and partition entries (backup at the end)
    partition 1    BIOS boot partition (1 MiB) holding GRUB's i386-pc core.img
    partition 2    EFI system partition, FAT32 (efi_loader.esp_tree()):
                     /EFI/BOOT/BOOTX64.EFI   natsume.efi, the UEFI default boot file
                     /EFI/BOOT/natsume.cfg   its loader file
                     /natsume/...            the hypervisor, compiled partition file, guest images
                     /boot/grub/grub.cfg     GRUB's configuration for the BIOS path

UEFI firmware starts natsume.efi from the ESP. A BIOS runs boot.img from the
MBR, which reads the first sector of core.img (GRUB's diskboot.img) from the
BIOS boot partition; that one reads the rest of core.img by its blocklist.
core.img carries every module it needs and finds grub.cfg on the ESP of the
disk it was booted from ("(,gpt2)/boot/grub"), which loads the same /natsume
files by multiboot2 with the serial console on COM1.

What grub-bios-setup would do to a block device is done here to a plain file,
without root and without loop devices: sfdisk (util-linux, Debian `fdisk`)
writes the GPT, mtools (mformat, mmd, mcopy with `-i IMAGE@@OFFSET`) makes and
fills the FAT, and the two GRUB images are patched in Python. The offsets come
from GRUB's public source: include/grub/i386/pc/boot.h (boot.img fields),
grub-core/boot/i386/pc/boot.S and diskboot.S (their layout), include/grub/
offsets.h (the blocklist entry and core.img's header) and util/setup.c (what
grub-bios-setup writes where); they are checked against the installed images
before anything is patched."""

import json
import os
import shutil
import struct
import subprocess
from pathlib import Path

from . import efi_loader
from .iso import GRUB_I386_PC, BootSpec, IsoError, grub_cfg

SECTOR = 512
MIB_SECTORS = (1 << 20) // SECTOR
BIOS_BOOT_TYPE = "21686148-6449-6E6F-744E-656564454649"   # "Hah!IdontNeedEFI"
ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
BIOS_BOOT_START = MIB_SECTORS            # LBA 2048
BIOS_BOOT_SECTORS = MIB_SECTORS          # 1 MiB, what GRUB recommends
ESP_START = BIOS_BOOT_START + BIOS_BOOT_SECTORS
ESP_PARTITION = 2                        # GRUB's gpt2
ESP_MIN_MIB = 64                         # comfortably above FAT32's 65525-cluster minimum
ESP_LABEL = "NATSUME"
GRUB_CFG_PATH = ("boot", "grub", "grub.cfg")   # on the ESP
# core.img's built-in modules: it loads none from disk.
GRUB_DISK_MODULES = "biosdisk part_gpt fat multiboot2 normal serial terminal configfile boot echo"

# --- boot.img (include/grub/i386/pc/boot.h, grub-core/boot/i386/pc/boot.S) ---
BOOT_BPB_START = 0x03          # GRUB_BOOT_MACHINE_BPB_START: kept from the disk
BOOT_BPB_END = 0x5A            # GRUB_BOOT_MACHINE_BPB_END
BOOT_KERNEL_SECTOR = 0x5C      # GRUB_BOOT_MACHINE_KERNEL_SECTOR: u64 LE, LBA of core.img's first sector
BOOT_BOOT_DRIVE = 0x64         # GRUB_BOOT_MACHINE_BOOT_DRIVE: 0xFF = the drive the BIOS booted from
BOOT_DRIVE_CHECK = 0x66        # GRUB_BOOT_MACHINE_DRIVE_CHECK: a 2-byte jmp, nop'ed for hard disks
BOOT_CODE_END = 0x1B8          # GRUB_BOOT_MACHINE_WINDOWS_NT_MAGIC: disk signature and partition
                               # table from here to 0x1FE are kept from the disk
# --- core.img: its first sector is diskboot.img (grub-core/boot/i386/pc/diskboot.S,
# struct grub_pc_bios_boot_blocklist in include/grub/offsets.h) ---
BLOCKLIST_ENTRY = struct.Struct("<QHH")  # start LBA, sector count, load segment; 12 bytes
BLOCKLIST_FIRST = SECTOR - BLOCKLIST_ENTRY.size   # 0x1F4; further entries grow downwards
KERNEL_SEG = 0x800             # GRUB_BOOT_I386_PC_KERNEL_SEG: diskboot.img itself loads at 0x8000
FIRST_LOAD_SEG = KERNEL_SEG + (SECTOR >> 4)   # 0x820: the rest of core.img follows it
NO_RS_LENGTH = SECTOR + 0x14   # GRUB_KERNEL_I386_PC_NO_REED_SOLOMON_LENGTH: 0xFFFF = version mismatch
# core.img is loaded from 0x8000 and must stay below 0x78000 (util/setup.c).
CORE_MAX_SECTORS = 1 + (0x78000 - 0x9000) // SECTOR


def _run(cmd: list, what: str, env=None) -> str:
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env)
    except FileNotFoundError:
        pkg = {"sfdisk": "fdisk", "grub-mkimage": "grub-common"}.get(Path(cmd[0]).name, "mtools")
        raise IsoError(f"{cmd[0]} is not installed (Debian: {pkg}); it is needed for {what}")
    if proc.returncode != 0:
        raise IsoError(f"{what} failed: {' '.join(cmd)} (exit {proc.returncode}):\n"
                       + proc.stdout + proc.stderr)
    return proc.stdout


def _mtools_env() -> dict:
    # The FAT is inside a partition, not on a floppy: no geometry checks.
    return dict(os.environ, MTOOLS_SKIP_CHECK="1", LC_ALL="C")


def grub_core_image(work_dir: Path) -> Path:
    """GRUB i386-pc core.img with every module built in, finding grub.cfg on
    the ESP of the disk the BIOS booted from."""
    if not (GRUB_I386_PC / "boot.img").is_file():
        raise IsoError(f"GRUB for i386-pc is not installed ({GRUB_I386_PC}; Debian: grub-pc-bin)")
    core = work_dir / "core.img"
    prefix = f"(,gpt{ESP_PARTITION})/{'/'.join(GRUB_CFG_PATH[:-1])}"
    _run(["grub-mkimage", "-O", "i386-pc", "-d", str(GRUB_I386_PC), "-p", prefix,
          "-o", str(core), *GRUB_DISK_MODULES.split()], "grub-mkimage (i386-pc core.img)")
    return core


def patch_boot_sector(disk_sector0: bytes, boot_img: bytes, core_lba: int) -> bytes:
    """boot.img merged into the disk's sector 0 as grub-bios-setup does it:
    GRUB's code, with the BPB area and the disk signature + partition table
    (here the protective MBR) kept from the disk, the kernel sector set to
    core.img's LBA, "boot from the BIOS boot drive", and the floppy drive
    check disabled (a USB stick is a hard disk; some BIOSes pass DL=0)."""
    if len(boot_img) != SECTOR or boot_img[0x1FE:] != b"\x55\xaa":
        raise IsoError("GRUB's boot.img is not a 512-byte boot sector")
    if (struct.unpack_from("<Q", boot_img, BOOT_KERNEL_SECTOR)[0] != 1 or boot_img[BOOT_BOOT_DRIVE] != 0xFF
            or boot_img[BOOT_DRIVE_CHECK] != 0xEB):
        raise IsoError("GRUB's boot.img does not have the layout this tool patches (kernel sector at "
                       f"{BOOT_KERNEL_SECTOR:#x}, boot drive at {BOOT_BOOT_DRIVE:#x}, drive check jmp at "
                       f"{BOOT_DRIVE_CHECK:#x}); is it GRUB 2's i386-pc boot.img?")
    if len(disk_sector0) != SECTOR or disk_sector0[0x1FE:] != b"\x55\xaa":
        raise IsoError("the disk image has no protective MBR in sector 0")
    mbr = bytearray(boot_img)
    mbr[BOOT_BPB_START:BOOT_BPB_END] = disk_sector0[BOOT_BPB_START:BOOT_BPB_END]
    mbr[BOOT_CODE_END:] = disk_sector0[BOOT_CODE_END:]
    struct.pack_into("<Q", mbr, BOOT_KERNEL_SECTOR, core_lba)
    mbr[BOOT_BOOT_DRIVE] = 0xFF
    mbr[BOOT_DRIVE_CHECK:BOOT_DRIVE_CHECK + 2] = b"\x90\x90"
    return bytes(mbr)


def patch_core(core_img: bytes, core_lba: int) -> bytes:
    """core.img, padded to whole sectors, with diskboot.img's blocklist set
    to load sectors core_lba+1.. (the rest of core.img, contiguous in the
    BIOS boot partition) to segment 0x820, then a terminating empty entry."""
    sectors = (len(core_img) + SECTOR - 1) // SECTOR
    if sectors < 2:
        raise IsoError("GRUB's core.img is too small")
    if sectors > min(CORE_MAX_SECTORS, BIOS_BOOT_SECTORS):
        raise IsoError(f"GRUB's core.img has {sectors} sectors; at most "
                       f"{min(CORE_MAX_SECTORS, BIOS_BOOT_SECTORS)} fit (fewer modules in GRUB_DISK_MODULES)")
    start, _, segment = BLOCKLIST_ENTRY.unpack_from(core_img, BLOCKLIST_FIRST)
    if start != 2 or segment != FIRST_LOAD_SEG:
        raise IsoError("GRUB's core.img does not begin with the diskboot.img this tool patches "
                       f"(first blocklist at {BLOCKLIST_FIRST:#x}: start {start}, segment {segment:#x})")
    if struct.unpack_from("<H", core_img, NO_RS_LENGTH)[0] == 0xFFFF:
        raise IsoError("GRUB's core.img version mismatch (no Reed-Solomon length)")
    core = bytearray(core_img) + bytes(sectors * SECTOR - len(core_img))
    # Clear every entry (grub-mkimage filled the first), then write one.
    at = BLOCKLIST_FIRST
    while at > 0 and BLOCKLIST_ENTRY.unpack_from(core, at)[1]:
        BLOCKLIST_ENTRY.pack_into(core, at, 0, 0, 0)
        at -= BLOCKLIST_ENTRY.size
    BLOCKLIST_ENTRY.pack_into(core, BLOCKLIST_FIRST, core_lba + 1, sectors - 1, FIRST_LOAD_SEG)
    if BLOCKLIST_ENTRY.unpack_from(core, BLOCKLIST_FIRST - BLOCKLIST_ENTRY.size)[1] != 0:
        raise IsoError("GRUB's core.img has no blocklist terminator")
    return bytes(core)


def write_gpt(image: Path, esp_sectors: int) -> None:
    """The two partitions, by sfdisk on the plain file, then read back."""
    script = "\n".join([
        "label: gpt",
        "unit: sectors",
        f'start={BIOS_BOOT_START}, size={BIOS_BOOT_SECTORS}, type={BIOS_BOOT_TYPE}, name="BIOS boot"',
        f'start={ESP_START}, size={esp_sectors}, type={ESP_TYPE}, name="EFI system"',
        ""])
    env = dict(os.environ, LC_ALL="C")
    try:
        proc = subprocess.run(["sfdisk", "--no-reread", "--no-tell-kernel", "--quiet", str(image)],
                              input=script, capture_output=True, text=True, env=env)
    except FileNotFoundError:
        raise IsoError("sfdisk is not installed (Debian: fdisk); it writes the disk image's GPT")
    if proc.returncode != 0:
        raise IsoError(f"sfdisk failed on {image} (exit {proc.returncode}):\n" + proc.stdout + proc.stderr)
    table = json.loads(_run(["sfdisk", "--json", str(image)], "sfdisk --json", env=env))["partitiontable"]
    got = [(p["start"], p["size"], p["type"].upper()) for p in table.get("partitions", [])]
    want = [(BIOS_BOOT_START, BIOS_BOOT_SECTORS, BIOS_BOOT_TYPE), (ESP_START, esp_sectors, ESP_TYPE)]
    if table.get("label") != "gpt" or got != want:
        raise IsoError(f"sfdisk wrote an unexpected partition table on {image}: {table}")


def fill_esp(image: Path, sectors: int, tree: Path) -> None:
    """FAT32 on partition 2 of `image` (mformat), then `tree` copied into it
    directory by directory (mmd, mcopy)."""
    env = _mtools_env()
    target = f"{image}@@{ESP_START * SECTOR}"
    _run(["mformat", "-i", target, "-F", "-T", str(sectors), "-h", "64", "-s", "32",
          "-H", str(ESP_START), "-v", ESP_LABEL, "::"], "mformat (the EFI system partition)", env)
    dirs = sorted(p for p in tree.rglob("*") if p.is_dir())
    if dirs:
        _run(["mmd", "-i", target, *[f"::/{d.relative_to(tree).as_posix()}" for d in dirs]],
             "mmd (the EFI system partition's directories)", env)
    for d in [tree] + dirs:
        files = sorted(str(f) for f in d.iterdir() if f.is_file())
        if files:
            dest = "::/" + (d.relative_to(tree).as_posix() if d != tree else "")
            _run(["mcopy", "-i", target, "-Q", *files, dest], f"mcopy into {dest}", env)


def esp_sectors_for(tree: Path) -> int:
    """The ESP's size: twice its contents plus 8 MiB, at least ESP_MIN_MIB,
    in whole MiB."""
    content = sum(f.stat().st_size for f in tree.rglob("*") if f.is_file())
    mib = max(ESP_MIN_MIB, (2 * content + (1 << 20) - 1) // (1 << 20) + 8)
    return mib * MIB_SECTORS


def build_disk(spec: BootSpec, loader: Path, work_dir: Path) -> Path:
    """Builds work_dir/disk.img from spec, with `loader` (natsume.efi) as the
    UEFI default boot file; returns its path."""
    tree = efi_loader.esp_tree(spec, loader, work_dir / "esp-root")
    cfg = tree.joinpath(*GRUB_CFG_PATH)
    cfg.parent.mkdir(parents=True)
    cfg.write_text(grub_cfg(spec, files_dir=f"/{efi_loader.FILES_DIR}"))
    boot_img = (GRUB_I386_PC / "boot.img")
    if not boot_img.is_file():
        raise IsoError(f"GRUB for i386-pc is not installed ({GRUB_I386_PC}; Debian: grub-pc-bin)")
    core = patch_core(grub_core_image(work_dir).read_bytes(), BIOS_BOOT_START)

    esp_sectors = esp_sectors_for(tree)
    # One MiB after the ESP holds the backup GPT (its last 33 sectors).
    total = ESP_START + esp_sectors + MIB_SECTORS
    image = work_dir / "disk.img"
    if image.exists():
        image.unlink()
    with open(image, "wb") as f:
        f.truncate(total * SECTOR)
    write_gpt(image, esp_sectors)
    fill_esp(image, esp_sectors, tree)
    with open(image, "r+b") as f:
        sector0 = f.read(SECTOR)
        f.seek(0)
        f.write(patch_boot_sector(sector0, boot_img.read_bytes(), BIOS_BOOT_START))
        f.seek(BIOS_BOOT_START * SECTOR)
        f.write(core)
    return image
