"""The shop under test: throwaway PostgreSQL and Redis, the project's settings, gunicorn.

Everything runs on loopback from one temporary directory and is stopped by PID at the end;
gunicorn's output (access log included) goes to a file the harness reads between runs.
"""

import os
import runpy
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from bench import figures
from deploy.local import Postgres, Redis, free_port

BASE_DIR = Path(__file__).resolve().parent.parent
GUNICORN_CONF = BASE_DIR / "deploy" / "gunicorn.conf.py"


@dataclass
class Services:
    environment: dict[str, str]  # what the shop needs to use them
    pids: dict[str, int]  # the root process of each, for bench/cpu.py


@contextmanager
def services():
    """PostgreSQL and Redis for one run, on loopback, gone afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix="webshop-bench-"))
    workdir.chmod(0o755)  # PostgreSQL runs as its own user and must reach its directory
    started = []
    try:
        postgres = Postgres(workdir / "postgres", free_port()).start()
        started.append(postgres)
        postgres.create_database("webshop")
        _track_statements(postgres)
        redis = Redis(workdir / "redis", free_port()).start()
        started.append(redis)
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
        yield Services(environment, pids)
    finally:
        while started:
            started.pop().stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _pid(pidfile: Path, timeout: float = 5.0) -> int:
    """The PID a server wrote (a daemonised Redis may write it just after it listens)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return int(pidfile.read_text().split()[0])
        except (FileNotFoundError, IndexError, ValueError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


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
class Gunicorn:
    url: str
    process: subprocess.Popen
    log: Path

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

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=40)


@contextmanager
def gunicorn(environment: dict[str, str], workers: int, threads: int, log: Path):
    """gunicorn with deploy/gunicorn.conf.py on a free loopback port, ready when it answers."""
    port = free_port()
    env = {
        **os.environ,
        **environment,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
        "GUNICORN_THREADS": str(threads),
    }
    with log.open("ab") as out:  # O_APPEND: every worker's lines land whole, in order
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "webapp.wsgi"],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Gunicorn(url=f"http://127.0.0.1:{port}", process=process, log=log)
    try:
        _wait_ready(server)
        yield server
    finally:
        server.stop()


def _wait_ready(server: Gunicorn, timeout: float = 60.0) -> None:
    """Ready when /healthz answers (the warm-up round pays for the other workers' imports)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited; see {server.log}")
        try:
            if requests.get(f"{server.url}/healthz", timeout=1).ok:
                return
        except requests.RequestException:
            time.sleep(0.1)
    raise TimeoutError(f"gunicorn did not answer /healthz within {timeout} s; see {server.log}")
