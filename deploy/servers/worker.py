"""The shop's worker tier (`manage.py run_worker`) as the tests start it (the local stack
starts it through deploy/bootstrap.sh instead, as EC2 does)."""

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

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
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "run_worker", "--interval", str(self.interval)],
                cwd=BASE_DIR,
                env={**os.environ, **environment},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"run_worker exited: {self.log.read_text()[-2000:]}")
            with self.log.open("rb") as log:
                log.seek(offset)
                if READY_LINE in log.read():
                    return self
            time.sleep(0.05)
        self.stop(signal.SIGKILL)
        raise TimeoutError(f"run_worker did not start within {timeout} s; see {self.log}")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.running:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=40)
