"""`manage.py run_worker`: the worker tier of one instance (webshop-worker.service).

Two loops in one process: django-tasks' database worker (`db_worker`), which runs queued
tasks (email deliveries, scheduled jobs) one at a time, and a scheduler thread, which
claims the due periods of the scheduled jobs and requeues emails whose worker died. Both
outlive a database outage: they log it, wait and carry on (systemd would restart a worker
that exited, but the local stack has no systemd).
"""

import logging
import os
import threading
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections, connections

from jobs.schedule import jobs
from jobs.services import jobs_claim_due
from notifications.services import emails_reclaim_abandoned

logger = logging.getLogger("jobs.worker")
RETRY_SECONDS = 2.0


class Command(BaseCommand):
    help = "Run queued tasks (email, scheduled jobs) and this instance's scheduler."

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="seconds between polls of an empty queue, and between scheduler ticks",
        )

    def handle(self, *args, interval, verbosity, **options):
        instance = settings.INSTANCE_ID
        periods = ", ".join(f"{job.name} every {job.every} s" for job in jobs())  # fails fast
        logger.info("worker on %s (pid %s); jobs: %s", instance, os.getpid(), periods)
        threading.Thread(
            target=_schedule, args=(instance, interval), name="scheduler", daemon=True
        ).start()
        while True:
            try:
                # Returns (or raises SystemExit) on SIGTERM/SIGINT, once the current task ends.
                return call_command(
                    "db_worker",
                    queue_name="*",
                    interval=interval,
                    reload=False,
                    worker_id=f"{instance}-{os.getpid()}"[:64],
                    verbosity=verbosity,
                )
            except DatabaseError as error:
                logger.warning("database unreachable (%s); retrying in %s s", error, RETRY_SECONDS)
                connections.close_all()
                time.sleep(RETRY_SECONDS)


def _schedule(instance: str, interval: float) -> None:
    while True:
        close_old_connections()
        try:
            for run_id in jobs_claim_due(instance=instance):
                logger.info("claimed job run %s", run_id)
            emails_reclaim_abandoned()
        except DatabaseError as error:
            logger.warning("scheduler: database unreachable (%s)", error)
        time.sleep(interval)
