"""Processes on loopback: free ports, readiness, pidfiles, stopping by PID.

Every throwaway server here runs from its own directory and is stopped by the PID it wrote
there, so nothing outside that directory (no system service, no fixed port) is touched.
"""

import http.client
import os
import random
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path


class ServiceUnavailable(RuntimeError):
    """A server the project needs is not installed; the message says how to get it."""


def free_port() -> int:
    """A port the OS just handed out, so parallel runs never collide on a fixed one."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_low_port(taken: set[int] | None = None) -> int:
    """A free port below the kernel's range for client sockets (32768-60999), for a server
    that is restarted on the same port: in that range a client socket could take the port
    while the server is down."""
    taken = taken if taken is not None else set()
    for _ in range(500):
        port = random.randint(20000, 32000)  # noqa: S311 (spreading ports, not a secret)
        if port in taken:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port
    raise RuntimeError("no free port between 20000 and 32000")


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def stop_pidfile(pidfile: Path, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    """Stop the process whose PID is in `pidfile` and wait until it is gone."""
    try:
        pid = int(pidfile.read_text().strip())
    except (FileNotFoundError, ValueError):
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    if not wait_for_exit(pid, timeout):
        os.kill(pid, signal.SIGKILL)
        wait_for_exit(pid, 5)


def process_alive(pid: int) -> bool:
    """True while `pid` runs. An exited process that nobody reaped (a zombie: daemons that
    forked are reparented to PID 1, which does not reap on every machine) counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_for_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while process_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def start_detached(command: list[str], *, pidfile: Path, log: Path, **popen) -> int:
    """Start `command` in its own session (so it outlives the caller and can be signalled as
    a group), output appended to `log`; write its PID to `pidfile` and return it."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **popen,
        )
    pidfile.write_text(f"{process.pid}\n")
    return process.pid


def start_group(
    command: list[str],
    *,
    cwd: Path,
    environment: dict[str, str],
    log: Path,
    ready: Callable[[], bool],
    timeout: float,
    name: str,
) -> subprocess.Popen:
    """Start `command` in its own process group (stopped as one by `stop_group`), output
    appended to `log`, and return once `ready()` is true; if it exits first, or is not
    ready within `timeout` (then it is killed), raise with the end of its log."""
    with log.open("ab") as out:  # O_APPEND: every process's lines land whole
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env={**os.environ, **environment},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited: {log.read_text()[-2000:]}")
        if ready():
            return process
        time.sleep(0.05)
    stop_group(process, signal.SIGKILL)
    raise TimeoutError(f"{name} was not ready within {timeout} s; see {log}")


def stop_group(process: subprocess.Popen | None, sig: int = signal.SIGTERM) -> None:
    """Signal a process group that `start_group` started and wait for its leader."""
    if process is not None and process.poll() is None:
        os.killpg(process.pid, sig)
        process.wait(timeout=40)


def read_pid(pidfile: Path) -> int | None:
    """The PID on `pidfile`'s first line if that process still runs, else None."""
    try:
        pid = int(pidfile.read_text().split("\n", 1)[0])
    except (FileNotFoundError, ValueError):
        return None
    return pid if process_alive(pid) else None


def answers(url: str, timeout: float = 1.0) -> bool:
    """True if `url` answers 200 within `timeout` (not listening yet, or workers still
    importing, is False)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback)
            return response.status == 200
    except (OSError, http.client.HTTPException):
        return False
