"""The shop itself under gunicorn on loopback, as the tests and `make bench` run it (the
local stack starts it through deploy/bootstrap.sh instead, as EC2 does)."""

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from deploy.servers.process import answers

BASE_DIR = Path(__file__).resolve().parents[2]
GUNICORN_CONF = BASE_DIR / "deploy" / "gunicorn.conf.py"


@dataclass
class AppServer:
    """gunicorn with deploy/gunicorn.conf.py on 127.0.0.1:`port`, in its own process group,
    output appended to `log`."""

    port: int
    log: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, environment: dict[str, str], timeout: float = 60.0) -> "AppServer":
        """Start it and return once /healthz answers (a worker has imported the app)."""
        env = {**os.environ, **environment, "GUNICORN_BIND": f"127.0.0.1:{self.port}"}
        with self.log.open("ab") as out:  # O_APPEND: every worker's lines land whole
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "webapp.wsgi"],
                cwd=BASE_DIR,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log.read_text()[-2000:]}")
            if answers(f"{self.url}/healthz"):
                return self
            time.sleep(0.1)
        self.stop(signal.SIGKILL)
        raise TimeoutError(f"gunicorn did not answer /healthz within {timeout} s; see {self.log}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=40)
