"""Throwaway servers on loopback, shared by the tests, `make bench` and the local stack:
PostgreSQL (replicated too: replication.py), Redis, S3 (moto), HAProxy (as the load
balancer and as the data tier's endpoints), SMTP (aiosmtpd), Stripe (localstripe), the
shop under gunicorn (behind nginx in the local stack), its worker, and a client that talks
to the shop as a browser does. None of this is shipped to instances."""

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from deploy.servers.gunicorn import BASE_DIR, GUNICORN_CONF, AppServer
from deploy.servers.haproxy import Endpoints, LoadBalancer
from deploy.servers.nginx import NGINX, InstanceNginx, require_nginx
from deploy.servers.postgres import POSTGRES_BIN, Postgres
from deploy.servers.process import (
    Clock,
    ServiceUnavailable,
    free_low_port,
    free_port,
    read_pid,
    wait_for_exit,
)
from deploy.servers.redis import REDIS_SERVER, Redis
from deploy.servers.s3 import S3Server
from deploy.servers.smtp import MailServer
from deploy.servers.stripe import StripeServer
from deploy.servers.worker import WorkerProcess

__all__ = [
    "BASE_DIR",
    "GUNICORN_CONF",
    "NGINX",
    "POSTGRES_BIN",
    "REDIS_SERVER",
    "AppServer",
    "Clock",
    "Endpoints",
    "InstanceNginx",
    "LoadBalancer",
    "MailServer",
    "Postgres",
    "Redis",
    "S3Server",
    "ServiceUnavailable",
    "StripeServer",
    "WorkerProcess",
    "free_low_port",
    "free_port",
    "read_pid",
    "require_nginx",
    "throwaway_services",
    "wait_for_exit",
]


@contextmanager
def throwaway_services(prefix: str) -> Iterator[tuple[Path, Postgres, Redis]]:
    """A temporary directory with a PostgreSQL and a Redis in it, all gone on exit."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    workdir.chmod(0o755)  # PostgreSQL runs as its own user and must reach its directory
    try:
        with ExitStack() as running:
            postgres = Postgres(workdir / "postgres", free_port()).start()
            running.callback(postgres.stop)
            redis = Redis(workdir / "redis", free_port()).start()
            running.callback(redis.stop)
            yield workdir, postgres, redis
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
