"""App servers for tests: real gunicorn processes on the test database and Redis."""

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password

from deploy import servers

# What boto3 needs to talk to the suite's moto server (it checks no credentials).
AWS_TEST_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def test_database_url() -> str:
    """The URL of the database the tests use (pytest-django's test_ copy)."""
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def server_user(email: str, password: str, **fields):
    """A user that gunicorn servers can authenticate (hashed with production's hasher)."""
    from accounts.models import User

    return User.objects.create(
        email=email, password=make_password(password, hasher="pbkdf2_sha256"), **fields
    )


@dataclass
class AppServer(servers.AppServer):
    instance_id: str = "test-1"
    mail: servers.MailServer | None = None
    worker: servers.WorkerProcess | None = None

    def link_in_mail(self, pattern: str, timeout: float = 10.0) -> str:
        """The path of the first link matching `pattern` in the mail this server's worker
        delivered to its SMTP server."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.mail.messages():
                found = re.search(rf"http://[^/\s]+({pattern})", message.get_content())
                if found:
                    return found.group(1)
            time.sleep(0.05)
        raise AssertionError(f"no email with a link like {pattern} arrived")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        super().stop(sig)
        if self.worker is not None:
            self.worker.stop(sig)
        if self.mail is not None:
            self.mail.stop()


def start_app_server(
    instance_id: str = "test-1", workers: int = 2, mail: bool = True, **env: str
) -> AppServer:
    """gunicorn on the test database and Redis; with `mail`, also a worker that delivers
    the queued email to an SMTP server of the server's own."""
    port = servers.free_port()
    workdir = Path(os.environ["WEBSHOP_TEST_WORKDIR"]) / f"{instance_id}-{port}"
    workdir.mkdir()
    server = AppServer(port=port, log=workdir / "gunicorn.log", instance_id=instance_id)
    environment = {
        "DATABASE_URL": test_database_url(),
        "INSTANCE_ID": instance_id,
        "GUNICORN_WORKERS": str(workers),
        **env,
    }
    if mail:
        server.mail = servers.MailServer(workdir, servers.free_port(), workdir / "mail").start()
        environment["EMAIL_URL"] = server.mail.url
        server.worker = servers.WorkerProcess(workdir / "worker.log")
    try:
        if server.worker:
            server.worker.start(environment)
        return server.start(environment, timeout=30)
    except BaseException:
        server.stop(signal.SIGKILL)
        raise


def manage(*args: str, **env: str) -> None:
    """manage.py in a process of its own, on the test database, with `env` on top (e.g. the
    S3 settings, which this process's storage does not use)."""
    environment = {**os.environ, "DATABASE_URL": test_database_url(), **env}
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=servers.BASE_DIR, env=environment, check=True
    )
