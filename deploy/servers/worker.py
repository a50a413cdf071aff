"""The shop's worker tier (`manage.py run_worker`) as the tests start it (the local stack
starts it through deploy/bootstrap.sh instead, as EC2 does)."""

import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from deploy.servers.process import start_group, stop_group

BASE_DIR = Path(__file__).resolve().parents[2]
READY_LINE = b"worker on "  # what run_worker logs once its configuration is loaded


@dataclass
class WorkerProcess:
    """`manage.py run_worker` in its own process group, output appended to `log`."""

    log: Path
    interval: float = 1.0  # run_worker's --interval: production's default
    process: subprocess.Popen | None = None

    def start(self, environment: dict[str, str], timeout: float = 30.0) -> "WorkerProcess":
        """Start it and return once it has logged that it runs."""
        offset = self.log.stat().st_size if self.log.exists() else 0

        def ready() -> bool:
            with self.log.open("rb") as log:
                log.seek(offset)
                return READY_LINE in log.read()

        self.process = start_group(
            [sys.executable, "manage.py", "run_worker", "--interval", str(self.interval)],
            cwd=BASE_DIR,
            environment=environment,
            log=self.log,
            ready=ready,
            timeout=timeout,
            name="run_worker",
        )
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM) -> None:
        stop_group(self.process, sig)
