"""The shop itself under gunicorn on loopback, as the tests and `make bench` run it (the
local stack starts it through deploy/bootstrap.sh instead, as EC2 does)."""

import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from deploy.servers.process import answers, start_group, stop_group

BASE_DIR = Path(__file__).resolve().parents[2]
GUNICORN_CONF = BASE_DIR / "deploy" / "gunicorn.conf.py"


@dataclass
class AppServer:
    """gunicorn with deploy/gunicorn.conf.py on 127.0.0.1:`port`, in its own process group,
    output appended to `log`."""

    port: int
    log: Path
    process: subprocess.Popen | None = None
    wsgi: str = "webapp.wsgi"  # the module gunicorn serves (make bench: its bare yardstick too)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, environment: dict[str, str], timeout: float = 60.0) -> "AppServer":
        """Start it and return once /healthz answers (a worker has imported the app)."""
        self.process = start_group(
            [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), self.wsgi],
            cwd=BASE_DIR,
            environment={**environment, "GUNICORN_BIND": f"127.0.0.1:{self.port}"},
            log=self.log,
            ready=lambda: answers(f"{self.url}/healthz"),
            timeout=timeout,
            name="gunicorn",
        )
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        stop_group(self.process, sig)
