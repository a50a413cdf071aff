"""Redis on loopback, configured like ElastiCache."""

import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from deploy.servers.process import ServiceUnavailable, read_pid, stop_pidfile, wait_for_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


@dataclass
class Redis:
    """A Redis server in `directory` on 127.0.0.1:`port`, configured like ElastiCache here:
    no persistence (sessions survive a restart through PostgreSQL) and LRU eviction; with
    `password`, clients must AUTH, like ElastiCache's AUTH token (no TLS on loopback).
    With `replica_of` (a port), it starts as a replica of that server, as an ElastiCache
    replica node does."""

    directory: Path
    port: int
    password: str | None = None
    replica_of: int | None = None

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
            auth.write_text(f"requirepass {self.password}\nmasterauth {self.password}\n")
            auth.chmod(0o600)
            config = [str(auth)]
        if self.replica_of is not None:
            config += ["--replicaof", "127.0.0.1", str(self.replica_of)]
        subprocess.run(
            [REDIS_SERVER, *config, "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--maxmemory", "256mb"]
            + ["--maxmemory-policy", "allkeys-lru", "--dir", str(self.directory)]
            # A replica's first sync starts at once instead of after the default 5 s.
            + ["--repl-diskless-sync-delay", "0"]
            + ["--daemonize", "yes", "--pidfile", str(self.pidfile)]
            + ["--logfile", str(self.directory / "redis.log")],
            check=True,
            capture_output=True,
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        stop_pidfile(self.pidfile)

    def kill(self) -> None:
        """SIGKILL it, as when its node dies: whatever it had not yet sent its replica is lost."""
        stop_pidfile(self.pidfile, signal.SIGKILL)

    def pid(self) -> int | None:
        return read_pid(self.pidfile)

    def client(self):
        import redis

        return redis.Redis(
            host="127.0.0.1", port=self.port, password=self.password, socket_timeout=5
        )

    def replication(self) -> dict:
        """INFO replication: role, master_link_status, master_repl_offset, slave0, ..."""
        with self.client() as client:
            return client.info("replication")

    def promote(self) -> None:
        """REPLICAOF NO ONE: a replica becomes a primary with what it has."""
        with self.client() as client:
            client.replicaof("NO", "ONE")
