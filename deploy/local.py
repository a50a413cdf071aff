"""Throwaway servers on loopback: the shared services of the stack, for tests and `make stack`.

Each server runs from its own directory and is stopped by the PID it wrote there, so
nothing outside that directory (no system service, no fixed port) is touched.
"""

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

POSTGRES_BIN = Path(os.environ.get("POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class ServiceUnavailable(RuntimeError):
    """A server the project needs is not installed; the message says how to get it."""


def free_port() -> int:
    """A port the OS just handed out, so parallel runs never collide on a fixed one."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root, so root runs it as the postgres user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class Postgres:
    """A PostgreSQL 15 cluster in `directory`, listening on 127.0.0.1:`port`."""

    directory: Path
    port: int

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def url(self, database: str = "webshop") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> "Postgres":
        if not (POSTGRES_BIN / "pg_ctl").exists():
            raise ServiceUnavailable(
                f"PostgreSQL 15 binaries not found in {POSTGRES_BIN}: "
                "install the postgresql-15 package or set POSTGRES_BIN."
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        if not self.data.exists():
            subprocess.run(
                _as_postgres(
                    [str(POSTGRES_BIN / "initdb"), "-D", str(self.data), "-A", "trust"]
                    + ["-U", "postgres", "--no-sync", "-E", "UTF8", "--locale", "C.UTF-8"]
                ),
                check=True,
                capture_output=True,
            )
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=300"
        )
        self._pg_ctl("start", "-l", str(self.directory / "postgres.log"), "-o", options)
        return self

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg_ctl("stop", "-m", "fast")

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            _as_postgres([str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data), "-w", *args]),
            check=True,
            capture_output=True,
        )

    def create_database(self, name: str) -> None:
        subprocess.run(
            _as_postgres(
                [str(POSTGRES_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port)]
                + ["-U", "postgres", name]
            ),
            check=True,
            capture_output=True,
        )


@dataclass
class Redis:
    """A Redis server in `directory` on 127.0.0.1:`port`, configured like ElastiCache here:
    no persistence (sessions survive a restart through PostgreSQL) and LRU eviction."""

    directory: Path
    port: int

    @property
    def pidfile(self) -> Path:
        return self.directory / "redis.pid"

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> "Redis":
        if not Path(REDIS_SERVER).exists():
            raise ServiceUnavailable(
                "redis-server not found: run `make system-packages` (apt-get install redis-server)."
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--maxmemory", "256mb"]
            + ["--maxmemory-policy", "allkeys-lru", "--dir", str(self.directory)]
            + ["--daemonize", "yes", "--pidfile", str(self.pidfile)]
            + ["--logfile", str(self.directory / "redis.log")],
            check=True,
            capture_output=True,
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        stop_pidfile(self.pidfile)


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
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
