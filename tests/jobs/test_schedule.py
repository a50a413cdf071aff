"""Scheduled jobs run once per period across the fleet: the claim's rules in this process,
then three instances' workers (real `manage.py run_worker` processes) over several short
periods, one of them SIGKILLed halfway."""

import signal
import time
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from cart.models import Cart
from deploy.servers import WorkerProcess
from jobs.models import JobRun
from jobs.schedule import DAY, JOBS, jobs
from jobs.services import jobs_claim_due, period_start
from notifications.models import Email
from tests.mail import run_due_tasks
from tests.servers import AWS_TEST_ENVIRONMENT
from tests.servers import test_database_url as database_url
from tests.stack.load import FIGURES

NOON = datetime(2026, 3, 14, 12, 0, 5, tzinfo=UTC)


@pytest.mark.django_db
def test_each_period_is_claimed_by_exactly_one_instance(settings):
    # every job daily, for the count
    settings.JOB_PERIODS = {"refresh_recommendations": DAY, "payments_sweep": DAY}
    scheduled = len(jobs())  # every job but those calling AWS (no WEBSHOP_ENVIRONMENT)
    assert scheduled == len(JOBS) - 1
    first = jobs_claim_due(instance="i-a", now=NOON)
    assert len(first) == scheduled
    assert jobs_claim_due(instance="i-b", now=NOON) == []
    assert jobs_claim_due(instance="i-a", now=NOON + timedelta(hours=11)) == []  # same day
    assert len(jobs_claim_due(instance="i-b", now=NOON + timedelta(days=1))) == scheduled
    runs = JobRun.objects.order_by("period", "job")
    assert [(r.period.date().isoformat(), r.claimed_by) for r in runs] == [
        ("2026-03-14", "i-a")
    ] * scheduled + [("2026-03-15", "i-b")] * scheduled
    assert {r.period.time().isoformat() for r in runs} == {"00:00:00"}  # UTC midnight
    assert DBTaskResult.objects.count() == 2 * scheduled  # each claim enqueued its run


@pytest.mark.django_db
def test_a_claimed_run_does_the_work_and_records_it():
    stale = Cart.objects.create()
    Cart.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(days=31))
    fresh = Cart.objects.create()
    sent = Email.objects.create(
        key="old",
        kind="test",
        to="a@example.com",
        subject="s",
        body="b",
        status="sent",
        next_attempt_at=timezone.now(),
        sent_at=timezone.now() - timedelta(days=31),
    )
    jobs_claim_due(instance="i-a")
    assert run_due_tasks() == len(jobs())
    assert list(Cart.objects.all()) == [fresh]
    assert not Email.objects.filter(pk=sent.pk).exists()
    outcomes = dict(JobRun.objects.values_list("job", "outcome"))
    assert outcomes["purge_carts"] == "purged 1 cart(s) untouched for 30 days"
    assert outcomes["prune_history"].startswith("1 sent email(s)")
    assert outcomes["purge_drafts"] == "purged 0 form draft(s) untouched for 30 days"
    assert outcomes["refresh_recommendations"].startswith("0 also-bought and 0 viewed-together")
    assert outcomes["payments_sweep"] == "Stripe is off"
    assert not JobRun.objects.filter(finished_at__isnull=True).exists()


def an_email(key: str, status: str, age: timedelta) -> None:
    """A row of the queue (no delivery task: nothing runs it here)."""
    email = Email.objects.create(
        key=key,
        kind="test",
        to="a@example.com",
        subject="s",
        body="b",
        status=status,
        next_attempt_at=timezone.now(),
    )
    Email.objects.filter(pk=email.pk).update(created_at=timezone.now() - age)


@pytest.mark.django_db
def test_the_queue_metrics_reach_cloudwatch_every_minute(settings, moto_url, monkeypatch):
    for name, value in {**AWS_TEST_ENVIRONMENT, "AWS_ENDPOINT_URL_CLOUDWATCH": moto_url}.items():
        monkeypatch.setenv(name, value)
    settings.WEBSHOP_ENVIRONMENT = environment = f"test-{uuid.uuid4().hex[:8]}"
    for n, age in enumerate([20, 5, 1]):
        an_email(f"pending:{n}", "pending", timedelta(minutes=age))
    an_email("dead:1", "dead", timedelta(hours=3))
    an_email("dead:2", "dead", timedelta(hours=2))
    an_email("sent:1", "sent", timedelta(hours=1))
    assert {job.name: job.every for job in jobs()}["publish_queue_metrics"] == 60
    jobs_claim_due(instance="i-a")
    assert run_due_tasks() == len(JOBS)
    outcome = JobRun.objects.get(job="publish_queue_metrics").outcome
    assert outcome.startswith(f"published to CloudWatch ({environment}): mail queue: 3 pending")

    cloudwatch = boto3.client("cloudwatch", endpoint_url=moto_url)
    now = timezone.now()

    def maximum(metric: str) -> list[float]:
        points = cloudwatch.get_metric_statistics(
            Namespace="Webshop",
            MetricName=metric,
            Dimensions=[{"Name": "Environment", "Value": environment}],
            StartTime=now - timedelta(minutes=5),
            EndTime=now + timedelta(minutes=5),
            Period=60,
            Statistics=["Maximum"],
        )["Datapoints"]
        return [point["Maximum"] for point in points]

    assert maximum("QueueDepth") == [3]
    assert maximum("DeadLetters") == [2]
    [oldest] = maximum("OldestPendingSeconds")
    assert 20 * 60 <= oldest < 21 * 60  # the 20-minute-old email, seconds after


def test_periods_come_from_job_periods(settings):
    settings.JOB_PERIODS = {"purge_carts": 60}
    assert {job.name: job.every for job in jobs()}["purge_carts"] == 60
    settings.JOB_PERIODS = {"purge_cart": 60}
    with pytest.raises(ImproperlyConfigured, match="JOB_PERIODS names unknown job"):
        jobs()
    assert period_start(NOON, 60) == NOON.replace(second=0)


PERIOD = 2  # seconds: short periods, so the test sees several in a few seconds


def runs_by_job() -> dict[str, list[JobRun]]:
    runs = {job.name: [] for job in jobs()}
    for run in JobRun.objects.order_by("period"):
        runs[run.job].append(run)
    return runs


def wait_for_periods(count: int, since: datetime) -> None:
    """Until every job has `count` finished runs for periods after `since`."""
    deadline = time.monotonic() + count * PERIOD + 30
    while time.monotonic() < deadline:
        finished = JobRun.objects.filter(period__gt=since, finished_at__isnull=False)
        if all(finished.filter(job=job.name).count() >= count for job in jobs()):
            return
        time.sleep(0.1)
    raise AssertionError(f"not every job ran {count} periods after {since}: {runs_by_job()}")


@pytest.mark.servers
@pytest.mark.django_db(transaction=True)
def test_three_instances_run_each_job_once_per_period_and_survive_one_dying(tmp_path):
    periods = ",".join(f"{job.name}={PERIOD}" for job in jobs())
    workers = {
        name: WorkerProcess(tmp_path / f"{name}.log", interval=0.2).start(
            {"DATABASE_URL": database_url(), "INSTANCE_ID": name, "JOB_PERIODS": periods}
        )
        for name in ("i-1", "i-2", "i-3")
    }
    try:
        started = timezone.now()
        wait_for_periods(3, since=started)
        workers["i-2"].stop(signal.SIGKILL)
        killed = timezone.now()
        wait_for_periods(3, since=killed + timedelta(seconds=PERIOD))
    finally:
        for worker in workers.values():
            worker.stop()
    runs = runs_by_job()
    for name, job_runs in runs.items():
        periods_seen = [run.period for run in job_runs]
        # One run per period (the database refuses a second) and no period skipped, the
        # kill included.
        expected = [
            periods_seen[0] + timedelta(seconds=PERIOD * n) for n in range(len(periods_seen))
        ]
        assert periods_seen == expected, (name, periods_seen)
        after_kill = [r for r in job_runs if r.claimed_at > killed + timedelta(seconds=1)]
        assert after_kill and all(r.claimed_by != "i-2" for r in after_kill), name
    claimed_by = sorted({r.claimed_by for job_runs in runs.values() for r in job_runs})
    FIGURES.append(
        f"[scheduler, 3 instances, {PERIOD} s periods] "
        + ", ".join(f"{name} {len(job_runs)} periods" for name, job_runs in runs.items())
        + f", claimed by {claimed_by}, each period once, none skipped after i-2 was killed"
    )
