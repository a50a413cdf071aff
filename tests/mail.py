"""Queued email in tests that run inside a transaction (pytest-django's `db`).

run_worker cannot run there (django-tasks' worker closes the connection between tasks,
which would end the test's transaction), so `outbox()` runs the due tasks in this process
with the same worker class, then returns what Django's test mail backend received.
"""

from django.core import mail
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult


def run_due_tasks(limit: int = 1000) -> int:
    """Run every task that is due, oldest first, as a worker would; returns how many."""
    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="tests",
        excluded_queue_names=[],
    )
    for ran in range(limit):
        result = DBTaskResult.objects.ready().first()
        if result is None:
            return ran
        result.claim(worker.worker_id)
        worker.run_task(result)
    raise AssertionError(f"still tasks due after {limit}: one keeps queuing another")


def outbox() -> list[mail.EmailMessage]:
    """Every email delivered so far, after delivering what is queued."""
    run_due_tasks()
    return mail.outbox
