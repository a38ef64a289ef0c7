"""A UDP flood into one of Bochs' NICs from outside the guest: a thread of the
harness sends Ethernet frames (IPv4/UDP, 1514 bytes, addressed to the NIC's
MAC) as UDP datagrams to 127.0.0.1:PORT, where the card's `socket` backend
receives them. Bochs takes one datagram per 1000 us of emulated time, so the
flood reaches the guest at about 1000 frames per emulated second whatever the
sending rate; the sender paces itself to stay ahead of that without burning
the host's cores. Used as a context manager, so the thread and its socket are
gone when the run ends, however it ends."""

import socket
import struct
import threading
import time


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that nothing holds now, with the next one free
    as well (Bochs sends the card's frames to port + 1)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port >= 65534:
            continue
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as t:
                t.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise OSError("no pair of free UDP ports on 127.0.0.1")


def ip_checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def flood_frame(dst_mac: str, payload: int = 1472) -> bytes:
    """One Ethernet frame: 02:00:00:00:00:aa (10.9.0.2) to `dst_mac`
    (10.9.0.1), UDP port 9 (discard)."""
    dst = bytes(int(b, 16) for b in dst_mac.split(":"))
    src = bytes([0x02, 0, 0, 0, 0, 0xAA])
    udp = struct.pack("!HHHH", 5002, 9, 8 + payload, 0) + bytes(i & 0xFF for i in range(payload))
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes([10, 9, 0, 2]), bytes([10, 9, 0, 1]))
    ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
    return dst + src + b"\x08\x00" + ip + udp


class Flooder:
    """Sends `rate` frames per wall second to 127.0.0.1:`port` until closed."""

    def __init__(self, port: int, dst_mac: str, rate: int = 2000):
        self.port, self.rate, self.sent = port, rate, 0
        self.frame = flood_frame(dst_mac)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="natsume-flood", daemon=True)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def _run(self) -> None:
        batch = max(1, self.rate // 100)
        while not self._stop.wait(0.01):
            for _ in range(batch):
                try:
                    self._sock.sendto(self.frame, ("127.0.0.1", self.port))
                    self.sent += 1
                except OSError:
                    break  # nothing bound yet (Bochs still starting), or the buffer is full

    def __enter__(self) -> "Flooder":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()
