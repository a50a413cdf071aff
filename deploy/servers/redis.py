"""Redis on loopback, configured like ElastiCache."""

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from deploy.servers.process import ServiceUnavailable, stop_pidfile, wait_for_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


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
