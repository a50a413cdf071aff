"""`manage.py run_worker`: the worker tier of one instance (webshop-worker.service).

Two loops in one process: django-tasks' database worker (the loop of its `db_worker`
command), which runs queued tasks (email deliveries, scheduled jobs) one at a time, and a
scheduler thread, which every second claims the due periods of the scheduled jobs,
requeues emails whose worker died and saves the shoppers' recently viewed lists that wait
in Redis. Both outlive a database outage: they log it, wait and carry on (systemd would
restart a worker that exited, but the local stack has no systemd). SIGTERM or SIGINT stops
the worker once its current task ends, even if that task's end is a database error.
"""

import logging
import os
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections, connections
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS
from django_tasks_db.management.commands.db_worker import Worker

from catalog.services import recently_viewed_save
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

    def handle(self, *args, interval, **options):
        instance = settings.INSTANCE_ID
        periods = ", ".join(f"{job.name} every {job.every} s" for job in jobs())  # fails fast
        logger.info("worker on %s (pid %s); jobs: %s", instance, os.getpid(), periods)
        threading.Thread(
            target=_schedule, args=(instance, interval), name="scheduler", daemon=True
        ).start()
        # One Worker for the process's life, its signal handlers installed once: a new one
        # per retry would forget a SIGTERM that came while the failing task ran.
        worker = Worker(
            queue_names=["*"],
            excluded_queue_names=[],
            interval=interval,
            batch=False,
            backend_name=DEFAULT_TASK_BACKEND_ALIAS,
            startup_delay=True,
            max_tasks=None,
            worker_id=f"{instance}-{os.getpid()}"[:64],
        )
        worker.configure_signals()
        while worker.running:
            try:
                # Returns (or raises SystemExit) on SIGTERM/SIGINT, once the current task ends.
                worker.run()
            except DatabaseError as error:
                if not worker.running:
                    return
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
            recently_viewed_save()
        except DatabaseError as error:
            logger.warning("scheduler: database unreachable (%s)", error)
        time.sleep(interval)
