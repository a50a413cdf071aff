"""PostgreSQL 15 on loopback, from the image's binaries."""

import os
import shutil
import signal
import subprocess
from contextlib import closing, suppress
from dataclasses import dataclass, field
from pathlib import Path

from deploy.servers.process import ServiceUnavailable, read_pid, wait_for_exit

POSTGRES_BIN = Path(os.environ.get("POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
# A throwaway server: nothing needs to survive a crash of this machine.
THROWAWAY_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}
# Three instances of two workers and two threads each, their release steps, the tests'
# own connections: far more than the default 100. Written into postgresql.conf, because a
# command-line value would clash with initdb's line there on every configuration reload.
MAX_CONNECTIONS = 300


def as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root, so root runs it as the postgres user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class Postgres:
    """A PostgreSQL 15 cluster in `directory`, listening on 127.0.0.1:`port`.

    `settings` override THROWAWAY_SETTINGS on the command line (where nothing can change
    them at runtime; settings that change at runtime go through ALTER SYSTEM instead).
    """

    directory: Path
    port: int
    settings: dict[str, str] = field(default_factory=dict)
    # (certificate, key) to serve TLS with, as RDS does; the key must be readable by
    # the postgres user only.
    tls: tuple[Path, Path] | None = None

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def log(self) -> Path:
        return self.directory / "postgres.log"

    def url(self, database: str = "webshop") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> "Postgres":
        """Start the cluster in `data`, creating it first if there is none (a standby's
        data comes from pg_basebackup instead: deploy/servers/replication.py)."""
        if not (POSTGRES_BIN / "pg_ctl").exists():
            raise ServiceUnavailable(
                f"PostgreSQL 15 binaries not found in {POSTGRES_BIN}: "
                "install the postgresql-15 package or set POSTGRES_BIN."
            )
        self.prepare_directory()
        if not self.data.exists():
            subprocess.run(
                as_postgres(
                    [str(POSTGRES_BIN / "initdb"), "-D", str(self.data), "-A", "trust"]
                    + ["-U", "postgres", "--no-sync", "-E", "UTF8", "--locale", "C.UTF-8"]
                ),
                check=True,
                capture_output=True,
            )
            conf = self.data / "postgresql.conf"
            conf.write_text(
                conf.read_text().replace(
                    "max_connections = 100", f"max_connections = {MAX_CONNECTIONS}"
                )
            )
        settings = {**THROWAWAY_SETTINGS, **self.settings}
        if self.tls:
            certificate, key = self.tls
            settings.update(ssl="on", ssl_cert_file=certificate, ssl_key_file=key)
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 " + " ".join(
            f"-c {name}={value}" for name, value in settings.items()
        )
        self.pg_ctl("start", "-l", str(self.log), "-o", options)
        return self

    def prepare_directory(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")

    def pid(self) -> int | None:
        """The postmaster's PID while it runs."""
        return read_pid(self.data / "postmaster.pid")

    def stop(self) -> None:
        if self.pid() is not None:
            self.pg_ctl("stop", "-m", "fast")

    def kill(self) -> None:
        """SIGKILL the postmaster and every backend at once, as when its machine dies: no
        shutdown checkpoint, no goodbye to clients or standbys. (Each backend is in a process
        group of its own, so the group of the postmaster would not take them along.)"""
        pid = self.pid()
        if pid is None:
            return
        children = [
            int(entry.name)
            for entry in Path("/proc").iterdir()
            if entry.name.isdigit() and _parent(entry) == pid
        ]
        for victim in [pid, *children]:
            with suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        for victim in [pid, *children]:
            wait_for_exit(victim, 10)

    def pg_ctl(self, *args: str) -> None:
        subprocess.run(
            as_postgres([str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data), "-w", *args]),
            check=True,
            capture_output=True,
        )

    def create_database(self, name: str) -> None:
        subprocess.run(
            as_postgres(
                [str(POSTGRES_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port)]
                + ["-U", "postgres", name]
            ),
            check=True,
            capture_output=True,
        )

    def query(self, sql: str, params: tuple = (), database: str = "postgres") -> list[tuple]:
        """Run one statement in autocommit mode; its rows ([] if it returns none)."""
        import psycopg2

        with closing(psycopg2.connect(self.url(database), connect_timeout=3)) as db:
            db.autocommit = True
            with db.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall() if cursor.description else []


def _parent(proc_entry: Path) -> int | None:
    try:
        return int((proc_entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None
