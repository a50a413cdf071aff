"""An S3-compatible API on loopback: moto in server mode."""

import sys
from dataclasses import dataclass
from pathlib import Path

from deploy.servers.process import start_detached, stop_pidfile, wait_for_port


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
