"""The AWS stack's topology on one machine, on loopback (commands: `python -m deploy.stack
--help`, deploy/stack/cli.py).

| AWS                      | here                                                           |
|--------------------------|----------------------------------------------------------------|
| ALB + target group       | HAProxy: round-robin, no stickiness, GET /healthz every 0.5 s  |
| Auto Scaling group, EC2  | three gunicorns (app1-3), each started by deploy/bootstrap.sh  |
|                          | behind its own nginx, which buffers whole requests             |
| user data's env file     | .stack/instances/<name>/webshop.env                            |
| RDS PostgreSQL Multi-AZ  | PostgreSQL 15: primary, synchronous standby, read replica      |
| ElastiCache Redis        | Redis primary and replica: no persistence, allkeys-lru, AUTH   |
| their DNS names          | HAProxy TCP ports writer, reader, redis (stack/replication.py) |
| S3 + CloudFront          | moto's S3 over HTTP; pages load static files and media from it |
| Amazon SES               | an SMTP server (aiosmtpd) that keeps each message in mail/     |
| Stripe                   | localstripe (deploy/servers/stripe.py), its webhooks to the LB |

Everything runs from .stack/ (or WEBSHOP_STACK_DIR): pids, logs, env files, data.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

from deploy.release.version import source_version
from deploy.servers import (
    Clock,
    InstanceNginx,
    LoadBalancer,
    MailServer,
    Postgres,
    Redis,
    S3Server,
    StripeServer,
    free_low_port,
    read_pid,
    require_nginx,
    wait_for_exit,
)
from deploy.stack import replication
from deploy.stack.replication import DataTier

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DIRECTORY = Path(os.environ.get("WEBSHOP_STACK_DIR", ROOT / ".stack"))
INSTANCES = ("app1", "app2", "app3")
STATIC_BUCKET = "webshop-local-static"
MEDIA_BUCKET = "webshop-local-media"
REGION = "us-east-1"
LB_PORT = 8080  # `make stack`'s URL when the port is free; otherwise one below 32768
# Scaled down from the ALB's 35 s deregistration delay: in-flight requests here take ms.
DRAIN_SECONDS = 5
# gunicorn's graceful_timeout (30 s) and a margin, as systemd's TimeoutStopSec.
STOP_SECONDS = 40


class StackError(RuntimeError):
    """Something the operator must act on; the message says what."""


@dataclass
class Instance:
    """One app instance: its own ports (nginx's, which the load balancer targets, and
    gunicorn's behind it), working directory, env file, nginx, and two process groups
    (gunicorn, and the worker that delivers email and runs scheduled jobs)."""

    name: str
    port: int
    directory: Path
    gunicorn_port: int = 0

    @property
    def nginx(self) -> InstanceNginx:
        return InstanceNginx(self.directory / "nginx")

    @property
    def env_file(self) -> Path:
        return self.directory / "webshop.env"

    @property
    def pidfile(self) -> Path:
        return self.directory / "gunicorn.pid"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def worker_pidfile(self) -> Path:
        return self.directory / "worker.pid"

    def pid(self) -> int | None:
        """gunicorn's master PID (also its process group) while it runs."""
        return read_pid(self.pidfile)

    def worker_pid(self) -> int | None:
        """The worker's PID (also its process group) while it runs."""
        return read_pid(self.worker_pidfile)


class LocalStack:
    def __init__(self, directory: Path | str = DEFAULT_DIRECTORY):
        self.directory = Path(directory).resolve()
        self.state_file = self.directory / "stack.json"
        self.state: dict = {}
        if self.state_file.exists():
            self.state = json.loads(self.state_file.read_text())

    # --- the parts -----------------------------------------------------------------------
    @property
    def ports(self) -> dict[str, int]:
        if not self.state:
            raise StackError(f"no stack in {self.directory}: start one with `make stack`")
        return self.state["ports"]

    @property
    def data(self) -> DataTier:
        """PostgreSQL (primary, standby, read replica), Redis (primary, replica) and the
        endpoints the instances reach them through."""
        return DataTier(
            self.directory / "data",
            Path(self.state["postgres_dir"]),
            self.ports,
            self.state["redis_token"],
        )

    @property
    def postgres(self) -> Postgres:
        """The PostgreSQL primary (where the writer endpoint points)."""
        return self.data.primary

    @property
    def redis(self) -> Redis:
        """The Redis primary (where the redis endpoint points)."""
        return self.data.redis

    @property
    def s3(self) -> S3Server:
        return S3Server(self.directory / "s3", self.ports["s3"])

    @property
    def mail(self) -> MailServer:
        return MailServer(self.directory / "smtp", self.ports["smtp"], self.directory / "mail")

    @property
    def stripe(self) -> StripeServer:
        return StripeServer(self.directory / "stripe", self.ports["stripe"])

    @property
    def load_balancer(self) -> LoadBalancer:
        servers = {name: self.ports[name] for name in INSTANCES}
        return LoadBalancer(self.directory / "haproxy", self.ports["lb"], servers)

    @property
    def instances(self) -> dict[str, Instance]:
        return {
            name: Instance(
                name,
                self.ports[name],
                self.directory / "instances" / name,
                self.ports[f"{name}-gunicorn"],
            )
            for name in INSTANCES
        }

    def instance(self, name: str) -> Instance:
        try:
            return self.instances[name]
        except KeyError:
            choices = ", ".join(INSTANCES)
            raise StackError(f"no instance {name!r}: choose one of {choices}") from None

    @property
    def url(self) -> str:
        return self.load_balancer.url

    @property
    def release(self) -> str:
        return self.state["release"]

    # --- up and down ---------------------------------------------------------------------
    def up(self, *, seed: bool = True, lb_port: int | None = None, out=print) -> None:
        """Start it all. `lb_port`: the load balancer's port; None: 8080 when free, 0: any."""
        if self.state and self.running():
            raise StackError(f"a stack already runs from {self.directory}: `make stack-down` first")
        started = time.monotonic()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o755)  # PostgreSQL runs as its own user and must reach its directory
        taken: set[int] = set()
        require_nginx()
        gunicorns = [f"{name}-gunicorn" for name in INSTANCES]
        services = (*replication.PORTS, "s3", "smtp", "stripe", *INSTANCES, *gunicorns)
        ports = {name: free_low_port(taken) for name in services}
        if lb_port is None:  # `make stack`: a port people remember, when it is free
            lb_port = LB_PORT if _port_free(LB_PORT) else 0
        ports["lb"] = lb_port or free_low_port(taken)
        self.state = {
            "ports": ports,
            "postgres_dir": str(self._postgres_directory()),
            "release": _local_release_version(),
            "secret_key": secrets.token_urlsafe(48),
            "redis_token": secrets.token_hex(16),  # ElastiCache's AUTH token
            "stripe_webhook_secret": f"whsec_{secrets.token_hex(16)}",
        }
        self.state_file.write_text(json.dumps(self.state, indent=2) + "\n")

        out(
            "PostgreSQL (RDS Multi-AZ + read replica), Redis (ElastiCache), S3 (moto), SMTP (SES),"
            " Stripe (localstripe)"
        )
        with ThreadPoolExecutor(max_workers=4) as pool:
            for future in [
                pool.submit(self.data.start),
                pool.submit(self._start_s3),
                pool.submit(self.mail.start),
                pool.submit(self.stripe.start),
            ]:
                future.result()
        out("Static files: collected once, uploaded to the static bucket ...")
        self._publish_static()
        for instance in self.instances.values():
            instance.directory.mkdir(parents=True, exist_ok=True)
            self._write_env_file(instance)
        out(f"Three instances with their workers, together (release {self.release}) ...")
        self.bootstrap(*INSTANCES)
        if seed:
            out("Demo catalogue (images to the media bucket) ...")
            self.manage("seed_demo")
        out("Load balancer (HAProxy) ...")
        balancer = self.load_balancer.start()
        for name in INSTANCES:
            balancer.wait_for_status(name, "UP")
        # As the webhook endpoint registered in Stripe's dashboard: through the load balancer.
        self.stripe.register_webhook(
            "shop", f"{self.url}/payments/webhook/", self.state["stripe_webhook_secret"]
        )
        out(f"Up in {time.monotonic() - started:.0f} s.")

    def running(self) -> bool:
        """Whether any process of this stack still runs."""
        pidfiles = [
            self.directory / "haproxy" / "haproxy.pid",
            self.directory / "s3" / "moto.pid",
            self.mail.pidfile,
            self.stripe.pidfile,
            *self.data.pidfiles(),
            *(i.pidfile for i in self.instances.values()),
            *(i.nginx.pidfile for i in self.instances.values()),
            *(i.worker_pidfile for i in self.instances.values()),
        ]
        return any(read_pid(pidfile) for pidfile in pidfiles)

    def down(self, *, keep: bool = False) -> None:
        """Stop everything `up` started, by the PIDs it recorded; then delete the directory."""
        if not self.state:
            return
        with ThreadPoolExecutor(max_workers=len(INSTANCES)) as pool:
            list(pool.map(self._stop_process, self.instances.values()))
        self.load_balancer.stop()
        self.mail.stop()
        self.stripe.stop()
        self.s3.stop()
        self.data.stop()
        if not keep:
            postgres = Path(self.state["postgres_dir"])
            _remove_tree(postgres if postgres.is_relative_to(self.directory) else postgres.parent)
            _remove_tree(self.directory)

    # --- instances -----------------------------------------------------------------------
    def bootstrap(self, *names: str) -> dict[str, str]:
        """Run deploy/bootstrap.sh for these instances at once, as an Auto Scaling group
        launches them; return each one's output. Raises if any did not get ready."""
        with ThreadPoolExecutor(max_workers=len(names)) as pool:
            results = dict(zip(names, pool.map(self._bootstrap_one, names), strict=True))
        failed = {name: output for name, (code, output) in results.items() if code != 0}
        if failed:
            detail = "\n".join(f"--- {name}:\n{output[-3000:]}" for name, output in failed.items())
            raise StackError(f"bootstrap failed for {', '.join(failed)}:\n{detail}")
        return {name: output for name, (_, output) in results.items()}

    def _bootstrap_one(self, name: str) -> tuple[int, str]:
        instance = self.instance(name)
        environment = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "HOME": str(instance.directory),
            "LANG": "C.UTF-8",
            "INSTANCE_ID": name,
            "RELEASE_VERSION": self.release,
            "BOOTSTRAP_SUPERVISOR": "none",
            "BOOTSTRAP_VENV": sys.prefix,
            "BOOTSTRAP_STATE_DIR": str(instance.directory),
            "BOOTSTRAP_READY_TIMEOUT": "60",
            "BOOTSTRAP_NGINX": require_nginx(),
        }
        result = subprocess.run(
            ["bash", str(ROOT / "deploy" / "bootstrap.sh"), str(ROOT), str(instance.env_file)],
            cwd=instance.directory,
            env=environment,
            capture_output=True,
            text=True,
        )
        output = result.stdout + result.stderr
        with (instance.directory / "bootstrap.log").open("a") as log:
            log.write(output)
        return result.returncode, output

    def kill(self, name: str) -> None:
        """SIGKILL the instance's processes (nginx, gunicorn and the worker), as when an
        instance dies; no drain."""
        instance = self.instance(name)
        pids = [pid for pid in (instance.pid(), instance.worker_pid()) if pid]
        if not pids:
            raise StackError(f"{name} is not running")
        instance.nginx.kill()  # the whole instance dies: its nginx first, so nothing answers 502
        for pid in pids:
            os.killpg(pid, signal.SIGKILL)
        for pid in pids:
            wait_for_exit(pid, 10)

    def stop(self, name: str) -> dict[str, float]:
        """Take the instance out like the ALB's deregistration, then SIGTERM it: the load
        balancer sends it nothing new, what is in flight finishes, gunicorn exits gracefully.
        Returns how long each phase took (seconds)."""
        instance = self.instance(name)
        balancer = self.load_balancer
        clock = Clock()
        balancer.set_state(name, "drain")
        balancer.wait_until_idle(name, DRAIN_SECONDS)
        clock.lap("drain")
        self._stop_process(instance)
        balancer.set_state(name, "maint")
        clock.lap("exit")
        return clock.laps

    def start(self, name: str) -> dict[str, float]:
        """Boot the instance again with the same script and env file, and wait until the load
        balancer's health checks have put it back in the pool. Returns the phases' seconds."""
        instance = self.instance(name)
        if instance.pid() is not None or instance.worker_pid() is not None:
            raise StackError(f"{name} is already running: `stop {name}` first")
        clock = Clock()
        self.bootstrap(name)
        clock.lap("boot")
        balancer = self.load_balancer
        balancer.set_state(name, "ready")
        balancer.wait_for_status(name, "UP")
        clock.lap("healthy")
        return clock.laps

    def restart(self, name: str) -> dict[str, float]:
        return self.stop(name) | self.start(name)

    def rolling_restart(self) -> dict[str, dict[str, float]]:
        """Restart the instances one at a time, as an Auto Scaling rolling update replaces
        them; returns each one's phases."""
        return {name: self.restart(name) for name in INSTANCES}

    def _stop_process(self, instance: Instance) -> None:
        """SIGTERM gunicorn's master (it stops its workers gracefully) and the worker (it
        finishes the email it is sending), as systemd stops the units; SIGKILL what is
        left after STOP_SECONDS; then nginx, which has nothing left to pass on."""
        pids = [pid for pid in (instance.pid(), instance.worker_pid()) if pid]
        for pid in pids:
            os.kill(pid, signal.SIGTERM)
        for pid in pids:
            if not wait_for_exit(pid, STOP_SECONDS):
                os.killpg(pid, signal.SIGKILL)
                wait_for_exit(pid, 5)
        instance.nginx.stop()

    # --- shared services (failovers and the replica: deploy/stack/replication.py) ---------
    def restart_redis(self) -> None:
        self.data.restart_redis()

    def stop_postgres(self) -> None:
        self.data.stop_primary()

    def start_postgres(self) -> None:
        self.data.start_primary()

    def restart_postgres(self, down_for: float = 0) -> None:
        self.stop_postgres()
        time.sleep(down_for)
        self.start_postgres()

    def stop_mail(self) -> None:
        """Take the mail server away, as an SES outage: sends fail, email waits queued."""
        self.mail.stop()

    def start_mail(self) -> None:
        self.mail.start()

    def manage(self, *args: str, check: bool = True) -> str:
        """Run manage.py with app1's env file (the stack's services); returns its output."""
        result = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=self.environment(),
            capture_output=True,
            text=True,
        )
        if check and result.returncode != 0:
            raise StackError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def environment(self) -> dict[str, str]:
        """app1's env file as a process environment (what gunicorn gets)."""
        environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        environment.update(read_env_file(self.instance(INSTANCES[0]).env_file))
        return environment

    def status(self) -> str:
        ports = self.ports
        lines = [f"Shop: {self.url}/   (release {self.release}, from {self.directory})"]
        try:
            stats = self.load_balancer.stats()
        except OSError:
            stats = {}
            lines.append("load balancer: NOT RUNNING")
        for name, instance in self.instances.items():
            pid, worker = instance.pid(), instance.worker_pid()
            in_lb = stats.get(name, {}).get("status", "-")
            state = f"pid {pid}" if pid else "stopped"
            worker_state = f"pid {worker}" if worker else "stopped"
            if not instance.nginx.pid():
                state += ", nginx stopped"
            lines.append(
                f"  {name}  {instance.url}  {state:<12} load balancer: {in_lb:<6}"
                f" worker: {worker_state}"
            )
        try:
            lines += self.data.status()
        except OSError:
            lines.append("  data tier endpoints: NOT RUNNING")
        for label, pidfile, key in [
            ("S3 (moto)", self.s3.pidfile, "s3"),
            ("SMTP (SES)", self.mail.pidfile, "smtp"),
            ("Stripe", self.stripe.pidfile, "stripe"),
        ]:
            state = "running" if read_pid(pidfile) else "STOPPED"
            lines.append(f"  {label:<11} 127.0.0.1:{ports[key]}  {state}")
        lines.append(f"  {self.mail_queue()}")
        return "\n".join(lines)

    def mail_queue(self) -> str:
        """The queue's depth and its oldest pending message's age (manage.py mail_queue)."""
        if not read_pid(self.postgres.data / "postmaster.pid"):
            return "mail queue: unknown (PostgreSQL is stopped)"
        return self.manage("mail_queue").strip()

    # --- helpers -------------------------------------------------------------------------
    def _postgres_directory(self) -> Path:
        """.stack/postgres, unless the postgres user cannot reach it (a clone under /root):
        then a directory of its own under /tmp, removed by `down`."""
        if os.geteuid() != 0:
            return self.directory / "postgres"
        reachable = subprocess.run(
            ["runuser", "-u", "postgres", "--", "test", "-x", str(self.directory)],
            capture_output=True,
        )
        if reachable.returncode == 0:
            return self.directory / "postgres"
        directory = Path(tempfile.mkdtemp(prefix="webshop-stack-postgres-"))
        directory.chmod(0o755)
        return directory / "postgres"

    def _start_s3(self) -> None:
        self.s3.start()
        s3 = self.s3_client()
        for bucket in (STATIC_BUCKET, MEDIA_BUCKET):
            s3.create_bucket(Bucket=bucket)

    def s3_client(self):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            # publish_static uploads with 16 threads; boto3's default pool holds 10.
            config=Config(max_pool_connections=16),
            endpoint_url=self.s3.url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 (moto's dummy credentials)
        )

    def _publish_static(self) -> None:
        from deploy.release.static import collect_static, publish_static

        static_root = self.directory / "static"
        collect_static(static_root)
        publish_static(static_root, s3=self.s3_client(), bucket=STATIC_BUCKET, acl="public-read")

    def _write_env_file(self, instance: Instance) -> None:
        """The env file the CloudFormation user data writes, with the local services (no TLS
        on loopback, moto's endpoint and dummy keys, public-read objects instead of
        CloudFront's Origin Access Control, the local SMTP server instead of SES, localstripe
        instead of Stripe)."""
        ports = self.ports
        values = {
            "DJANGO_SECRET_KEY": self.state["secret_key"],
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_HTTPS": "false",
            # Each role through its endpoint, as user data writes the RDS and ElastiCache
            # endpoints' DNS names: a failover moves the endpoint, not this file.
            **self.data.urls(),
            "AWS_STORAGE_BUCKET_NAME": STATIC_BUCKET,
            "AWS_MEDIA_BUCKET_NAME": MEDIA_BUCKET,
            "AWS_S3_REGION_NAME": REGION,
            "AWS_S3_ENDPOINT_URL": f"http://127.0.0.1:{ports['s3']}",
            "AWS_DEFAULT_ACL": "public-read",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            # HAProxy appends the client's address to X-Forwarded-For (CloudFront and the
            # ALB make it 2 on AWS); login throttling counts per client address.
            "DJANGO_PROXY_COUNT": "1",
            # Every visitor of the local stack comes from 127.0.0.1: the per-client quota of
            # account emails would count them all as one client.
            "DJANGO_ACCOUNT_EMAILS_PER_CLIENT": "1000",
            # SES's stand-in, which keeps every message it accepts in .stack/mail/.
            "EMAIL_URL": self.mail.url,
            # Stripe's stand-in: every order is paid by card, against it.
            "STRIPE_SECRET_KEY": "sk_test_local_stack",
            "STRIPE_PUBLISHABLE_KEY": "pk_test_local_stack",
            "STRIPE_WEBHOOK_SECRET": self.state["stripe_webhook_secret"],
            "STRIPE_API_BASE": self.stripe.url,
            "NGINX_LISTEN": f"127.0.0.1:{instance.port}",
            "GUNICORN_BIND": f"127.0.0.1:{instance.gunicorn_port}",
            "GUNICORN_WORKERS": "2",
        }
        lines = [f"{key}={value}" for key, value in values.items()]
        instance.env_file.write_text(
            "# Written by deploy/stack.py, as CloudFormation's user data writes\n"
            "# /etc/webshop/webshop.env; deploy/bootstrap.sh appends INSTANCE_ID and\n"
            "# RELEASE_VERSION.\n" + "\n".join(lines) + "\n"
        )
        instance.env_file.chmod(0o600)


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines (systemd's EnvironmentFile format as the stack writes it)."""
    return {key: value or "" for key, value in dotenv_values(path).items()}


def _local_release_version() -> str:
    version = source_version()
    return f"local-{version}" if version else "local"


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _remove_tree(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
