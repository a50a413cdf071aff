"""Throwaway servers on loopback: the shared services of the stack, for tests and `make stack`.

Each server runs from its own directory and is stopped by the PID it wrote there, so
nothing outside that directory (no system service, no fixed port) is touched.
"""

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
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
    no persistence (sessions survive a restart through PostgreSQL) and LRU eviction; with
    `password`, clients must AUTH, like ElastiCache's AUTH token (no TLS on loopback)."""

    directory: Path
    port: int
    password: str | None = None

    @property
    def pidfile(self) -> Path:
        return self.directory / "redis.pid"

    def url(self, db: int = 0) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/{db}"

    def start(self) -> "Redis":
        if not Path(REDIS_SERVER).exists():
            raise ServiceUnavailable(
                "redis-server not found: run `make system-packages` (apt-get install redis-server)."
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        config = []
        if self.password:  # in a file, not on the command line where `ps` shows it
            auth = self.directory / "auth.conf"
            auth.write_text(f"requirepass {self.password}\n")
            auth.chmod(0o600)
            config = [str(auth)]
        subprocess.run(
            [REDIS_SERVER, *config, "--port", str(self.port), "--bind", "127.0.0.1"]
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


def read_pid(pidfile: Path) -> int | None:
    """The PID on `pidfile`'s first line if that process still runs, else None."""
    try:
        pid = int(pidfile.read_text().split("\n", 1)[0])
    except (FileNotFoundError, ValueError):
        return None
    return pid if process_alive(pid) else None


@dataclass
class S3Server:
    """moto in server mode: an S3-compatible API over real HTTP on 127.0.0.1:`port`.

    In memory only, like a fresh account: whoever starts it creates the buckets.
    """

    directory: Path
    port: int

    @property
    def pidfile(self) -> Path:
        return self.directory / "moto.pid"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "S3Server":
        self.directory.mkdir(parents=True, exist_ok=True)
        start_detached(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            pidfile=self.pidfile,
            log=self.directory / "moto.log",
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        stop_pidfile(self.pidfile)


@dataclass
class LoadBalancer:
    """HAProxy in the ALB's role: round-robin without stickiness, shallow health checks on
    /healthz (thresholds scaled down from the ALB's), and the runtime API (stats socket) to
    drain a server the way the ALB deregisters a target."""

    directory: Path
    port: int
    servers: dict[str, int]  # name -> port on 127.0.0.1

    BACKEND = "app"

    @property
    def pidfile(self) -> Path:
        return self.directory / "haproxy.pid"

    @property
    def socket_path(self) -> Path:
        return self.directory / "admin.sock"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> str:
        servers = "".join(
            f"    server {name} 127.0.0.1:{port} check\n" for name, port in self.servers.items()
        )
        return HAPROXY_CONFIG.format(
            socket=self.socket_path, port=self.port, backend=self.BACKEND, servers=servers
        )

    def start(self) -> "LoadBalancer":
        if not Path(HAPROXY).exists():
            raise ServiceUnavailable(
                "haproxy not found: run `make system-packages` (apt-get install haproxy)."
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "haproxy.cfg"
        config.write_text(self.config())
        subprocess.run([HAPROXY, "-c", "-q", "-f", str(config)], check=True, capture_output=True)
        # Foreground (-db) under our own session, so its access log goes to a file.
        start_detached(
            [HAPROXY, "-db", "-f", str(config)],
            pidfile=self.pidfile,
            log=self.directory / "haproxy.log",
        )
        # The runtime API answers once every listener is bound; probing the port instead
        # would log a bad request.
        deadline = time.monotonic() + 15
        while True:
            try:
                self.command("show info")
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def stop(self) -> None:
        stop_pidfile(self.pidfile)

    def command(self, line: str) -> str:
        """One command on HAProxy's runtime API; returns its answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(self.socket_path))
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def set_state(self, server: str, state: str) -> None:
        """`ready`, `drain` (finish what is in flight, take nothing new) or `maint`."""
        answer = self.command(f"set server {self.BACKEND}/{server} state {state}")
        if answer.strip():
            raise RuntimeError(f"haproxy refused 'set server {server} state {state}': {answer}")

    def stats(self) -> dict[str, dict[str, str]]:
        """The backend's servers: name -> HAProxy's stats row (status, scur, ...)."""
        lines = self.command("show stat").splitlines()
        header = lines[0].lstrip("# ").split(",")
        rows = (dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line)
        return {
            row["svname"]: row
            for row in rows
            if row["pxname"] == self.BACKEND and row["svname"] in self.servers
        }

    def wait_for_status(self, server: str, status: str, timeout: float = 30.0) -> None:
        """Wait until HAProxy reports `server` as `status` (UP, DOWN, DRAIN, MAINT)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = self.stats()[server]["status"]
            if current == status:  # "UP 1/2" is on its way down (or up): not yet UP
                return
            time.sleep(0.1)
        raise TimeoutError(f"haproxy: {server} is {current}, not {status}, after {timeout} s")

    def wait_until_idle(self, server: str, timeout: float) -> bool:
        """Wait until no request is in flight on `server`; False if some still are."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stats()[server]["scur"] == "0":
                return True
            time.sleep(0.05)
        return False


HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"

# The ALB's role, scaled down for one machine. Retries: a request whose connection failed was
# never sent, so any request may go to another instance; a request that reached an instance
# (empty response, timeout) may have been processed there, so only GET/HEAD are replayed.
HAPROXY_CONFIG = """\
global
    stats socket {socket} mode 600 level admin
    maxconn 4096

defaults
    mode http
    log stdout format raw local0
    option httplog
    # A connection on loopback is up in microseconds; a retry waits min(this, 1 s) first.
    timeout connect 500ms
    timeout client 60s
    timeout server 30s
    timeout http-keep-alive 60s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout

frontend shop
    bind 127.0.0.1:{port}
    option forwardfor
    http-request set-header X-Forwarded-Proto http
    http-request set-header X-Amzn-Trace-Id Root=%[uuid]
    http-request disable-l7-retry if !METH_GET
    default_backend {backend}

backend {backend}
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2
{servers}"""
