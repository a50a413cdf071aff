"""The release artifact and the instance bootstrap, run as EC2 user data runs them (minus
systemd): from an unpacked release, with an env file, against real PostgreSQL and Redis."""

import configparser
import os
import re
import signal
import subprocess
import sys
import tarfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg2
import pytest
import requests

from deploy.release.build import APPS, INSTANCE_RUNTIME, build
from deploy.release.version import ROOT
from deploy.servers import InstanceNginx, free_low_port, read_pid, wait_for_exit
from tests.stack.load import FIGURES

pytestmark = pytest.mark.stack

VERSION = "1.2.3-test"
EC2_INSTANCE_ID = "i-0123456789abcdef0"


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> Path:
    artifact, _static = build(VERSION, dist=tmp_path_factory.mktemp("dist"))
    return artifact


@pytest.fixture
def fresh_database() -> str:
    """A new, empty database on the suite's PostgreSQL; returns its URL."""
    suite_url = os.environ["DATABASE_URL"]
    name = f"release_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(suite_url.rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return suite_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture
def imds():
    """A stand-in for the EC2 instance metadata service that insists on IMDSv2 tokens."""

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self):
            if self.path == "/latest/api/token" and self.headers.get(
                "X-aws-ec2-metadata-token-ttl-seconds"
            ):
                self._answer(200, "a-session-token")
            else:
                self._answer(400, "")

        def do_GET(self):
            if self.headers.get("X-aws-ec2-metadata-token") != "a-session-token":
                self._answer(401, "")
            elif self.path == "/latest/meta-data/instance-id":
                self._answer(200, EC2_INSTANCE_ID)
            else:
                self._answer(404, "")

        def _answer(self, status, body):
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def write_env_file(path: Path, database_url: str, port: int, **extra: str) -> Path:
    values = {
        "DJANGO_SECRET_KEY": "release-test-secret-key-long-enough-for-the-deploy-checks-0123",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_HTTPS": "false",
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ["REDIS_URL"],
        "NGINX_LISTEN": f"127.0.0.1:{port}",  # the instance's port: nginx, then gunicorn
        "GUNICORN_BIND": f"127.0.0.1:{free_low_port()}",
        "GUNICORN_WORKERS": "1",
        **extra,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    path.chmod(0o600)
    return path


def bootstrap(release_dir: Path, env_file: Path, state_dir: Path, **env: str):
    """Start deploy/bootstrap.sh as user data would (supervisor none); returns the process."""
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(state_dir),
        "BOOTSTRAP_SUPERVISOR": "none",
        "BOOTSTRAP_STATE_DIR": str(state_dir),
        "BOOTSTRAP_PYTHON": sys.executable,
        **env,
    }
    return subprocess.Popen(
        ["bash", str(release_dir / "deploy" / "bootstrap.sh"), str(release_dir), str(env_file)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop_instance(state_dir: Path) -> None:
    """Stop what the bootstrap started: gunicorn, the worker and nginx."""
    for pidfile in ("gunicorn.pid", "worker.pid"):
        pid = read_pid(state_dir / pidfile)
        if pid:
            os.killpg(pid, signal.SIGTERM)
            wait_for_exit(pid, 40)
    InstanceNginx(state_dir / "nginx").stop()


def wait_for_line(log: Path, text: str, timeout: float = 60) -> None:
    """Until `text` is in `log` (the worker may still be importing when /readyz answers)."""
    deadline = time.monotonic() + timeout
    while text not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline, f"{log} never said {text!r}"
        time.sleep(0.1)


def query(database_url: str, sql: str) -> list[tuple]:
    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()
    finally:
        connection.close()


def test_the_artifact_holds_the_app_wheels_and_static_manifest(artifact):
    assert artifact.name == f"webshop-{VERSION}.tar.gz"
    with tarfile.open(artifact) as tar:
        names = set(tar.getnames())
        release = tar.extractfile("RELEASE").read().decode().strip()
        manifest = tar.extractfile("staticfiles.json").read().decode()
    assert release == VERSION
    for name in ["manage.py", "requirements.txt", "deploy/bootstrap.sh", "deploy/webshop.service"]:
        assert name in names
    assert "deploy/webshop-worker.service" in names and "notifications/tasks.py" in names
    assert "deploy/gunicorn.conf.py" in names and "webapp/settings.py" in names
    assert "catalog/migrations/0001_initial.py" in names
    wheels = {n.split("/")[1].split("-")[0].lower() for n in names if n.startswith("wheels/")}
    assert {"django", "gunicorn", "psycopg2_binary", "boto3", "django_storages"} <= wheels
    assert {"django_tasks", "django_tasks_db"} <= wheels
    assert re.search(r'"css/shop\.css": "css/shop\.[0-9a-f]{12}\.css"', manifest)
    # An allow-list: the shop's packages and the instance runtime, nothing else.
    top = {name.split("/")[0] for name in names}
    assert top == {*APPS, "deploy", "wheels", "manage.py", "requirements.txt"} | {
        "RELEASE",
        "staticfiles.json",
    }
    assert {n for n in names if n.startswith("deploy/")} == set(INSTANCE_RUNTIME)
    assert not [n for n in names if "__pycache__" in n]


def test_the_artifact_ships_every_app_the_settings_install():
    from django.conf import settings

    local = {app for app in settings.INSTALLED_APPS if (ROOT / app / "__init__.py").exists()}
    assert local == set(APPS)


def test_an_instance_boots_from_the_artifact_with_its_id_from_imdsv2(
    artifact, fresh_database, imds, tmp_path
):
    release_dir = tmp_path / "opt" / "webshop" / "releases" / VERSION
    release_dir.mkdir(parents=True)
    with tarfile.open(artifact) as tar:
        tar.extractall(release_dir, filter="data")
    port = free_low_port()
    env_file = write_env_file(tmp_path / "etc" / "webshop.env", fresh_database, port)
    state = tmp_path / "state"
    try:
        # No INSTANCE_ID and no venv: the EC2 path, a venv from wheels/ and IMDSv2.
        process = bootstrap(release_dir, env_file, state, BOOTSTRAP_IMDS_URL=imds)
        output, _ = process.communicate(timeout=240)
        assert process.returncode == 0, output
        assert (release_dir / ".venv" / "bin" / "gunicorn").exists()
        lines = env_file.read_text().splitlines()
        assert f"INSTANCE_ID={EC2_INSTANCE_ID}" in lines
        assert f"RELEASE_VERSION={VERSION}" in lines
        assert oct(env_file.stat().st_mode & 0o777) == "0o600"
        assert requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
        served_by = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert served_by.headers["X-Served-By"] == EC2_INSTANCE_ID
        assert read_pid(state / "worker.pid"), "the worker does not run"
        wait_for_line(state / "worker.log", "worker on i-0123456789abcdef0")
        assert query(fresh_database, "SELECT version, applied_by FROM webapp_release") == [
            (VERSION, EC2_INSTANCE_ID)
        ]
    finally:
        stop_instance(state)


def test_three_instances_starting_at_once_migrate_exactly_once(fresh_database, tmp_path):
    version = f"concurrent-{uuid.uuid4().hex[:6]}"
    runs = {}
    for name in ("i-a", "i-b", "i-c"):
        env_file = write_env_file(tmp_path / name / "webshop.env", fresh_database, free_low_port())
        runs[name] = bootstrap(
            ROOT,
            env_file,
            tmp_path / name,
            INSTANCE_ID=name,
            RELEASE_VERSION=version,
            BOOTSTRAP_VENV=sys.prefix,
        )
    try:
        outputs = {name: process.communicate(timeout=120)[0] for name, process in runs.items()}
        assert {name: p.returncode for name, p in runs.items()} == dict.fromkeys(runs, 0), outputs
        migrated = [name for name, out in outputs.items() if f"{version}: migrated by" in out]
        skipped = [name for name, out in outputs.items() if f"{version}: skipped" in out]
        FIGURES.append(
            f"[release step, three at once] migrated by {migrated}, skipped by {skipped}"
        )
        assert len(migrated) == 1 and len(skipped) == 2
        assert "Applying catalog.0001_initial... OK" in outputs[migrated[0]]
        assert query(fresh_database, "SELECT version, applied_by FROM webapp_release") == [
            (version, migrated[0])
        ]
        duplicates = "SELECT app, name FROM django_migrations GROUP BY 1, 2 HAVING count(*) > 1"
        assert query(fresh_database, duplicates) == []
    finally:
        for name in runs:
            stop_instance(tmp_path / name)


def test_bootstrap_fails_when_the_database_is_unreachable(tmp_path):
    closed = f"postgres://postgres@127.0.0.1:{free_low_port()}/webshop"
    env_file = write_env_file(tmp_path / "webshop.env", closed, free_low_port())
    process = bootstrap(
        ROOT,
        env_file,
        tmp_path,
        INSTANCE_ID="i-nodb",
        RELEASE_VERSION="x",
        BOOTSTRAP_VENV=sys.prefix,
    )
    output, _ = process.communicate(timeout=60)
    assert process.returncode != 0
    assert "the release step (migrations) failed" in output
    assert not (tmp_path / "gunicorn.pid").exists()


def test_bootstrap_gives_up_when_readyz_never_answers_200(fresh_database, tmp_path):
    env_file = write_env_file(
        tmp_path / "webshop.env",
        fresh_database,
        free_low_port(),
        REDIS_URL=f"redis://127.0.0.1:{free_low_port()}/0",  # nothing listens: /readyz 503
    )
    process = bootstrap(
        ROOT,
        env_file,
        tmp_path,
        INSTANCE_ID="i-noredis",
        RELEASE_VERSION="y",
        BOOTSTRAP_VENV=sys.prefix,
        BOOTSTRAP_READY_TIMEOUT="4",
    )
    output, _ = process.communicate(timeout=60)
    assert process.returncode != 0
    assert "did not answer 200 within 4 s" in output
    for pidfile in ("gunicorn.pid", "worker.pid"):
        pid = int((tmp_path / pidfile).read_text())
        assert wait_for_exit(pid, 40), f"the bootstrap left {pidfile} running"
    nginx = read_pid(tmp_path / "nginx" / "nginx.pid")  # gone once nginx has exited
    assert nginx is None or wait_for_exit(nginx, 40), "the bootstrap left nginx running"


def test_the_systemd_unit_runs_gunicorn_as_the_contract_says():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read(ROOT / "deploy" / "webshop.service")
    service = unit["Service"]
    assert service["User"] == "webshop"
    assert service["EnvironmentFile"] == "/etc/webshop/webshop.env"
    assert service["WorkingDirectory"] == "/opt/webshop/current"
    assert service["ExecStart"] == (
        "/opt/webshop/current/.venv/bin/gunicorn"
        " -c /opt/webshop/current/deploy/gunicorn.conf.py webapp.wsgi"
    )
    # SIGTERM to the master, which drains its workers within graceful_timeout (30 s).
    assert service["KillMode"] == "mixed"
    assert int(service["TimeoutStopSec"]) > 30
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_the_worker_unit_runs_beside_the_web_unit_with_the_same_environment():
    units = {}
    for name in ("webshop.service", "webshop-worker.service"):
        unit = configparser.ConfigParser(strict=False, interpolation=None)
        unit.optionxform = str
        unit.read(ROOT / "deploy" / name)
        units[name] = unit
    web, worker = units["webshop.service"]["Service"], units["webshop-worker.service"]["Service"]
    for key in ("User", "EnvironmentFile", "WorkingDirectory", "Restart", "ProtectSystem"):
        assert worker[key] == web[key], key
    assert worker["ExecStart"] == (
        "/opt/webshop/current/.venv/bin/python /opt/webshop/current/manage.py run_worker"
    )
    # Longer than three mail timeouts (30 s): the email being sent is finished and recorded.
    assert int(worker["TimeoutStopSec"]) > 30
    assert units["webshop-worker.service"]["Install"]["WantedBy"] == "multi-user.target"
    bootstrap = (ROOT / "deploy" / "bootstrap.sh").read_text()
    assert "UNITS=(webshop.service webshop-worker.service)" in bootstrap
