"""PostgreSQL 15 on loopback, from the image's binaries."""

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from deploy.servers.process import ServiceUnavailable

POSTGRES_BIN = Path(os.environ.get("POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root, so root runs it as the postgres user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class Postgres:
    """A PostgreSQL 15 cluster in `directory`, listening on 127.0.0.1:`port`."""

    directory: Path
    port: int
    # (certificate, key) to serve TLS with, as RDS does; the key must be readable by
    # the postgres user only.
    tls: tuple[Path, Path] | None = None

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
        if self.tls:
            certificate, key = self.tls
            options += f" -c ssl=on -c ssl_cert_file={certificate} -c ssl_key_file={key}"
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
