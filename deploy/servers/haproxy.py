"""HAProxy on loopback: in the ALB's role (HTTP), and as the data tier's endpoints (TCP)."""

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from deploy.servers.process import ServiceUnavailable, start_detached, stop_pidfile

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


class HAProxy:
    """One HAProxy process in `directory`, driven through its runtime API (stats socket)."""

    directory: Path

    @property
    def pidfile(self) -> Path:
        return self.directory / "haproxy.pid"

    @property
    def socket_path(self) -> Path:
        return self.directory / "admin.sock"

    def config(self) -> str:
        raise NotImplementedError

    def start(self):
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

    def set_server_state(self, backend: str, server: str, state: str) -> None:
        """`ready`, `drain` (finish what is in flight, take nothing new) or `maint`."""
        answer = self.command(f"set server {backend}/{server} state {state}")
        if answer.strip():
            raise RuntimeError(f"haproxy refused 'set server {server} state {state}': {answer}")

    def stat_rows(self) -> list[dict[str, str]]:
        """HAProxy's stats, one row per frontend, backend and server."""
        lines = self.command("show stat").splitlines()
        header = lines[0].lstrip("# ").split(",")
        return [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]


@dataclass
class LoadBalancer(HAProxy):
    """HAProxy in the ALB's role: round-robin without stickiness, shallow health checks on
    /healthz (thresholds scaled down from the ALB's), and the runtime API (stats socket) to
    drain a server the way the ALB deregisters a target."""

    directory: Path
    port: int
    servers: dict[str, int]  # name -> port on 127.0.0.1

    BACKEND = "app"

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

    def set_state(self, server: str, state: str) -> None:
        self.set_server_state(self.BACKEND, server, state)

    def stats(self) -> dict[str, dict[str, str]]:
        """The backend's servers: name -> HAProxy's stats row (status, scur, ...)."""
        return {
            row["svname"]: row
            for row in self.stat_rows()
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


@dataclass
class Endpoints(HAProxy):
    """The data tier's DNS names, as TCP ports: each endpoint forwards every new connection
    to the one node it points at. Moving an endpoint is what RDS and ElastiCache do to
    their DNS name on a failover: clients reconnect to the same address and reach the new
    node, and nobody's configuration changes.

    `nodes` lists, per endpoint, every node it may point at ({name: port}); the first one
    is where it points when HAProxy starts.
    """

    directory: Path
    ports: dict[str, int]  # endpoint -> its port
    nodes: dict[str, dict[str, int]]  # endpoint -> {node: port}

    def config(self) -> str:
        sections = []
        for endpoint, port in self.ports.items():
            servers = "".join(
                f"    server {node} 127.0.0.1:{node_port}{'' if i == 0 else ' disabled'}\n"
                for i, (node, node_port) in enumerate(self.nodes[endpoint].items())
            )
            sections.append(f"listen {endpoint}\n    bind 127.0.0.1:{port}\n{servers}")
        return ENDPOINTS_CONFIG.format(socket=self.socket_path) + "\n".join(sections)

    def point(self, endpoint: str, node: str) -> None:
        """New connections to `endpoint` go to `node`; those still open to another node are
        cut, as a DNS change leaves them to die with the old node."""
        if node not in self.nodes[endpoint]:
            raise ValueError(f"{endpoint} cannot point at {node}: {sorted(self.nodes[endpoint])}")
        self.set_server_state(endpoint, node, "ready")
        for other in self.nodes[endpoint]:
            if other != node:
                self.set_server_state(endpoint, other, "maint")
                self.command(f"shutdown sessions server {endpoint}/{other}")

    def targets(self) -> dict[str, str | None]:
        """Where each endpoint points now: {endpoint: node}."""
        pointing: dict[str, str | None] = dict.fromkeys(self.ports)
        for row in self.stat_rows():
            endpoint, node = row["pxname"], row["svname"]
            if node in self.nodes.get(endpoint, {}) and not row["status"].startswith("MAINT"):
                pointing[endpoint] = node
        return pointing


# No health checks and no retries: like a DNS name, an endpoint points where the control
# plane (the stack's commands) says, and a connection to a dead node fails at once. Idle
# connections live longer than the app's persistent database connections (300 s).
ENDPOINTS_CONFIG = """\
global
    stats socket {socket} mode 600 level admin
    maxconn 4096

defaults
    mode tcp
    timeout connect 500ms
    timeout client 1h
    timeout server 1h
    retries 0

"""

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
    # A request's headers must arrive within 10 s (slowloris); each instance's nginx then
    # buffers the body before gunicorn sees it.
    timeout http-request 10s
    timeout server 30s
    timeout http-keep-alive 60s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout

frontend shop
    bind 127.0.0.1:{port}
    option forwardfor
    http-request set-header X-Forwarded-Proto http
    # The ALB's trace header format (Root=1-<epoch seconds, 8 hex>-<24 hex>), which the app
    # checks before taking it as the request id.
    http-request set-var(txn.t) date,htonl,hex,lower
    http-request set-header X-Amzn-Trace-Id Root=1-%[var(txn.t)]-%[uuid,regsub(-,,g),bytes(0,24)]
    http-request disable-l7-retry if !METH_GET
    default_backend {backend}

backend {backend}
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2
{servers}"""
