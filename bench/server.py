"""The shop under test: throwaway PostgreSQL and Redis, the project's settings, gunicorn.

Everything runs on loopback from one temporary directory and is stopped by PID at the end;
gunicorn's output (the app's JSON request log included) goes to a file the harness reads
between runs.
"""

import os
import runpy
import secrets
import subprocess
import sys
import time
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench import figures
from deploy.servers import (
    BASE_DIR,
    GUNICORN_CONF,
    AppServer,
    Postgres,
    WorkerProcess,
    free_port,
    throwaway_services,
)
from deploy.servers import replication as pg
from deploy.servers.process import read_pid


@dataclass
class Services:
    environment: dict[str, str]  # what the shop needs to use them
    pids: dict[str, int]  # the root process of each, for bench/cpu.py


@contextmanager
def services(replica: bool = False):
    """PostgreSQL and Redis for one run, on loopback, gone afterwards; with `replica`, a
    streaming read replica of the PostgreSQL too (DATABASE_REPLICA_URL)."""
    with throwaway_services("webshop-bench-") as (workdir, postgres, redis):
        postgres.create_database("webshop")
        _track_statements(postgres)
        standby = None
        if replica:  # a base backup after _track_statements: it loads pg_stat_statements too
            standby = Postgres(workdir / "replica", free_port())
            pg.standby_create(standby, upstream=postgres, name="replica")
        environment = {
            "DJANGO_SETTINGS_MODULE": "webapp.settings",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_DEBUG": "false",
            "DJANGO_HTTPS": "false",
            "DJANGO_BENCHMARK": "true",
            "DATABASE_URL": postgres.url(),
            "REDIS_URL": redis.url(),
            "DJANGO_STATIC_ROOT": str(workdir / "static"),
            "DJANGO_MEDIA_ROOT": str(workdir / "media"),
            "INSTANCE_ID": "bench",
        }
        pids = {"postgresql": _pid(postgres.data / "postmaster.pid"), "redis": _pid(redis.pidfile)}
        if standby is not None:
            environment["DATABASE_REPLICA_URL"] = standby.url()
            pids["replica"] = _pid(standby.data / "postmaster.pid")
        try:
            yield Services(environment, pids)
        finally:
            if standby is not None:
                standby.stop()


def _pid(pidfile: Path, timeout: float = 5.0) -> int:
    """The PID a server wrote (a daemonised Redis may write it just after it listens)."""
    deadline = time.monotonic() + timeout
    while (pid := read_pid(pidfile)) is None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"no running process in {pidfile} after {timeout} s")
        time.sleep(0.02)
    return pid


def _track_statements(postgres: Postgres) -> None:
    """Load pg_stat_statements (on by default on RDS too), so each run can say how many
    queries a request makes and which ones cost the database its time."""
    import psycopg2

    with closing(psycopg2.connect(postgres.url())) as db:
        db.autocommit = True
        db.cursor().execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
    postgres.stop()
    postgres.start()
    with closing(psycopg2.connect(postgres.url())) as db:
        db.autocommit = True
        db.cursor().execute("CREATE EXTENSION pg_stat_statements")


def gunicorn_shape(workers: int | None, threads: int | None) -> tuple[int, int]:
    """Workers and threads gunicorn will use: the CLI's, else deploy/gunicorn.conf.py's own
    defaults for this machine (read from the file, so the two can never disagree)."""
    overrides = {"GUNICORN_WORKERS": workers, "GUNICORN_THREADS": threads}
    saved = {name: os.environ.get(name) for name in overrides}
    try:
        for name, value in overrides.items():
            if value is not None:
                os.environ[name] = str(value)
        conf = runpy.run_path(str(GUNICORN_CONF))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return conf["workers"], conf["threads"]


@dataclass
class Gunicorn(AppServer):
    def log_size(self) -> int:
        return self.log.stat().st_size

    def log_since(self, offset: int) -> str:
        with self.log.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def wait_answered(
        self, offset: int, requests: set[str], sent: int, lost_at_most: int, timeout=120.0
    ) -> str:
        """The log since `offset` once gunicorn has answered all `sent` requests (wrk stops
        with some in flight: a login can take seconds), or all but `lost_at_most` (those
        wrk saw fail on a broken connection may never have reached it) and then kept quiet
        for a second."""
        deadline = time.monotonic() + timeout
        size, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            log = self.log_since(offset)
            answered = sum(figures.access_log_statuses(log, requests).values())
            if answered >= sent:
                return log
            if len(log) != size:
                size, since = len(log), time.monotonic()
            elif answered >= sent - lost_at_most and time.monotonic() - since > 1:
                return log
            time.sleep(0.05)
        return self.log_since(offset)


def bare_environment(environment: dict[str, str]) -> dict[str, str]:
    """The bare yardstick's: the same servers and secret, its own settings module."""
    return {**environment, "DJANGO_SETTINGS_MODULE": "bench.bare.settings"}


def bare_setup(environment: dict[str, str]) -> None:
    """The bare project's one table (Django's own sessions), beside the shop's."""
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--verbosity", "0"],
        env={**os.environ, **bare_environment(environment)},
        cwd=BASE_DIR,
        check=True,
    )


@contextmanager
def gunicorn(
    environment: dict[str, str], workers: int, threads: int, log: Path, bare: bool = False
):
    """gunicorn with deploy/gunicorn.conf.py on a free loopback port, ready when it answers
    (the warm-up round pays for the other workers' imports); `bare`: the bare yardstick
    (bench/bare/) in the same shape."""
    server = Gunicorn(port=free_port(), log=log, wsgi="bench.bare.wsgi" if bare else "webapp.wsgi")
    server.start(
        {**environment, "GUNICORN_WORKERS": str(workers), "GUNICORN_THREADS": str(threads)}
    )
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def worker(environment: dict[str, str], log: Path):
    """The instance's worker tier beside gunicorn, as on EC2 (`manage.py run_worker`): it
    delivers the checkout's emails (to its log) and saves the signed-in shopper's recently
    viewed list, so its work is in the run's CPU figures."""
    process = WorkerProcess(log).start({**environment, "EMAIL_URL": "consolemail://"})
    try:
        yield process
    finally:
        process.stop()
