"""The worker tier as instances run it: `manage.py run_worker` processes on the test
database, delivering to a real SMTP server (and to an SES that never answers). Figures
(throughput, commit-to-delivery latency, duplicates after a SIGKILL) are printed in
pytest's closing summary."""

import signal
import socket
import statistics
import time
from collections import Counter
from datetime import datetime

import pytest
from django.db import transaction

from deploy.servers import WorkerProcess
from notifications.models import Email
from notifications.services import email_enqueue
from tests.servers import AWS_TEST_ENVIRONMENT
from tests.servers import test_database_url as database_url
from tests.stack.load import FIGURES

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.servers]


def environment(mail_server, instance: str, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url(),
        "EMAIL_URL": mail_server.url,
        "INSTANCE_ID": instance,
        **extra,
    }


def queue(prefix: str, count: int) -> list[str]:
    """`count` emails to distinct recipients, committed together; returns the recipients."""
    recipients = [f"{prefix}{n}@example.com" for n in range(count)]
    with transaction.atomic():
        for n, to in enumerate(recipients):
            email_enqueue(key=f"{prefix}:{n}", kind="test", to=to, subject="Hi", body=f"#{n}")
    return recipients


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.05)


def sent() -> int:
    return Email.objects.filter(status="sent").count()


def received(mail_server, recipients: list[str]) -> Counter:
    wanted = set(recipients)
    return Counter(m["To"] for m in mail_server.messages() if m["To"] in wanted)


def test_a_worker_killed_mid_batch_loses_nothing(mail_server, tmp_path):
    recipients = queue("killed", 200)
    # A one-second mail timeout: the dead worker's claim (three timeouts) expires in 3 s.
    env = environment(mail_server, "w1", DJANGO_EMAIL_TIMEOUT="1")
    first = WorkerProcess(tmp_path / "first.log", interval=0.2).start(env)
    started = time.monotonic()
    wait_for(lambda: sent() >= 60, 60, "60 emails sent")
    first.stop(signal.SIGKILL)  # in the middle of the batch: no chance to finish or record
    seconds = time.monotonic() - started
    sent_before_kill = sent()
    second = WorkerProcess(tmp_path / "second.log", interval=0.2)
    second.start({**env, "INSTANCE_ID": "w2"})
    try:
        wait_for(lambda: sent() == len(recipients), 60, "every email sent")
    finally:
        second.stop()
    counts = received(mail_server, recipients)
    duplicates = sum(counts.values()) - len(counts)
    FIGURES.append(
        f"[worker SIGKILLed mid-batch] {sent_before_kill} of {len(recipients)} sent before the "
        f"kill ({sent_before_kill / seconds:.0f} emails/s with start-up), all delivered after, "
        f"{duplicates} duplicate(s)"
    )
    assert set(counts) == set(recipients)  # nothing lost
    assert duplicates <= 1  # at most the one email in flight when the worker died


def test_throughput_and_commit_to_delivery_latency(mail_server, tmp_path):
    worker = WorkerProcess(tmp_path / "worker.log").start(environment(mail_server, "w1"))
    try:
        # Latency: one email per commit, spaced out, the worker idle in between.
        latency_recipients = []
        for n in range(20):
            latency_recipients += queue(f"latency{n}-", 1)
            time.sleep(0.1)
        wait_for(lambda: sent() == 20, 30, "20 spaced emails sent")
        # Throughput: a backlog committed at once.
        recipients = queue("backlog", 300)
        started = time.monotonic()
        wait_for(lambda: sent() == 320, 120, "300 queued emails sent")
        seconds = time.monotonic() - started
    finally:
        worker.stop()
    accepted = {m["To"]: m for m in mail_server.messages() if m["To"] in set(latency_recipients)}
    assert set(accepted) == set(latency_recipients)
    latencies = []
    for email in Email.objects.filter(to__in=latency_recipients):
        # Stamped by the SMTP server when it accepted the message.
        delivered_at = datetime.fromisoformat(accepted[email.to]["X-Accepted-At"])
        latencies.append((delivered_at - email.created_at).total_seconds())
    p50, p95 = statistics.median(latencies), sorted(latencies)[int(0.95 * len(latencies)) - 1]
    FIGURES.append(
        f"[one worker] commit to SMTP acceptance p50 {p50 * 1000:.0f} ms, p95 "
        f"{p95 * 1000:.0f} ms (the queue polled every second); a backlog of 300: "
        f"{300 / seconds:.0f} emails/s"
    )
    assert len(received(mail_server, recipients)) == 300
    assert max(latencies) < 5


def test_an_ses_call_that_never_answers_ends_inside_the_claim_and_is_retried(tmp_path):
    """SES (django-ses, the worker's own settings) at a socket that accepts and never
    answers: the call fails within the worker's claim, so the email waits for its retry
    and the scheduler never takes it for abandoned (which would let a second worker send
    it while the first still might)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # the kernel completes the handshakes; nobody ever reads
        with transaction.atomic():
            email = email_enqueue(
                key="ses:silent", kind="test", to="s@example.com", subject="Hi", body="b"
            )
        env = {
            **AWS_TEST_ENVIRONMENT,
            "DATABASE_URL": database_url(),
            "INSTANCE_ID": "w-ses",
            "AWS_SES_REGION_NAME": AWS_TEST_ENVIRONMENT["AWS_DEFAULT_REGION"],
            "AWS_ENDPOINT_URL_SES": f"http://127.0.0.1:{silent.getsockname()[1]}",
            # The claim lasts 3 s; botocore's defaults would keep the call for minutes.
            "DJANGO_EMAIL_TIMEOUT": "1",
        }
        log = tmp_path / "worker.log"
        worker = WorkerProcess(log, interval=0.2).start(env)
        first_failure = []

        def failed_once() -> bool:
            first_failure[:] = Email.objects.filter(
                pk=email.pk, last_error__startswith="attempt 1: "
            ).values_list("last_error", flat=True)
            return bool(first_failure)

        try:
            wait_for(failed_once, 30, "the first SES attempt failed")
        finally:
            worker.stop()
    assert "ReadTimeoutError" in first_failure[0], first_failure
    email.refresh_from_db()
    assert (email.status, email.sent_at) == ("pending", None)  # waiting for its retry
    assert email.attempts >= 1
    assert "abandoned by a worker" not in log.read_text()
