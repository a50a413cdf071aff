"""App servers for tests: real gunicorn processes on the test database and Redis."""

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from django.conf import settings
from django.contrib.auth.hashers import make_password

from deploy.local import free_port

BASE_DIR = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    """The URL of the database the tests use (pytest-django's test_ copy)."""
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def post_form(browser: requests.Session, url: str, data: dict, **kwargs) -> requests.Response:
    """POST a form as a browser would: with the CSRF token of the cookie it holds."""
    if "csrftoken" not in browser.cookies:
        origin = re.match(r"https?://[^/]+", url).group(0)
        browser.get(f"{origin}/accounts/login/", timeout=10)  # any page with a form
    token = browser.cookies["csrftoken"]
    kwargs.setdefault("allow_redirects", False)
    return browser.post(url, data={"csrfmiddlewaretoken": token, **data}, timeout=10, **kwargs)


def server_user(email: str, password: str, **fields):
    """A user that gunicorn servers can authenticate (hashed with production's hasher)."""
    from accounts.models import User

    return User.objects.create(
        email=email, password=make_password(password, hasher="pbkdf2_sha256"), **fields
    )


@dataclass
class AppServer:
    url: str
    instance_id: str
    process: subprocess.Popen
    log: Path
    mailbox: Path

    def link_in_mail(self, pattern: str, timeout: float = 10.0) -> str:
        """The path of the first link matching `pattern` in the mail this server sent."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in sorted(self.mailbox.glob("*.log")):
                found = re.search(rf"http://[^/\s]+({pattern})", message.read_text())
                if found:
                    return found.group(1)
            time.sleep(0.05)
        raise AssertionError(f"no email with a link like {pattern} arrived")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=40)


def start_app_server(instance_id: str = "test-1", workers: int = 2, **env: str) -> AppServer:
    port = free_port()
    workdir = Path(os.environ["WEBSHOP_TEST_WORKDIR"])
    mailbox = workdir / f"mail-{instance_id}-{port}"
    environment = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "INSTANCE_ID": instance_id,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
        "EMAIL_URL": f"filemail:///{mailbox}",
        **env,
    }
    log_path = workdir / f"gunicorn-{instance_id}-{port}.log"
    with log_path.open("wb") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "webapp.wsgi"],
            cwd=BASE_DIR,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = AppServer(
        url=f"http://127.0.0.1:{port}",
        instance_id=instance_id,
        process=process,
        log=log_path,
        mailbox=mailbox,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {server.log.read_text()[-2000:]}")
        try:
            if requests.get(f"{server.url}/healthz", timeout=1).ok:
                return server
        except requests.RequestException:  # not listening yet, or workers still importing
            time.sleep(0.1)
    server.stop(signal.SIGKILL)
    raise TimeoutError("gunicorn did not answer /healthz within 30 s")
