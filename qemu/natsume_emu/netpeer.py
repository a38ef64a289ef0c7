"""A network peer for an emulated NIC, outside the guest: a network namespace
of its own holding a persistent tap device with an address, and an iperf3
server bound to that address. Bochs, started inside the namespace
(`ip netns exec NAME bochs-bin ...`, BochsConfig.netns), opens the tap through
its `tuntap` backend (`ethmod=tuntap, ethdev=/dev/net/tun:tap0`), so the guest
gets a real Ethernet link to the host kernel's TCP/IP stack in that namespace.

Used as a context manager; whatever ends the body (a normal return, an
exception, a timeout, Ctrl-C, SIGTERM) the iperf3 server is killed and the
namespace deleted, which removes the tap. Namespaces left by a run that was
killed outright (SIGKILL) are named natsume-PID-N; the next peer deletes those
whose PID is gone. Every address lives only in the namespace, so two peers (two
runs in parallel) never meet, and the traffic never leaves this machine.

Needs root and /dev/net/tun; installs iproute2 and iperf3 when they are missing
(apt-get, as ./natsume does), or says why it cannot."""

import os
import re
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

PEER_IP = "192.168.20.1"
PREFIX = 24
TAP = "tap0"
IPERF_PORT = 5201
# Longest the iperf3 server may live, whatever happens to the harness: it is
# started under timeout(1), so it stops by itself even if nothing kills it.
DEFAULT_LIFETIME = 3600.0
# How long the server may take to say it is listening.
LISTEN_WAIT_SECONDS = 15.0
LISTENING = "Server listening on"
NAME_PREFIX = "natsume"
_STALE = re.compile(rf"^{NAME_PREFIX}-(\d+)-\d+$")
# Tool -> the Debian package that has it.
TOOLS = {"ip": "iproute2", "iperf3": "iperf3", "timeout": "coreutils"}
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/bin", "/bin"])


class NetPeerError(RuntimeError):
    """The peer could not be set up (not root, no /dev/net/tun, a tool missing, a command failed)."""


@dataclass(frozen=True)
class Peer:
    """What a caller of NetPeer gets: where the peer is and how to reach it."""
    netns: str          # the network namespace (ip netns exec NETNS ...)
    tap: str            # the tap device in it, for Bochs' ethdev=/dev/net/tun:TAP
    ip: str             # the peer's address on the tap
    prefix: int
    port: int           # the iperf3 server's TCP port
    log_path: Path      # the iperf3 server's own output

    @property
    def exec_prefix(self) -> list:
        return ["ip", "netns", "exec", self.netns]

    def server_log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


class Host:
    """What a NetPeer does to the machine, in one place so that tests can
    replace it with a recording fake."""

    def run(self, cmd: list, check: bool = True) -> subprocess.CompletedProcess:
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  env=dict(os.environ, PATH=SEARCH_PATH))
        except FileNotFoundError as e:
            raise NetPeerError(f"{cmd[0]}: not found ({e})") from None
        if check and proc.returncode != 0:
            raise NetPeerError(f"'{' '.join(cmd)}' failed (exit {proc.returncode}): "
                               f"{(proc.stderr or proc.stdout).strip()}")
        return proc

    def start(self, cmd: list, log_path: Path):
        with open(log_path, "wb") as log:
            return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True, env=dict(os.environ, PATH=SEARCH_PATH))

    def stop(self, proc) -> None:
        """SIGTERM to the server's process group, SIGKILL if it lingers."""
        if proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 3), (signal.SIGKILL, 10)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue

    def netns_names(self) -> list:
        out = self.run(["ip", "netns", "list"]).stdout
        return [line.split()[0] for line in out.splitlines() if line.strip()]

    def pid_alive(self, pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def preflight(self) -> None:
        require_root()
        require_tun()
        ensure_tools(self)


def require_root() -> None:
    if os.geteuid() != 0:
        raise NetPeerError("the network peer needs root: it creates a network namespace and a tap device "
                           "(ip netns add, ip tuntap add); run as root, or use a scenario on Bochs' vnet backend")


def require_tun(path: str = "/dev/net/tun") -> None:
    if not os.path.exists(path):
        raise NetPeerError(f"{path} is missing: the kernel's TUN/TAP driver is needed for the tap device "
                           f"(modprobe tun, or in a container pass the device in)")


def missing_packages() -> list:
    return sorted({pkg for tool, pkg in TOOLS.items() if shutil.which(tool, path=SEARCH_PATH) is None})


def ensure_tools(host: Host) -> None:
    """Installs iproute2 and iperf3 when missing, the way ./natsume installs its packages."""
    missing = missing_packages()
    if not missing:
        return
    if shutil.which("apt-get", path=SEARCH_PATH) is None:
        raise NetPeerError(f"the network peer needs {', '.join(missing)} and this machine has no apt-get "
                           f"to install them: install them by hand")
    print(f"netpeer: installing missing Debian packages: {' '.join(missing)}", flush=True)
    env = ["env", "DEBIAN_FRONTEND=noninteractive"]
    try:
        host.run(env + ["apt-get", "update", "-q"])
        host.run(env + ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing])
    except NetPeerError as e:
        raise NetPeerError(f"could not install {', '.join(missing)} for the network peer: {e}") from None
    still = missing_packages()
    if still:
        raise NetPeerError(f"apt-get installed {', '.join(missing)} but these are still missing: "
                           f"{', '.join(still)}")


_counter = 0
_counter_lock = threading.Lock()


def next_name(existing) -> str:
    """natsume-PID-N, unused so far."""
    global _counter
    with _counter_lock:
        while True:
            _counter += 1
            name = f"{NAME_PREFIX}-{os.getpid()}-{_counter}"
            if name not in existing:
                return name


def reap_stale(host: Host) -> list:
    """Deletes natsume-PID-N namespaces whose PID has gone (a run killed
    outright could not clean up). Returns the names deleted."""
    gone = []
    for name in host.netns_names():
        m = _STALE.match(name)
        if m and int(m.group(1)) != os.getpid() and not host.pid_alive(int(m.group(1))):
            if host.run(["ip", "netns", "del", name], check=False).returncode == 0:
                gone.append(name)
    return gone


def valid_ifname(name: str) -> bool:
    # IFNAMSIZ is 16 with the NUL; Bochs splits ethdev at ':' and bochsrc at ','.
    return 0 < len(name) <= 15 and re.fullmatch(r"[A-Za-z0-9_.-]+", name) is not None


class NetPeer:
    """with NetPeer(run_dir) as peer: ... Bochs in peer.netns, e1000 on peer.tap ..."""

    def __init__(self, run_dir: Path, tap: str = TAP, ip: str = PEER_IP, prefix: int = PREFIX,
                 port: int = IPERF_PORT, iperf: bool = True, lifetime: float = DEFAULT_LIFETIME,
                 host: Optional[Host] = None, trap_sigterm: bool = True):
        if not valid_ifname(tap):
            raise NetPeerError(f"tap device name '{tap}' is not a valid interface name (1-15 of A-Z a-z 0-9 _ . -)")
        self.run_dir = Path(run_dir)
        self.tap, self.ip, self.prefix, self.port = tap, ip, prefix, port
        self.iperf, self.lifetime = iperf, lifetime
        self.host = host or Host()
        self.trap_sigterm = trap_sigterm
        self.netns: Optional[str] = None
        self.server = None
        self.peer: Optional[Peer] = None
        self.reaped: list = []
        self._old_sigterm = None

    @property
    def log_path(self) -> Path:
        return self.run_dir / "iperf3-server.log"

    def iperf_command(self) -> list:
        return ["ip", "netns", "exec", self.netns, "timeout", "-k", "5", f"{self.lifetime:.0f}",
                "iperf3", "-s", "-1", "-B", self.ip, "-p", str(self.port), "-f", "m", "--forceflush"]

    def setup_commands(self) -> list:
        ns = self.netns
        return [["ip", "-n", ns, "link", "set", "lo", "up"],
                ["ip", "-n", ns, "tuntap", "add", "dev", self.tap, "mode", "tap"],
                ["ip", "-n", ns, "addr", "add", f"{self.ip}/{self.prefix}", "dev", self.tap],
                ["ip", "-n", ns, "link", "set", self.tap, "up"]]

    def __enter__(self) -> Peer:
        self._install_sigterm()
        try:
            self._create()
        except BaseException:
            self.close()
            raise
        return self.peer

    def __exit__(self, *exc) -> bool:
        self.close()
        return False

    def _create(self) -> None:
        self.host.preflight()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.reaped = reap_stale(self.host)
        if self.reaped:
            say(f"deleted stale network namespaces of runs that are gone: {' '.join(self.reaped)}")
        existing = set(self.host.netns_names())
        for _ in range(20):
            name = next_name(existing)
            if self.host.run(["ip", "netns", "add", name], check=False).returncode == 0:
                self.netns = name
                break
            existing.add(name)
        else:
            self.host.run(["ip", "netns", "add", next_name(existing)])   # raises with ip's own message
        for cmd in self.setup_commands():
            self.host.run(cmd)
        # No IPv6 chatter (router solicitations, DAD) on a link whose receive
        # side takes one frame per emulated millisecond.
        self.host.run(["ip", "netns", "exec", self.netns, "sysctl", "-q", "-w",
                       f"net.ipv6.conf.{self.tap}.disable_ipv6=1"], check=False)
        self.peer = Peer(self.netns, self.tap, self.ip, self.prefix, self.port, self.log_path)
        say(f"network namespace {self.netns}: {self.tap} {self.ip}/{self.prefix}")
        if self.iperf:
            self.server = self.host.start(self.iperf_command(), self.log_path)
            self._wait_listening()
            say(f"iperf3 server on {self.ip}:{self.port} (one test, at most {self.lifetime:.0f} s; "
                f"log {self.log_path})")

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + LISTEN_WAIT_SECONDS
        while time.monotonic() < deadline:
            if LISTENING in self.peer.server_log():
                return
            if self.server.poll() is not None:
                raise NetPeerError(f"iperf3 -s in {self.netns} exited (status {self.server.returncode}) "
                                   f"before listening: {self.peer.server_log().strip()[-500:]}")
            time.sleep(0.1)
        raise NetPeerError(f"iperf3 -s in {self.netns} did not say '{LISTENING}' within "
                           f"{LISTEN_WAIT_SECONDS:.0f} s: {self.peer.server_log().strip()[-500:]}")

    def close(self) -> None:
        """Kills the server and deletes the namespace (and with it the tap);
        safe to call more than once and after a partial set-up."""
        try:
            if self.server is not None:
                self.host.stop(self.server)
                self.server = None
            if self.netns is not None:
                name, self.netns = self.netns, None
                proc = self.host.run(["ip", "netns", "del", name], check=False)
                if proc.returncode != 0:
                    say(f"warning: could not delete network namespace {name}: {proc.stderr.strip()}")
                else:
                    say(f"network namespace {name} deleted")
        finally:
            self._restore_sigterm()

    # SIGTERM (a test runner's stop) would end Python without running the
    # with-statement's exit; while the peer exists it raises SystemExit instead.
    def _install_sigterm(self) -> None:
        if not self.trap_sigterm or threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return

        def on_term(signum, frame):
            raise SystemExit(128 + signum)
        self._old_sigterm = signal.signal(signal.SIGTERM, on_term)

    def _restore_sigterm(self) -> None:
        if self._old_sigterm is not None:
            signal.signal(signal.SIGTERM, self._old_sigterm)
            self._old_sigterm = None


def say(msg: str) -> None:
    print(f"netpeer: {msg}", flush=True)
