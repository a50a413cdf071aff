"""Writes for scheduled jobs: each job runs once per period across the whole fleet.

Every instance runs a scheduler (inside `manage.py run_worker`), and every scheduler asks,
about once a second, to claim the current period of each job. The claim is one statement,
`INSERT ... ON CONFLICT (job, period) DO NOTHING RETURNING id`: the database lets exactly
one of them insert the period's row, whatever the number of instances, and the claim
enqueues the job's task in the same transaction, so whichever worker is free runs it. No
instance is special: when any of them dies, the others claim the next periods, and a
period claimed by an instance that died still has its task in the queue.

A run interrupted by the death of its worker is not repeated within its period: the jobs
are idempotent clean-ups, so the next period does the work.
"""

import logging
from datetime import UTC, datetime, timedelta

from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from jobs.models import JobRun
from jobs.schedule import JOBS, jobs
from jobs.tasks import run_job

logger = logging.getLogger(__name__)

_CLAIM_SQL = """
INSERT INTO jobs_jobrun (job, period, claimed_by, claimed_at, outcome) VALUES (%s, %s, %s, %s, '')
ON CONFLICT (job, period) DO NOTHING
RETURNING id
"""


def period_start(now: datetime, every: int) -> datetime:
    seconds = int(now.timestamp()) // every * every
    return datetime.fromtimestamp(seconds, tz=UTC)


def jobs_claim_due(*, instance: str, now: datetime | None = None) -> list[int]:
    """Claim every job whose current period nobody has claimed yet, and enqueue its run;
    returns the ids of the runs this call claimed."""
    now = now or timezone.now()
    claimed = []
    for job in jobs():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_CLAIM_SQL, [job.name, period_start(now, job.every), instance, now])
            row = cursor.fetchone()
            if row is not None:
                run_job.enqueue(run_id=row[0])
                claimed.append(row[0])
    return claimed


def job_run(*, run_id: int) -> str:
    """Do the claimed run's work and record how it went; a failure is recorded and raised
    (the task then shows the traceback)."""
    run = JobRun.objects.get(pk=run_id)
    try:
        outcome = JOBS[run.job].run()
    except Exception as error:
        JobRun.objects.filter(pk=run_id).update(
            finished_at=timezone.now(), outcome=f"failed: {type(error).__name__}: {error}"[:2000]
        )
        raise
    JobRun.objects.filter(pk=run_id).update(finished_at=timezone.now(), outcome=outcome)
    logger.info("%s: %s", run, outcome)
    return outcome


def history_prune() -> str:
    """What the worker tier leaves behind: sent emails and applied Stripe events after 30
    days, finished task results after 7, job runs after 90; a task still "running" after an
    hour lost its worker (no task takes that long) and is marked failed so it stops looking
    alive."""
    from notifications.services import emails_prune
    from payments.services import events_prune

    now = timezone.now()
    abandoned = DBTaskResult.objects.running().filter(started_at__lt=now - timedelta(hours=1))
    lost = abandoned.update(
        status=TaskResultStatus.FAILED,
        finished_at=now,
        exception_class_path="jobs.WorkerLost",
        traceback="The worker running this task stopped before it finished.",
    )
    call_command("prune_db_task_results", queue_name="*", min_age_days=7, verbosity=0)
    emails = emails_prune(days=30)
    events = events_prune()
    runs, _ = JobRun.objects.filter(period__lt=now - timedelta(days=90)).delete()
    return (
        f"{emails} sent email(s), {events} Stripe event(s), {runs} job run(s) deleted; "
        f"{lost} lost task(s) marked failed"
    )
