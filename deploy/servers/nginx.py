"""The nginx that deploy/bootstrap.sh puts in front of each local instance's gunicorn
(deploy/nginx.conf), as on EC2: found, stopped and killed here by the pid it writes."""

import os
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path

from deploy.servers.process import ServiceUnavailable, read_pid, stop_pidfile, wait_for_exit

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def require_nginx() -> str:
    if not Path(NGINX).exists():
        raise ServiceUnavailable(
            "nginx not found: run `make system-packages` (apt-get install nginx)."
        )
    return NGINX


@dataclass
class InstanceNginx:
    """An instance's nginx, running from `directory` (its config, pid file, temp files)."""

    directory: Path

    @property
    def pidfile(self) -> Path:
        return self.directory / "nginx.pid"

    def pid(self) -> int | None:
        return read_pid(self.pidfile)

    def stop(self, timeout: float = 40.0) -> None:
        """QUIT: finish the requests in flight, then exit (systemd's KillSignal on EC2)."""
        stop_pidfile(self.pidfile, signal.SIGQUIT, timeout=timeout)

    def kill(self) -> None:
        """SIGKILL the master and its workers (its session: bootstrap starts it with setsid);
        killing the master alone would leave the workers answering 502."""
        pid = self.pid()
        if pid is not None:
            os.killpg(pid, signal.SIGKILL)
            wait_for_exit(pid, 10)
