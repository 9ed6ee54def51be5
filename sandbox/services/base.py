"""A private local service: its own state directory, started detached, stopped by PID."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


class ServiceError(RuntimeError):
    """A service could not be started or stopped; the message says how to fix it."""


@dataclass(frozen=True)
class Status:
    name: str
    running: bool
    pid: int | None
    address: str
    state_dir: Path
    note: str = ""


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.2) -> bool:
    """True when something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        if sock.connect_ex((host, port)) != 0:
            return False
        # With no listener on a port in the ephemeral range, Linux can connect a socket to
        # itself (TCP simultaneous open); that is not a server.
        return bool(sock.getsockname() != sock.getpeername())


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_alive(pid: int) -> bool:
    """True for a live (non-zombie) process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    # state is the field after the parenthesised command name
    state = stat.rsplit(")", 1)[1].split()[0]
    if state in {"Z", "X"}:
        _reap(pid)
        return False
    return True


def process_cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return ""


def _reap(pid: int) -> None:
    """Collect a child we started ourselves so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def is_root() -> bool:
    return os.geteuid() == 0


def find_binary(names: list[str], extra_dirs: list[str], package: str) -> str:
    """Find a server binary, installing its Debian package when we are root on Debian."""
    for attempt in range(2):
        for name in names:
            found = shutil.which(name)
            if found:
                return found
            for folder in extra_dirs:
                for candidate in sorted(Path("/").glob(folder.lstrip("/")), reverse=True):
                    path = candidate / name
                    if path.exists():
                        return str(path)
        if attempt == 0 and is_root() and Path("/etc/debian_version").exists():
            print(f"{names[0]} not found: installing the Debian package {package} ...")
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
            done = subprocess.run(
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package],
                check=False,
                env=env,
            )
            if done.returncode != 0:
                break
        else:
            break
    raise ServiceError(
        f"{names[0]} is not installed. Install it with: sudo apt-get install -y {package}"
    )


class Service:
    """Base class: subclasses say how to prepare, launch, check and bootstrap."""

    name = "service"
    stop_signal = signal.SIGTERM
    start_timeout = 60.0

    def __init__(self, state_dir: Path, port: int) -> None:
        self.dir = state_dir
        self.port = port

    # -- to override -------------------------------------------------------------
    def prepare(self) -> None:
        """Create the state directory contents on first start."""

    def launch(self) -> None:
        """Start the server process detached; it must end up writing ``pid_file``."""
        raise NotImplementedError

    def ready(self) -> bool:
        return port_open(self.port)

    def bootstrap(self) -> None:
        """Idempotent setup after the server answers (users, databases, buckets)."""

    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    # -- lifecycle ---------------------------------------------------------------
    @property
    def pid_file(self) -> Path:
        return self.dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.dir / f"{self.name}.log"

    def owns(self, pid: int) -> bool:
        """Is pid our server (alive, and its command line names our state directory)?"""
        return process_alive(pid) and str(self.dir) in process_cmdline(pid)

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None
        return pid if self.owns(pid) else None

    def status(self) -> Status:
        pid = self.pid()
        note = ""
        if pid is None and port_open(self.port):
            note = f"port {self.port} is used by another process"
        return Status(self.name, pid is not None, pid, self.address(), self.dir, note)

    def start(self) -> Status:
        pid = self.pid()
        if pid is not None:
            self.bootstrap()
            return self.status()
        if port_open(self.port):
            raise ServiceError(
                f"{self.name}: port {self.port} on 127.0.0.1 is already used by another "
                f"process. Stop it, or pick a free port with "
                f"LAKESHOP_{self.name.upper()}_PORT=<port>."
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        self.pid_file.unlink(missing_ok=True)
        self.prepare()
        self.launch()
        self._wait(self.ready, f"{self.name} did not become ready")
        self.bootstrap()
        return self.status()

    def stop(self) -> bool:
        """Stop our server by PID. Returns False when it was not running."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, self.stop_signal)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process_alive(pid):
            time.sleep(0.05)
        if process_alive(pid):
            os.kill(pid, signal.SIGKILL)
            while process_alive(pid):
                time.sleep(0.05)
        _reap(pid)
        # A process that reads as a zombie may still be tearing down its other threads, and
        # its sockets close only when the last one exits (seen with SeaweedFS, a Go program):
        # wait until the port is free, so a restart or another server can bind it.
        deadline = time.monotonic() + 10
        while port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True

    def _wait(self, check: Callable[[], bool], message: str) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            try:
                if check():
                    return
            except Exception:
                pass
            time.sleep(0.1)
        tail = ""
        if self.log_file.exists():
            tail = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-15:])
        raise ServiceError(
            f"{message} within {self.start_timeout:.0f}s; log {self.log_file}:\n{tail}"
        )

    def spawn(self, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Run argv detached from our session, output to the log file."""
        with open(self.log_file, "ab") as log:
            return subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                env=env,
            )
